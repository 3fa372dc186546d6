// The components refuse args that would fail at the cloud, or deploy something unsafe, before they register
// anything: a library caller gets the checks a stack gets from stacks/config.ts, each error naming the
// component, the arg, the value and what is allowed.
import * as path from "path";
import { checkArtifactStoreArgs } from "../../components/artifactStore";
import { checkDatabaseArgs } from "../../components/metadataDatabase";
import { checkServerArgs } from "../../components/trackingServer";
import { EVALUATION_NOW, ROOT, evaluateProgram, stopEvaluationWorker } from "../support/mockRuntime";

afterAll(stopEvaluationWorker);
/** `MM-DD` of next year (the SAS checks compare with today). */
const nextYear = (monthDay: string) => `${new Date().getUTCFullYear() + 1}-${monthDay}`;
/** 1 January three years from now: beyond the SAS's two-year lifetime. */
const farFuture = () => `${new Date().getUTCFullYear() + 3}-01-01`;
const program = path.join(ROOT, "tests", "unit", "fixtures", "library-program.ts");
const evaluate = (scenario: string) =>
  evaluateProgram({
    stack: "lib",
    config: { "test:scenario": scenario, "aws:region": "eu-west-1" },
    program,
    now: EVALUATION_NOW,
  });

const store = (args: object) => () => checkArtifactStoreArgs({ awsRegion: "eu-west-1", ...args });
const database = (args: object) => () => checkDatabaseArgs(args);
const server = (args: object) => () =>
  checkServerArgs({ artifactRoot: "s3://b/mlflow", backendStoreUri: { secret: "arn" } as never, ...args });
/** Container compute on its own HTTPS domain, with `container` options. */
const onFargate = (container: object) =>
  server({ compute: "container", domain: "mlflow.example.com", hostedZoneId: "Z0123456789ABC", container });

const refused: [string, () => unknown, RegExp][] = [
  ["a prefix with a leading slash", store({ prefix: "/mlflow" }), /^ArtifactStore: prefix: got "\/mlflow"/],
  ["a prefix with an empty segment", store({ prefix: "ml//flow" }), /^ArtifactStore: prefix: .*"\/\/"/],
  [
    "noncurrent versions kept 0 days",
    store({ noncurrentVersionExpirationDays: 0 }),
    /^ArtifactStore: noncurrentVersionExpirationDays: got 0; allowed: an integer from 1 to 3650/,
  ],
  [
    "a fractional upload abort",
    store({ abortIncompleteUploadDays: 1.5 }),
    /^ArtifactStore: abortIncompleteUploadDays: got 1.5/,
  ],
  [
    "PostgreSQL 13",
    database({ engineVersion: "13" }),
    /^MetadataDatabase: engineVersion: got "13"; allowed: 14, 15, 16, 17/,
  ],
  [
    "an instance class without db.",
    database({ instanceClass: "t4g.micro" }),
    /^MetadataDatabase: instanceClass/,
  ],
  ["10 GB of storage", database({ allocatedStorageGb: 10 }), /^MetadataDatabase: allocatedStorageGb: got 10/],
  [
    "an autoscaling ceiling under RDS's 10% margin",
    database({ allocatedStorageGb: 100, maxAllocatedStorageGb: 105 }),
    /^MetadataDatabase: maxAllocatedStorageGb: got 105; allowed: 100 \(autoscaling off\) or 110 to 65536/,
  ],
  [
    "three days of backups on a protected database",
    database({ protect: true, backupRetentionDays: 3 }),
    /^MetadataDatabase: backupRetentionDays: got 3; allowed: 7 to 35 \(protect: true\)/,
  ],
  [
    "an existing VPC with one subnet",
    database({ vpcId: "vpc-1", subnetIds: ["subnet-a"] }),
    /^MetadataDatabase: vpcId needs subnetIds/,
  ],
  [
    "an MLflow version other than the lock's",
    server({ mlflowVersion: "2.0.0" }),
    /^TrackingServer: mlflowVersion/,
  ],
  ["no allowed CIDR", server({ allowedCidrs: [] }), /^TrackingServer: allowedCidrs: got \[\]/],
  ["a malformed CIDR", server({ allowedCidrs: ["10.0.0.0/33"] }), /^TrackingServer: allowedCidrs/],
  ["an admin name with a space", server({ adminUsername: "ml admin" }), /^TrackingServer: adminUsername/],
  [
    "an instance type without a size",
    server({ instanceType: "t3" }),
    /^TrackingServer: instanceType: got "t3"/,
  ],
  [
    "a 4 GB root volume",
    server({ rootVolumeGb: 4 }),
    /^TrackingServer: rootVolumeGb: got 4; allowed: an integer from 8 to 1024/,
  ],
  [
    "a log retention CloudWatch refuses",
    server({ logRetentionDays: 2 }),
    /^TrackingServer: logRetentionDays: got 2; allowed: 1, 3, 5/,
  ],
  ["64 workers", server({ workers: 64 }), /^TrackingServer: workers: got 64/],
  [
    "a domain without its zone",
    server({ domain: "mlflow.example.com" }),
    /^TrackingServer: hostedZoneId: got null/,
  ],
  [
    "plain HTTP with a domain",
    server({ domain: "mlflow.example.com", hostedZoneId: "Z1", allowPlainHttp: true }),
    /^TrackingServer: allowPlainHttp: got true; allowed: false while domain is set/,
  ],
  ["dns-01 without a domain", server({ acme: { challenge: "dns-01" } }), /^TrackingServer: acme.challenge/],
  [
    "Fargate memory over 30 GiB",
    onFargate({ cpu: 4096, memoryMb: 32768 }),
    /^TrackingServer: container.memoryMb: got 32768; allowed: a multiple of 1024 from 8192 to 30720/,
  ],
  ["a Fargate CPU that does not exist", onFargate({ cpu: 300 }), /^TrackingServer: container.cpu: got 300/],
  [
    "a CPU target of 95%",
    onFargate({ targetCpuPercent: 95 }),
    /^TrackingServer: container.targetCpuPercent: got 95/,
  ],
  [
    "more desired tasks than the most",
    onFargate({ minCount: 1, maxCount: 2, desiredCount: 3 }),
    /^TrackingServer: container.desiredCount: got 3; allowed: an integer from 1 to 2/,
  ],
  [
    "container compute without a domain or allowPlainHttp (an internet-facing load balancer in clear text)",
    server({ compute: "container" }),
    /^TrackingServer: domain: got null; allowed: a DNS name in hostedZoneId for container compute/,
  ],
  [
    "an Azure region that is not one",
    store({ backend: "azureBlob", azureBlob: { location: "West Europe" } }),
    /^ArtifactStore: azureBlob.location: got "West Europe"/,
  ],
  [
    "an Azure SAS expiring in the past",
    store({ backend: "azureBlob", azureBlob: { location: "westeurope", sasExpiresOn: "2020-01-01" } }),
    /^ArtifactStore: azureBlob.sasExpiresOn: got "2020-01-01"; allowed: a valid date after today and at most 2 years/,
  ],
  [
    "an Azure SAS valid for more than two years (its start would lie in the future: every call a 403)",
    store({ backend: "azureBlob", azureBlob: { location: "westeurope", sasExpiresOn: farFuture() } }),
    /^ArtifactStore: azureBlob.sasExpiresOn: got "\d{4}-01-01"; allowed: a valid date after today/,
  ],
  [
    "an Azure SAS expiring on a day that does not exist",
    store({ backend: "azureBlob", azureBlob: { location: "westeurope", sasExpiresOn: nextYear("02-30") } }),
    /^ArtifactStore: azureBlob.sasExpiresOn: got "\d{4}-02-30"/,
  ],
  [
    "a tag name Azure Resource Manager rejects, on an Azure store",
    store({ backend: "azureBlob", azureBlob: { location: "westeurope" }, tags: { "cost/center": "ml" } }),
    /^ArtifactStore: tags: got "cost\/center"; allowed: tag names without any of/,
  ],
  [
    "a GCP project id that is not one",
    store({ backend: "gcs", gcs: { project: "My Project" } }),
    /^ArtifactStore: gcs.project: got "My Project"; allowed: a GCP project id/,
  ],
  [
    "a log retention CloudWatch refuses, on a database alone",
    database({ logRetentionDays: 10 }),
    /^MetadataDatabase: logRetentionDays: got 10; allowed: 1, 3, 5, 7, 14, 30/,
  ],
  [
    "a short admin password",
    server({ adminPassword: "short" }),
    /^TrackingServer: adminPassword: got "\(hidden\)"/,
  ],
  [
    "an existing VPC without public subnets",
    server({ vpcId: "vpc-1" }),
    /^TrackingServer: vpcId needs publicSubnetIds/,
  ],
];

test.each(refused)("refuses %s, naming the component and the arg", (_what, check, message) => {
  expect(check).toThrow(message);
});

test("the defaults pass every check", () => {
  expect(store({})()).toMatchObject({ settings: { backend: "s3", prefix: "mlflow" } });
  expect(database({})()).toMatchObject({ engineVersion: "17" });
  expect(server({})()).toMatchObject({ compute: "ec2" });
  expect(onFargate({})()).toMatchObject({ container: { cpu: 1024, memoryMb: 2048 } });
  expect(server({ compute: "container", allowPlainHttp: true })()).toMatchObject({ allowPlainHttp: true });
  const azure = { location: "westeurope", sasExpiresOn: nextYear("06-30") };
  expect(store({ backend: "azureBlob", azureBlob: azure })()).toMatchObject({
    settings: { azureBlob: azure },
  });
  expect(store({ backend: "gcs", gcs: { project: "my-project", location: "europe-west1" } })()).toMatchObject(
    {
      settings: { gcs: { location: "EUROPE-WEST1" } },
    },
  );
});

test("a store's resolved settings hold its own options only, not the component's other args", () => {
  const { settings } = store({
    backend: "gcs",
    gcs: { project: "p" },
    tags: { team: "ml" },
    protect: true,
  })();
  expect(Object.keys(settings).sort()).toEqual(
    ["abortIncompleteUploadDays", "backend", "gcs", "noncurrentVersionExpirationDays", "prefix"].sort(),
  );
  expect(settings.gcs).toEqual({ project: "p", location: "US" });
});

test("the platform refuses a VPC range that its subnets' layout cannot use", async () => {
  await expect(evaluate("platform-network-slash-8")).rejects.toMatchObject({
    registeredResources: 0,
    message: expect.stringMatching(
      /^MlflowPlatform: network.cidrBlock: got "10.0.0.0\/8"; allowed: an IPv4 CIDR with a prefix length from \/16 to \/24/,
    ),
  });
});

test("a refused component registers nothing, and neither does a platform given the same arg", async () => {
  for (const scenario of ["database-postgres-13", "platform-postgres-13"]) {
    await expect(evaluate(scenario)).rejects.toMatchObject({
      registeredResources: 0,
      message: expect.stringMatching(/MetadataDatabase: engineVersion: got "13"/),
    });
  }
});

test.each([
  [
    "platform-container-no-domain",
    /^TrackingServer: domain: got null; allowed: a DNS name in hostedZoneId for container compute/,
  ],
  [
    "platform-protected-without-alarms",
    /^MlflowPlatform: alarmEmails: got \[\]; allowed: at least one address, or alarmTopicArn/,
  ],
  [
    // 10 tasks x 2 workers x 10 connections = 200 against db.t4g.micro's ~112.
    "platform-too-many-connections",
    /^MlflowPlatform: database.instanceClass: got "db.t4g.micro"; allowed: a class with more memory \(this one allows about 112 connections; the servers may open 200/,
  ],
])("the platform refuses %s before it registers anything", async (scenario, message) => {
  await expect(evaluate(scenario)).rejects.toMatchObject({
    registeredResources: 0,
    message: expect.stringMatching(message),
  });
});

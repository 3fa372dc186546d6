import { ConfigError, DEFAULTS, loadSettings, rdsClassMemoryGib } from "../../stacks/config";
import { pinnedMlflowVersion, renderTlsEnv } from "../../server/render";
import { evaluateProgram, readStackFile, stackFile } from "../support/mockRuntime";

const NS = "mlflow-platform";
type Raw = Record<string, unknown>;

/** Raw config as Pulumi passes it: fully-qualified keys, objects as JSON. */
function raw(values: Raw): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [
      k.includes(":") ? k : `${NS}:${k}`,
      typeof v === "string" ? v : JSON.stringify(v),
    ]),
  );
}

function load(values: Raw, stack = "dev") {
  return loadSettings(raw(values), "mlflow-platform", stack);
}

describe("valid config", () => {
  test("an empty dev config takes every default", () => {
    const s = load({});
    expect(s.artifactStore).toEqual(DEFAULTS.artifactStore);
    expect(s.database).toEqual(DEFAULTS.database);
    expect(s.server.compute).toBe("ec2");
    expect(s.server.allowedCidrs).toEqual(["0.0.0.0/0"]);
    expect(s.server.mlflowVersion).toBe(pinnedMlflowVersion());
    expect(s.protect).toBe(false);
    expect(s.awsRegion).toBe("us-east-1");
    expect(s.network).toEqual({ cidrBlock: "10.42.0.0/16", availabilityZoneCount: 2 });
  });

  test("the shipped stack files load", () => {
    for (const stack of ["dev", "prod"]) {
      const { config } = readStackFile(stackFile(stack));
      const s = loadSettings(config, "mlflow-platform", stack);
      expect(s.stack).toBe(stack);
    }
    const prod = loadSettings(readStackFile(stackFile("prod")).config, "mlflow-platform", "prod");
    expect(prod.protect).toBe(true);
    expect(prod.database.multiAz).toBe(true);
  });

  test.each<[string, Raw, string, (s: ReturnType<typeof load>) => unknown, unknown]>([
    [
      "numbers given as strings (pulumi config set)",
      { database: { allocatedStorageGb: "50" } },
      "dev",
      (s) => s.database.allocatedStorageGb,
      50,
    ],
    [
      "booleans given as strings",
      { protect: "true", alarmEmails: ["oncall@example.com"], database: { multiAz: "true" } },
      "dev",
      (s) => s.database.multiAz,
      true,
    ],
    [
      "the smallest storage with autoscaling off",
      { database: { allocatedStorageGb: 20, maxAllocatedStorageGb: 20 } },
      "dev",
      (s) => s.database.maxAllocatedStorageGb,
      20,
    ],
    [
      "max storage defaults to at least allocated",
      { database: { allocatedStorageGb: 500 } },
      "dev",
      (s) => s.database.maxAllocatedStorageGb,
      500,
    ],
    [
      "a single /32 client",
      { server: { allowedCidrs: ["198.51.100.7/32"] } },
      "dev",
      (s) => s.server.allowedCidrs,
      ["198.51.100.7/32"],
    ],
    [
      "gcs location is upper-cased",
      { artifactStore: { backend: "gcs", gcs: { project: "my-project-1", location: "eu" } } },
      "dev",
      (s) => s.artifactStore.gcs,
      { project: "my-project-1", location: "EU" },
    ],
    [
      "azure with an existing resource group",
      {
        artifactStore: {
          backend: "azureBlob",
          azureBlob: { location: "westeurope", resourceGroupName: "ml-rg" },
        },
      },
      "dev",
      (s) => s.artifactStore.azureBlob?.resourceGroupName,
      "ml-rg",
    ],
    [
      "prod with protection",
      { protect: true, alarmEmails: ["oncall@example.com"] },
      "prod",
      (s) => s.protect,
      true,
    ],
    [
      "container with the smallest Fargate size",
      {
        server: {
          compute: "container",
          allowPlainHttp: true,
          container: { cpu: 256, memoryMb: 512, minCount: 1, maxCount: 1 },
        },
      },
      "dev",
      (s) => s.server.container.desiredCount,
      1,
    ],
    [
      "EC2 HTTPS on its Elastic IP by default (Let's Encrypt, http-01)",
      {},
      "dev",
      (s) => [s.server.allowPlainHttp, s.server.acme],
      [false, { directoryUrl: "https://acme-v02.api.letsencrypt.org/directory", challenge: "http-01" }],
    ],
    [
      "EC2 with a domain and dns-01, another directory and a contact",
      {
        server: {
          domain: "mlflow.example.com",
          hostedZoneId: "Z0123456789ABC",
          acme: {
            directoryUrl: "https://acme-staging-v02.api.letsencrypt.org/directory",
            email: "ml-admins@example.com",
            challenge: "dns-01",
          },
        },
      },
      "dev",
      (s) => [s.server.domain, s.server.acme],
      [
        "mlflow.example.com",
        {
          directoryUrl: "https://acme-staging-v02.api.letsencrypt.org/directory",
          email: "ml-admins@example.com",
          challenge: "dns-01",
        },
      ],
    ],
    [
      "plain HTTP only when asked for, on EC2 and on a container",
      { "server.allowPlainHttp": "true", "server.compute": "container" },
      "dev",
      (s) => [s.server.compute, s.server.allowPlainHttp, s.server.domain],
      ["container", true, undefined],
    ],
    [
      "container with a domain",
      { server: { compute: "container", domain: "mlflow.example.com", hostedZoneId: "Z0123456789ABC" } },
      "dev",
      (s) => s.server.domain,
      "mlflow.example.com",
    ],
    [
      "a comma-separated string of CIDRs (a template prompt's answer)",
      { server: { allowedCidrs: "198.51.100.0/24, 203.0.113.0/24" } },
      "dev",
      (s) => s.server.allowedCidrs,
      ["198.51.100.0/24", "203.0.113.0/24"],
    ],
    [
      "dotted keys as `pulumi new` and `pulumi config set` without --path store them",
      {
        "server.compute": "container",
        "server.allowPlainHttp": "true",
        "server.container.cpu": "512",
        "database.multiAz": "true",
        "tags.Team": "ml",
      },
      "dev",
      (s) => [s.server.compute, s.server.container.cpu, s.database.multiAz, s.tags],
      ["container", 512, true, { Team: "ml" }],
    ],
    [
      "a dotted key wins over the same setting in the object, keeping its siblings",
      { server: { compute: "ec2", workers: 1, allowPlainHttp: true }, "server.compute": "container" },
      "dev",
      (s) => [s.server.compute, s.server.workers],
      ["container", 1],
    ],
    [
      "the lowest storage ceiling RDS takes: 10% above the allocation",
      { database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 110 } },
      "dev",
      (s) => s.database.maxAllocatedStorageGb,
      110,
    ],
    [
      "an allocation too close to the default ceiling turns autoscaling off instead of failing",
      { database: { allocatedStorageGb: 95 } },
      "dev",
      (s) => s.database.maxAllocatedStorageGb,
      95,
    ],
    [
      "a protected stack whose alarms go to an existing topic",
      { protect: true, alarmTopicArn: "arn:aws:sns:us-east-1:123456789012:pager" },
      "prod",
      (s) => [s.alarmEmails, s.alarmTopicArn],
      [[], "arn:aws:sns:us-east-1:123456789012:pager"],
    ],
    [
      "an alarm topic in GovCloud",
      { "aws:region": "us-gov-west-1", alarmTopicArn: "arn:aws-us-gov:sns:us-gov-west-1:123456789012:pager" },
      "dev",
      (s) => s.alarmTopicArn,
      "arn:aws-us-gov:sns:us-gov-west-1:123456789012:pager",
    ],
    [
      "pinned zone ids set the zone count",
      { network: { availabilityZoneIds: ["use1-az4", "use1-az6", "use1-az1"] } },
      "dev",
      (s) => s.network,
      {
        cidrBlock: "10.42.0.0/16",
        availabilityZoneCount: 3,
        availabilityZoneIds: ["use1-az4", "use1-az6", "use1-az1"],
      },
    ],
    [
      "a long enough admin password",
      { adminPassword: "correct-horse-battery" },
      "dev",
      (s) => s.server.adminUsername,
      "admin",
    ],
  ])("%s", (_title, values, stack, pick, expected) => {
    expect(pick(load(values, stack))).toEqual(expected);
  });
});

// Each row: a config that must be rejected, and the key its error must name.
const INVALID: [string, Raw, string, string?][] = [
  ["gc retention of zero days", { server: { gcRetentionDays: 0 } }, "server.gcRetentionDays", "1 to 3650"],
  ["unknown backend", { artifactStore: { backend: "minio" } }, "artifactStore.backend"],
  ["backend of the wrong type", { artifactStore: { backend: 42 } }, "artifactStore.backend"],
  ["artifactStore not an object", { artifactStore: "s3" }, `${NS}:artifactStore`],
  ["unknown compute mode", { server: { compute: "lambda" } }, "server.compute"],
  ["compute mode in the wrong case", { server: { compute: "EC2" } }, "server.compute"],
  ["typo of a top-level key", { databse: {} }, `${NS}:databse`, 'did you mean "database"'],
  ["unknown top-level key", { region: "eu-west-1" }, `${NS}:region`],
  [
    "typo of a database key",
    { database: { instanceClas: "db.t4g.micro" } },
    "database.instanceClas",
    'did you mean "instanceClass"',
  ],
  [
    "typo of a server key",
    { server: { allowedCidr: ["10.0.0.0/8"] } },
    "server.allowedCidr",
    'did you mean "allowedCidrs"',
  ],
  ["negative storage", { database: { allocatedStorageGb: -5 } }, "database.allocatedStorageGb"],
  ["storage below the RDS minimum", { database: { allocatedStorageGb: 10 } }, "database.allocatedStorageGb"],
  ["absurd storage", { database: { allocatedStorageGb: 100000 } }, "database.allocatedStorageGb"],
  ["storage as words", { database: { allocatedStorageGb: "twenty" } }, "database.allocatedStorageGb"],
  ["fractional storage", { database: { allocatedStorageGb: 20.5 } }, "database.allocatedStorageGb"],
  [
    "max storage below allocated",
    { database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 50 } },
    "database.maxAllocatedStorageGb",
  ],
  ["no backups", { database: { backupRetentionDays: 0 } }, "database.backupRetentionDays"],
  [
    "backups longer than RDS allows",
    { database: { backupRetentionDays: 40 } },
    "database.backupRetentionDays",
  ],
  ["multiAz not a boolean", { database: { multiAz: "yes" } }, "database.multiAz"],
  ["unsupported engine version", { database: { engineVersion: "9.6" } }, "database.engineVersion"],
  [
    "instance class without db. prefix",
    { database: { instanceClass: "t3.micro" } },
    "database.instanceClass",
  ],
  ["allowedCidrs as a number", { server: { allowedCidrs: 10 } }, "server.allowedCidrs"],
  [
    "a bad CIDR in a comma-separated allowedCidrs",
    { server: { allowedCidrs: "10.0.0.0/8, nope" } },
    "server.allowedCidrs[1]",
  ],
  [
    "a dotted key under an unknown top-level key",
    { "servr.compute": "ec2" },
    `${NS}:servr.compute`,
    'did you mean "server"',
  ],
  [
    "a dotted key with a typo inside",
    { "server.computee": "ec2" },
    "server.computee",
    'did you mean "compute"',
  ],
  [
    "a dotted key below a non-object",
    { server: { compute: "ec2", container: 3 }, "server.container.cpu": "512" },
    "server.container",
    "an object",
  ],
  ["empty allowedCidrs", { server: { allowedCidrs: [] } }, "server.allowedCidrs"],
  ["CIDR prefix too long", { server: { allowedCidrs: ["10.0.0.0/33"] } }, "server.allowedCidrs[0]"],
  [
    "CIDR octet out of range",
    { server: { allowedCidrs: ["10.0.0.0/8", "300.1.1.0/24"] } },
    "server.allowedCidrs[1]",
  ],
  [
    "CIDR with host bits",
    { server: { allowedCidrs: ["10.0.0.1/8"] } },
    "server.allowedCidrs[0]",
    "10.0.0.0/8",
  ],
  ["CIDR without a prefix", { server: { allowedCidrs: ["10.0.0.1"] } }, "server.allowedCidrs[0]"],
  ["IPv6 CIDR", { server: { allowedCidrs: ["::/0"] } }, "server.allowedCidrs[0]"],
  ["MLflow version that is not a version", { server: { mlflowVersion: "latest" } }, "server.mlflowVersion"],
  ["MLflow version without patch", { server: { mlflowVersion: "3.18" } }, "server.mlflowVersion"],
  [
    "MLflow version that is not locked",
    { server: { mlflowVersion: "2.22.0" } },
    "server.mlflowVersion",
    "requirements.txt",
  ],
  ["zero workers", { server: { workers: 0 } }, "server.workers"],
  [
    "malformed domain",
    { server: { compute: "container", domain: "Not A Domain", hostedZoneId: "Z0123456789ABC" } },
    "server.domain",
  ],
  [
    "a container stack without TLS and without allowPlainHttp",
    { server: { compute: "container" } },
    "server.domain",
    "server.allowPlainHttp: true",
  ],
  [
    "allowPlainHttp with a domain",
    {
      server: {
        compute: "container",
        domain: "mlflow.example.com",
        hostedZoneId: "Z0123456789ABC",
        allowPlainHttp: true,
      },
    },
    "server.allowPlainHttp",
    "remove allowPlainHttp",
  ],
  [
    "allowPlainHttp not a boolean",
    { server: { allowPlainHttp: "yes" } },
    "server.allowPlainHttp",
    "true or false",
  ],
  [
    "an ACME directory over plain HTTP",
    { server: { acme: { directoryUrl: "http://acme.example.com/directory" } } },
    "server.acme.directoryUrl",
    "an https URL",
  ],
  [
    "an ACME directory that is not a URL",
    { server: { acme: { directoryUrl: "letsencrypt" } } },
    "server.acme.directoryUrl",
  ],
  [
    "an ACME email that is not an address",
    { server: { acme: { email: "ops at example" } } },
    "server.acme.email",
    "an email address",
  ],
  [
    "an unknown ACME challenge",
    { server: { acme: { challenge: "tls-alpn-01" } } },
    "server.acme.challenge",
    "http-01, dns-01",
  ],
  [
    "an unknown key under acme",
    { server: { acme: { emial: "ops@example.com" } } },
    "server.acme.emial",
    'did you mean "email"',
  ],
  [
    "dns-01 without a domain (an IP address can only be proven by http-01)",
    { server: { acme: { challenge: "dns-01" } } },
    "server.acme.challenge",
    "server.domain",
  ],
  [
    "acme settings in container mode (ACM issues its certificate)",
    {
      server: {
        compute: "container",
        domain: "mlflow.example.com",
        hostedZoneId: "Z0123456789ABC",
        acme: { email: "ops@example.com" },
      },
    },
    "server.acme",
    "remove it",
  ],
  [
    "acme settings with allowPlainHttp",
    { server: { allowPlainHttp: true, allowedCidrs: ["10.0.0.0/8"], acme: { email: "ops@example.com" } } },
    "server.acme",
    "allowPlainHttp is true",
  ],
  [
    "domain without a hosted zone",
    { server: { compute: "container", domain: "mlflow.example.com" } },
    "server.hostedZoneId",
  ],
  [
    "hosted zone without a domain",
    { server: { compute: "container", hostedZoneId: "Z0123456789ABC" } },
    "server.domain",
  ],
  [
    "malformed hosted zone id",
    { server: { compute: "container", domain: "mlflow.example.com", hostedZoneId: "zone-1" } },
    "server.hostedZoneId",
  ],
  ["container settings on EC2", { server: { compute: "ec2", container: { cpu: 512 } } }, "server.container"],
  [
    "Fargate CPU that does not exist",
    { server: { compute: "container", container: { cpu: 300 } } },
    "server.container.cpu",
  ],
  [
    "memory outside the CPU's range",
    { server: { compute: "container", container: { cpu: 256, memoryMb: 8192 } } },
    "server.container.memoryMb",
  ],
  [
    "memory above Fargate's 30 GiB for 4 vCPU",
    { server: { compute: "container", container: { cpu: 4096, memoryMb: 32768 } } },
    "server.container.memoryMb",
  ],
  [
    "max tasks below min tasks",
    { server: { compute: "container", container: { minCount: 3, maxCount: 2 } } },
    "server.container.maxCount",
  ],
  [
    "CPU target out of range",
    { server: { compute: "container", container: { targetCpuPercent: 100 } } },
    "server.container.targetCpuPercent",
  ],
  [
    "azureBlob without its settings",
    { artifactStore: { backend: "azureBlob" } },
    "artifactStore.azureBlob",
    "location",
  ],
  [
    "azureBlob without a location",
    { artifactStore: { backend: "azureBlob", azureBlob: {} } },
    "artifactStore.azureBlob.location",
  ],
  [
    "azure subscription that is not a GUID",
    {
      artifactStore: { backend: "azureBlob", azureBlob: { location: "westeurope", subscriptionId: "prod" } },
    },
    "artifactStore.azureBlob.subscriptionId",
  ],
  ["gcs without its settings", { artifactStore: { backend: "gcs" } }, "artifactStore.gcs", "project"],
  [
    "gcs without a project",
    { artifactStore: { backend: "gcs", gcs: { location: "US" } } },
    "artifactStore.gcs.project",
  ],
  [
    "gcs project id malformed",
    { artifactStore: { backend: "gcs", gcs: { project: "X" } } },
    "artifactStore.gcs.project",
  ],
  [
    "settings of another backend",
    { artifactStore: { backend: "s3", gcs: { project: "my-project-1" } } },
    "artifactStore.gcs",
  ],
  [
    "settings for a backend that takes none",
    { artifactStore: { backend: "s3", s3: { bucket: "mine" } } },
    "artifactStore.s3",
    "allowed: nothing (the s3 backend has no options)",
  ],
  [
    "an unknown key under artifactStore",
    { artifactStore: { backend: "s3", minio: {} } },
    "artifactStore.minio",
    "unknown key",
  ],
  ["prefix with a leading slash", { artifactStore: { prefix: "/mlflow" } }, "artifactStore.prefix"],
  [
    "noncurrent expiry of zero days",
    { artifactStore: { noncurrentVersionExpirationDays: 0 } },
    "artifactStore.noncurrentVersionExpirationDays",
  ],
  ["protect not a boolean", { protect: "maybe" }, `${NS}:protect`],
  ["VPC too large", { network: { cidrBlock: "10.0.0.0/8" } }, "network.cidrBlock"],
  ["a single availability zone", { network: { availabilityZoneCount: 1 } }, "network.availabilityZoneCount"],
  ["an unknown AWS region", { "aws:region": "mars-north-1" }, "aws:region"],
  ["a tag in the aws: namespace", { tags: { "aws:owner": "me" } }, `${NS}:tags`],
  ["an admin username too short", { server: { adminUsername: "a" } }, "server.adminUsername"],
  [
    "protected stack with short backups",
    { protect: true, database: { backupRetentionDays: 3 } },
    "database.backupRetentionDays",
  ],
  ["alarm emails as a string", { alarmEmails: "oncall@example.com" }, `${NS}:alarmEmails`],
  ["an alarm email that is not an address", { alarmEmails: ["oncall"] }, `${NS}:alarmEmails[0]`],
  [
    "more server connections than a small database allows",
    {
      database: { instanceClass: "db.t4g.micro" },
      server: { compute: "container", allowPlainHttp: true, workers: 4, container: { maxCount: 10 } },
    },
    "database.instanceClass",
    "10 server(s) x 4 workers x 10",
  ],
  [
    "a storage ceiling less than 10% above the allocation (RDS: Invalid max storage size)",
    { database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 105 } },
    "database.maxAllocatedStorageGb",
    "got 105 with mlflow-platform:database.allocatedStorageGb 100; allowed: 100 (storage autoscaling off) or 110 to 65536",
  ],
  [
    "a protected stack whose alarms reach nobody",
    { protect: true },
    `${NS}:alarmEmails`,
    `missing on a protected stack (protect: true), whose alarms would notify a topic with no subscribers; allowed: a list of at least one email address such as ["oncall@example.com"], or ${NS}:alarmTopicArn`,
  ],
  [
    "a protected stack with an empty list of alarm emails",
    { protect: true, alarmEmails: [] },
    `${NS}:alarmEmails`,
    "alarmTopicArn",
  ],
  ["an alarm topic that is not an SNS ARN", { alarmTopicArn: "pager" }, `${NS}:alarmTopicArn`, "SNS topic"],
  [
    "an alarm topic in another region",
    { alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:pager" },
    `${NS}:alarmTopicArn`,
    "allowed: a topic in us-east-1",
  ],
  [
    "an alarm topic of another partition",
    { "aws:region": "us-gov-west-1", alarmTopicArn: "arn:aws:sns:us-gov-west-1:123456789012:pager" },
    `${NS}:alarmTopicArn`,
    "arn:aws-us-gov:sns:us-gov-west-1:",
  ],
  [
    "a zone name where a zone id belongs",
    { network: { availabilityZoneIds: ["us-east-1a", "us-east-1b"] } },
    "network.availabilityZoneIds[0]",
    "use1-az1",
  ],
  [
    "the same zone twice",
    { network: { availabilityZoneIds: ["use1-az1", "use1-az1"] } },
    "network.availabilityZoneIds",
    "names a zone twice",
  ],
  [
    "pinned zones and a zone count that disagree",
    { network: { availabilityZoneIds: ["use1-az1", "use1-az2"], availabilityZoneCount: 3 } },
    "network.availabilityZoneIds",
    "exactly 3 zone ids",
  ],
  [
    "log retention CloudWatch does not offer",
    { server: { logRetentionDays: 10 } },
    "server.logRetentionDays",
  ],
];

describe("database connection budget", () => {
  test("RDS class memory follows the size ladder per family; unusual classes have no estimate", () => {
    expect(rdsClassMemoryGib("db.t4g.micro")).toBe(1);
    expect(rdsClassMemoryGib("db.m7g.large")).toBe(8);
    expect(rdsClassMemoryGib("db.m6i.4xlarge")).toBe(64);
    expect(rdsClassMemoryGib("db.r7g.xlarge")).toBe(32);
    expect(rdsClassMemoryGib("db.x2g.large")).toBe(32);
    expect(rdsClassMemoryGib("db.z1d.large")).toBeUndefined();
    expect(rdsClassMemoryGib("db.serverless")).toBeUndefined();
  });

  test("the largest plan a micro database takes: 8 EC2 workers, or 4 tasks x 2 workers", () => {
    expect(load({ database: { instanceClass: "db.t4g.micro" }, server: { workers: 8 } }).server.workers).toBe(
      8,
    );
    const container = {
      compute: "container",
      allowPlainHttp: true,
      workers: 2,
      container: { minCount: 1, maxCount: 4 },
    };
    expect(
      load({ database: { instanceClass: "db.t4g.micro" }, server: container }).server.container.maxCount,
    ).toBe(4);
    const more = { ...container, container: { minCount: 1, maxCount: 5 } };
    expect(() => load({ database: { instanceClass: "db.t4g.micro" }, server: more })).toThrow(
      /about 112 connections, but the servers may open 100/,
    );
  });
});

describe("invalid config", () => {
  test("the table has at least 30 cases", () => expect(INVALID.length).toBeGreaterThanOrEqual(30));

  // Rows padded to one length: jest passes a `done` callback to functions with more parameters than values.
  test.each(INVALID.map(([title, values, key, hint]) => [title, values, key, hint ?? ""] as const))(
    "%s",
    (_title, values, key, hint) => {
      let error: unknown;
      try {
        load(values);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain(key);
      expect(message).toMatch(/allowed|did you mean/);
      if (hint) expect(message).toContain(hint);
    },
  );

  test("a production stack without protection is rejected", () => {
    expect(() => load({ protect: false }, "prod")).toThrow(
      /mlflow-platform:protect: got false on stack "prod"/,
    );
    expect(() => load({}, "production-eu")).toThrow(/protect/);
  });

  test("a project with another name reads its own namespace and refuses the shipped one", () => {
    const renamed = { "acme-mlflow:server": JSON.stringify({ compute: "container", allowPlainHttp: true }) };
    expect(loadSettings(renamed, "acme-mlflow", "dev").server.compute).toBe("container");
    expect(() => loadSettings({ "acme-mlflow:servr": "{}" }, "acme-mlflow", "dev")).toThrow(
      /^acme-mlflow:servr: unknown config key/,
    );
    // Keys of the shipped stack files, copied by `pulumi new` into a project named otherwise.
    expect(() => loadSettings(raw({ protect: "false" }), "acme-mlflow", "dev")).toThrow(
      /mlflow-platform:protect: this project is named "acme-mlflow".*rename the key to acme-mlflow:protect/,
    );
    // Error messages name the project's namespace.
    expect(() => loadSettings({ "acme-mlflow:protect": "false" }, "acme-mlflow", "prod")).toThrow(
      /^acme-mlflow:protect: got false on stack "prod"/,
    );
  });

  test("a short admin password is rejected without echoing it", () => {
    expect(() => load({ adminPassword: "hunter2" })).toThrow(/mlflow-platform:adminPassword/);
    expect(() => load({ adminPassword: "hunter2" })).not.toThrow(/hunter2/);
  });

  test("bad config stops the program before any resource is registered", async () => {
    const attempt = evaluateProgram({ stack: "dev", config: raw({ server: { compute: "lambda" } }) });
    await expect(attempt).rejects.toThrow(/server\.compute: got "lambda".*allowed: ec2, container/);
    await attempt.catch((e: { registeredResources?: number }) => expect(e.registeredResources).toBe(0));
  });
});

describe("ACME settings: what the config accepts, the EC2 user data renders", () => {
  // renderTlsEnv runs inside the user data's apply, after other resources are registered: a value the config
  // let through and the renderer refused would fail `pulumi up` half-way (review of issue 11).
  const renders = (acme: { directoryUrl?: string; email?: string; hostedZoneId?: string }) => {
    try {
      renderTlsEnv({
        mode: "acme",
        identifier: "mlflow.example.com",
        challenge: acme.hostedZoneId ? "dns-01" : "http-01",
        ...acme,
      });
      return true;
    } catch {
      return false;
    }
  };
  const loads = (acme: { directoryUrl?: string; email?: string; hostedZoneId?: string }) => {
    const { hostedZoneId, ...rest } = acme;
    try {
      load({
        server: {
          domain: "mlflow.example.com",
          hostedZoneId: hostedZoneId ?? "Z0123456789ABC",
          acme: { ...rest, ...(hostedZoneId ? { challenge: "dns-01" } : {}) },
        },
      });
      return true;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return false;
    }
  };
  test.each([
    { directoryUrl: "https://acme.example.com/dir%2Fv2" },
    { directoryUrl: "https://acme.example.com:14000/dir" },
    { directoryUrl: "http://acme.example.com/dir" },
    { email: `${"a".repeat(64)}@example.com` },
    { email: `${"a".repeat(65)}@example.com` },
    { email: "ops@mail.example.co.uk" },
    { hostedZoneId: `Z${"A".repeat(31)}` },
    { hostedZoneId: `Z${"A".repeat(32)}` },
    { hostedZoneId: "Z1" },
  ])("%j: the config and the renderer agree", (acme) => {
    expect(loads(acme)).toBe(renders(acme));
  });
});

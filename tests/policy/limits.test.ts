// Provider limits (policy/rules/limits*.ts): each rule with passing and failing fixtures, the effective-name
// approach (set name, namePrefix + generated suffix, logical name + autoname suffix), and preview behaviour.
import type * as ec2 from "@pulumi/aws/ec2";
import { awsLimitPolicies, azureGcpLimitPolicies } from "../../policy/rules";
import { AUTONAME_SUFFIX, effectiveName, PREFIX_SUFFIX } from "../../policy/rules/limits";
import { EC2_DESCRIPTION } from "../../policy/rules/limits-aws";
import { inputs, mandatory, policyNames, runPolicies, TestResource, UNKNOWN_STRING } from "./support";

const policies = [...awsLimitPolicies, ...azureGcpLimitPolicies];
const x = (n: number, c = "a") => c.repeat(n);

async function verdict(resource: TestResource): Promise<string[]> {
  return policyNames(await runPolicies(policies, [resource]));
}

function resource(type: string, props: Record<string, unknown>, name = "r"): TestResource {
  return { type, name, props };
}

describe("aws-sg-description-charset (AWS review finding #1)", () => {
  const SG = "aws:ec2/securityGroup:SecurityGroup";
  const good = inputs<ec2.SecurityGroupArgs>({
    description: "MLflow tasks: port 5000 from the load balancer only (#1, [a]+=&;{}!$*@/)",
    ingress: [
      { protocol: "tcp", fromPort: 5000, toPort: 5000, description: "MLflow from the load balancer" },
    ],
    egress: [{ protocol: "-1", fromPort: 0, toPort: 0, description: "all outbound" }],
  });

  it("accepts descriptions made of the EC2 character set, up to 255 characters", async () => {
    expect(await verdict(resource(SG, good))).toEqual([]);
    expect(await verdict(resource(SG, { description: x(255) }))).toEqual([]);
  });

  it("refuses the container task group's description with an apostrophe (components/compute/container/workload.ts)", async () => {
    const v = await runPolicies(policies, [
      resource(SG, { description: "MLflow tasks: MLflow's port from the load balancer only" }, "task-sg"),
    ]);
    expect(policyNames(v)).toEqual(["aws-sg-description-charset"]);
    expect(v[0].message).toMatch(/description "MLflow tasks: MLflow's port/);
    expect(v[0].message).toContain(`has characters outside ${EC2_DESCRIPTION.allowed}: "'"`);
    expect(v[0].message).toMatch(/InvalidParameterValue/);
  });

  it.each([
    ["a long group description", { ...good, description: x(256) }, /256 characters, more than 255/],
    [
      "an inline ingress description",
      { ...good, ingress: [{ description: "it's" }] },
      /ingress\[0\]\.description/,
    ],
    ["an inline egress description", { ...good, egress: [{ description: "outbound – all" }] }, /egress\[0\]/],
    ["a non-ASCII letter", { ...good, description: "Zugriff für MLflow" }, /outside a-zA-Z0-9/],
  ])("refuses %s", async (_what, props, message) => {
    const v = await runPolicies(policies, [resource(SG, props)]);
    expect(policyNames(v)).toEqual(["aws-sg-description-charset"]);
    expect(v.map((r) => r.message).join("\n")).toMatch(message);
  });

  it.each([
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  ])("checks rule resources too: %s", async (type) => {
    expect(await verdict(resource(type, { description: "PostgreSQL from the server" }))).toEqual([]);
    expect(await verdict(resource(type, { description: "the server's PostgreSQL" }))).toEqual([
      "aws-sg-description-charset",
    ]);
  });

  it("checks inline rules of the default security group", async () => {
    const type = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";
    expect(await verdict(resource(type, { ingress: [{ description: "none" }] }))).toEqual([]);
    expect(await verdict(resource(type, { ingress: [{ description: "n'one" }] }))).toEqual([
      "aws-sg-description-charset",
    ]);
  });
});

describe("effective names", () => {
  const field = {
    key: "name",
    prefixKey: "namePrefix",
    autoname: "as-is" as const,
    rule: { label: "x", max: 32 },
  };

  it("appends Pulumi's autoname suffix (- and 7 random characters) to the logical name when name is unset", () => {
    expect(AUTONAME_SUFFIX).toHaveLength(8);
    expect(effectiveName({}, "mlflow-dev-server", field)?.value).toBe("mlflow-dev-server-a1b2c3d");
  });

  it("uses the name when it is visible in the inputs (preview hands policies the provider-checked inputs)", () => {
    expect(effectiveName({ name: "explicit" }, "logical", field)?.value).toBe("explicit");
  });

  it("appends the 26 characters the provider generates to a prefix, which wins over a name", () => {
    expect(PREFIX_SUFFIX).toHaveLength(26);
    expect(effectiveName({ namePrefix: "mlflow", name: "x" }, "logical", field)?.value).toBe(
      "mlflow" + PREFIX_SUFFIX,
    );
  });

  it("lower-cases where the provider does (S3 buckets)", () => {
    expect(effectiveName({}, "Dev-Artifacts", { ...field, autoname: "lowercase" })?.value).toBe(
      "dev-artifacts-a1b2c3d",
    );
  });

  it("has nothing to check for a required id that is unset", () => {
    expect(effectiveName({}, "logical", { key: "accountId", rule: field.rule })).toBeUndefined();
  });
});

describe("aws-name-limits", () => {
  const LB = "aws:lb/loadBalancer:LoadBalancer";
  const TG = "aws:lb/targetGroup:TargetGroup";
  const ROLE = "aws:iam/role:Role";
  const BUCKET = "aws:s3/bucket:Bucket";
  const DB = "aws:rds/instance:Instance";

  // [what, type, props, logical name]: each pair of fixtures sits on either side of the limit.
  const passing: [string, string, Record<string, unknown>, string][] = [
    ["LB namePrefix of 6", LB, { namePrefix: "mlflow" }, "lb"],
    ["LB logical name of 24 (+8 = 32)", LB, {}, x(24)],
    ["LB name of 32", LB, { name: x(32) }, "lb"],
    ["TG namePrefix of 6", TG, { namePrefix: "mlflow" }, "tg"],
    ["TG logical name of 24", TG, {}, x(24)],
    ["IAM role logical name of 56 (+8 = 64)", ROLE, {}, x(56)],
    ["IAM role namePrefix of 38 (+26 = 64)", ROLE, { namePrefix: x(38) }, "role"],
    ["IAM policy name of 128", "aws:iam/policy:Policy", { name: x(128) }, "p"],
    [
      "instance profile name with +=,.@_-",
      "aws:iam/instanceProfile:InstanceProfile",
      { name: "a+=,.@_-b" },
      "p",
    ],
    ["role policy name of 128", "aws:iam/rolePolicy:RolePolicy", { name: x(128) }, "p"],
    ["RDS identifier of 63", DB, { identifier: x(63) }, "db"],
    ["RDS logical name of 55 (+8 = 63)", DB, {}, x(55)],
    [
      "RDS final snapshot id",
      DB,
      { identifier: "db", finalSnapshotIdentifier: "Mlflow-prod-db-final-0a1b" },
      "db",
    ],
    ["RDS parameter group", "aws:rds/parameterGroup:ParameterGroup", { name: "mlflow-prod-db.pg17" }, "pg"],
    ["RDS subnet group", "aws:rds/subnetGroup:SubnetGroup", { name: "mlflow prod_db.1" }, "sg"],
    ["S3 logical name of 55 (+8 = 63)", BUCKET, {}, x(55)],
    ["S3 upper-case logical name (autonamed in lower case)", BUCKET, {}, "Mlflow-Artifacts"],
    ["S3 bucketPrefix of 37 (+26 = 63)", BUCKET, { bucketPrefix: x(37) }, "b"],
    ["secret name", "aws:secretsmanager/secret:Secret", { name: "mlflow/prod_db+uri=1.x@y-z" }, "s"],
    ["alarm name of 255", "aws:cloudwatch/metricAlarm:MetricAlarm", { name: x(255) }, "a"],
    ["SNS topic", "aws:sns/topic:Topic", { name: "mlflow_alarms-1" }, "t"],
    ["FIFO SNS topic", "aws:sns/topic:Topic", { name: "mlflow.fifo" }, "t"],
    ["ECR repository", "aws:ecr/repository:Repository", { name: "team/mlflow-server_1.2" }, "r"],
    ["ECS cluster", "aws:ecs/cluster:Cluster", { name: "Mlflow_prod-1" }, "c"],
    ["ECS service of 255", "aws:ecs/service:Service", { name: x(255) }, "s"],
    ["ECS task family", "aws:ecs/taskDefinition:TaskDefinition", { family: "mlflow-prod_server" }, "t"],
    ["log group", "aws:cloudwatch/logGroup:LogGroup", { name: "/ecs/mlflow-prod.server#1" }, "l"],
    [
      "log metric filter",
      "aws:cloudwatch/logMetricFilter:LogMetricFilter",
      { name: "gc failures (mlflow)" },
      "f",
    ],
    ["scaling policy", "aws:appautoscaling/policy:Policy", { name: "cpu at 60% / mlflow" }, "p"],
    ["schedule logical name of 56 (+8 = 64)", "aws:scheduler/schedule:Schedule", {}, x(56)],
    ["security group name", "aws:ec2/securityGroup:SecurityGroup", { name: "mlflow (server) #1" }, "g"],
  ];
  const failing: [string, string, Record<string, unknown>, string, RegExp][] = [
    ["LB namePrefix of 7", LB, { namePrefix: "mlflow1" }, "lb", /33 characters, more than 32/],
    ["LB logical name of 25", LB, {}, x(25), /autoname .* 33 characters, more than 32/],
    ["LB name with an underscore", LB, { name: "ml_flow" }, "lb", /outside 0-9A-Za-z-/],
    [
      "LB name beginning with internal-",
      LB,
      { name: "internal-mlflow" },
      "lb",
      /reserved prefix "internal-"/,
    ],
    ["TG name ending in a hyphen", TG, { name: "mlflow-" }, "tg", /ends with a hyphen/],
    ["TG logical name of 25", TG, {}, x(25), /more than 32/],
    ["IAM role logical name of 57", ROLE, {}, x(57), /65 characters, more than 64/],
    ["IAM role namePrefix of 39", ROLE, { namePrefix: x(39) }, "role", /65 characters, more than 64/],
    ["IAM role name with a space", ROLE, { name: "mlflow server" }, "role", /outside letters, digits/],
    ["IAM policy name of 129", "aws:iam/policy:Policy", { name: x(129) }, "p", /more than 128/],
    [
      "instance profile name with a colon",
      "aws:iam/instanceProfile:InstanceProfile",
      { name: "a:b" },
      "p",
      /outside/,
    ],
    ["RDS identifier of 64", DB, { identifier: x(64) }, "db", /more than 63/],
    ["RDS logical name of 56", DB, {}, x(56), /64 characters, more than 63/],
    ["RDS identifier with --", DB, { identifier: "mlflow--db" }, "db", /two consecutive hyphens/],
    ["RDS identifier starting with a digit", DB, { identifier: "1db" }, "db", /does not begin with a letter/],
    [
      "RDS snapshot id ending in -",
      DB,
      { identifier: "db", finalSnapshotIdentifier: "db-final-" },
      "db",
      /hyphen/,
    ],
    [
      "RDS parameter group with _",
      "aws:rds/parameterGroup:ParameterGroup",
      { name: "mlflow_pg" },
      "pg",
      /outside/,
    ],
    [
      "RDS subnet group named default",
      "aws:rds/subnetGroup:SubnetGroup",
      { name: "default" },
      "sg",
      /reserved/,
    ],
    ["S3 logical name of 56", BUCKET, {}, x(56), /64 characters, more than 63/],
    ["S3 bucketPrefix of 38", BUCKET, { bucketPrefix: x(38) }, "b", /more than 63/],
    ["S3 bucket with xn--", BUCKET, { bucket: "xn--mlflow" }, "b", /reserved prefix "xn--"/],
    ["S3 bucket with ..", BUCKET, { bucket: "mlflow..artifacts" }, "b", /two adjacent periods/],
    ["S3 bucket ending in -s3alias", BUCKET, { bucket: "mlflow-s3alias" }, "b", /reserved suffix/],
    ["secret name with a space", "aws:secretsmanager/secret:Secret", { name: "db uri" }, "s", /outside/],
    ["alarm name of 256", "aws:cloudwatch/metricAlarm:MetricAlarm", { name: x(256) }, "a", /more than 255/],
    ["SNS topic with a period", "aws:sns/topic:Topic", { name: "mlflow.alarms" }, "t", /outside/],
    ["ECR repository in upper case", "aws:ecr/repository:Repository", { name: "Mlflow" }, "r", /outside/],
    ["ECS cluster with a period", "aws:ecs/cluster:Cluster", { name: "mlflow.prod" }, "c", /outside/],
    ["ECS service of 256", "aws:ecs/service:Service", { name: x(256) }, "s", /more than 255/],
    [
      "ECS task family with a space",
      "aws:ecs/taskDefinition:TaskDefinition",
      { family: "ml flow" },
      "t",
      /outside/,
    ],
    ["log group with a space", "aws:cloudwatch/logGroup:LogGroup", { name: "/ecs/ml flow" }, "l", /outside/],
    [
      "log metric filter with *",
      "aws:cloudwatch/logMetricFilter:LogMetricFilter",
      { name: "gc*" },
      "f",
      /outside/,
    ],
    [
      "schedule logical name of 57",
      "aws:scheduler/schedule:Schedule",
      {},
      x(57),
      /65 characters, more than 64/,
    ],
    ["schedule name with a space", "aws:scheduler/schedule:Schedule", { name: "weekly gc" }, "s", /outside/],
    [
      "security group name sg-…",
      "aws:ec2/securityGroup:SecurityGroup",
      { name: "sg-mlflow" },
      "g",
      /reserved/,
    ],
  ];

  it.each(passing)("accepts %s", async (_what, type, props, name) => {
    expect(await verdict(resource(type, props, name))).toEqual([]);
  });

  it.each(failing)("refuses %s", async (_what, type, props, name, message) => {
    const v = mandatory(await runPolicies(policies, [resource(type, props, name)]));
    expect(policyNames(v)).toEqual(["aws-name-limits"]);
    expect(v[0].message).toMatch(message);
  });

  it("checks the name set in the inputs, not the logical name, when both are there", async () => {
    expect(await verdict(resource(LB, { name: x(33) }, "lb"))).toEqual(["aws-name-limits"]);
    expect(await verdict(resource(LB, { name: "mlflow" }, x(40)))).toEqual([]);
  });

  it("reports an unknown name during preview as an advisory, not a violation", async () => {
    const v = await runPolicies(policies, [resource(LB, { name: UNKNOWN_STRING }, "lb")], { preview: true });
    expect(mandatory(v)).toEqual([]);
    expect(v.map((r) => r.policy)).toContain("aws-name-limits");
  });
});

describe("aws-text-limits", () => {
  it.each([
    [
      "aws:iam/role:Role",
      "description",
      "MLflow tracking server (ec2): S3, secrets",
      "MLflow’s server",
      /Latin-1/,
    ],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "alarmDescription", x(1024), x(1025), /more than 1024/],
    ["aws:secretsmanager/secret:Secret", "description", x(2048), x(2049), /more than 2048/],
    ["aws:scheduler/schedule:Schedule", "description", x(512), x(513), /more than 512/],
  ])("%s %s", async (type, key, ok, bad, message) => {
    expect(await verdict(resource(type, { [key]: ok }))).toEqual([]);
    const v = await runPolicies(policies, [resource(type, { [key]: bad })]);
    expect(policyNames(v)).toEqual(["aws-text-limits"]);
    expect(v[0].message).toMatch(message);
  });

  it("allows 1000 characters of IAM role description, not 1001", async () => {
    expect(await verdict(resource("aws:iam/role:Role", { description: x(1000) }))).toEqual([]);
    expect(await verdict(resource("aws:iam/role:Role", { description: x(1001) }))).toEqual([
      "aws-text-limits",
    ]);
  });
});

describe("aws-tag-limits", () => {
  const VPC = "aws:ec2/vpc:Vpc";
  const tags = (n: number) => Object.fromEntries([...Array(n).keys()].map((i) => [`k${i}`, `v${i}`]));

  it("accepts 50 tags of the portable charset with keys up to 128 and values up to 256", async () => {
    expect(await verdict(resource(VPC, { tags: tags(50) }))).toEqual([]);
    expect(await verdict(resource(VPC, { tags: { [x(128)]: x(256), "Name:x/y=z+1@a_b.c-d": "" } }))).toEqual(
      [],
    );
  });

  it.each([
    ["51 tags", { tags: tags(51) }, /51 tags, more than 50/],
    ["a key of 129", { tags: { [x(129)]: "v" } }, /more than 128/],
    ["a value of 257", { tags: { k: x(257) } }, /more than 256/],
    ["the reserved aws: prefix", { tags: { "aws:owner": "me" } }, /reserved prefix "aws:"/],
    ["an empty key", { tags: { "": "v" } }, /fewer than 1/],
    ["an apostrophe in a value", { tags: { Owner: "ml-platform's" } }, /outside letters, digits, spaces/],
    ["volumeTags", { volumeTags: { "aws:x": "y" } }, /volumeTags/],
  ])("refuses %s", async (_what, props, message) => {
    const v = await runPolicies(policies, [resource("aws:ec2/instance:Instance", props)]);
    expect(policyNames(v)).toEqual(["aws-tag-limits"]);
    expect(v[0].message).toMatch(message);
  });

  it("allows S3 objects 10 tags, not 11", async () => {
    const OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2";
    expect(await verdict(resource(OBJECT, { tags: tags(10) }))).toEqual([]);
    expect(await verdict(resource(OBJECT, { tags: tags(11) }))).toEqual(["aws-tag-limits"]);
  });

  it("leaves docker image tags (image references) and other providers alone", async () => {
    expect(
      await verdict(resource("docker-build:index:Image", { tags: ["repo:1.0"], labels: { "a.b": "C" } })),
    ).toEqual([]);
  });
});

describe("azure-gcp-name-limits", () => {
  const ACCOUNT = "azure-native:storage:StorageAccount";
  const CONTAINER = "azure-native:storage:BlobContainer";
  const RG = "azure-native:resources:ResourceGroup";
  const POOL = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool";
  const PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider";
  const SA = "gcp:serviceaccount/account:Account";
  const GCS = "gcp:storage/bucket:Bucket";

  const passing: [string, string, Record<string, unknown>, string][] = [
    [
      "storage account of 24 lowercase alphanumerics",
      ACCOUNT,
      { accountName: "mlflowazuredev0a1b2c3d12" },
      "a",
    ],
    ["storage account of 3", ACCOUNT, { accountName: "ml1" }, "a"],
    ["blob container", CONTAINER, { containerName: "mlflow-artifacts" }, "c"],
    ["resource group logical name of 82 (+8 = 90)", RG, {}, x(82)],
    ["pool id of 32", POOL, { workloadIdentityPoolId: x(32) }, "p"],
    ["pool id of 4", POOL, { workloadIdentityPoolId: "ml-1" }, "p"],
    [
      "provider id",
      PROVIDER,
      { workloadIdentityPoolId: "mlflow-dev-0a1b", workloadIdentityPoolProviderId: "aws-server" },
      "p",
    ],
    ["service account id of 6", SA, { accountId: "mlflow" }, "s"],
    ["service account id of 30", SA, { accountId: "m" + x(28, "1") + "w" }, "s"],
    ["GCS bucket", GCS, { name: "mlflow-dev-artifacts_0a1b2c3d" }, "b"],
    ["GCS bucket with dots over 63", GCS, { name: `${x(60)}.${x(60)}` }, "b"],
  ];
  const failing: [string, string, Record<string, unknown>, string, RegExp][] = [
    ["storage account with a hyphen", ACCOUNT, { accountName: "mlflow-dev" }, "a", /outside a-z0-9/],
    ["storage account of 25", ACCOUNT, { accountName: x(25) }, "a", /more than 24/],
    ["storage account in upper case", ACCOUNT, { accountName: "MlflowDev" }, "a", /outside a-z0-9/],
    ["storage account left to autonaming", ACCOUNT, {}, "artifacts", /autoname/],
    [
      "blob container with --",
      CONTAINER,
      { containerName: "mlflow--artifacts" },
      "c",
      /two consecutive hyphens/,
    ],
    ["blob container of 2", CONTAINER, { containerName: "ml" }, "c", /fewer than 3/],
    ["resource group logical name of 83", RG, {}, x(83), /91 characters, more than 90/],
    ["resource group ending in a period", RG, { resourceGroupName: "mlflow." }, "rg", /ends with a period/],
    [
      "pool id with the reserved gcp- prefix",
      POOL,
      { workloadIdentityPoolId: "gcp-mlflow" },
      "p",
      /reserved prefix "gcp-"/,
    ],
    ["pool id of 3", POOL, { workloadIdentityPoolId: "abc" }, "p", /fewer than 4/],
    ["pool id of 33", POOL, { workloadIdentityPoolId: x(33) }, "p", /more than 32/],
    ["provider id with _", PROVIDER, { workloadIdentityPoolProviderId: "aws_server" }, "p", /outside/],
    ["service account id of 5", SA, { accountId: "mlflo" }, "s", /fewer than 6/],
    ["service account id of 31", SA, { accountId: x(31) }, "s", /more than 30/],
    ["service account id starting with a digit", SA, { accountId: "1mlflow" }, "s", /outside/],
    ["GCS bucket beginning with goog", GCS, { name: "goog-artifacts" }, "b", /reserved prefix "goog"/],
    ["GCS bucket containing google", GCS, { name: "my-google-artifacts" }, "b", /google/],
    ["GCS bucket of 64 without dots", GCS, { name: x(64) }, "b", /more than 63/],
    ["GCS bucket in upper case", GCS, { name: "Mlflow" }, "b", /outside/],
  ];

  it.each(passing)("accepts %s", async (_what, type, props, name) => {
    expect(await verdict(resource(type, props, name))).toEqual([]);
  });

  it.each(failing)("refuses %s", async (_what, type, props, name, message) => {
    const v = mandatory(await runPolicies(policies, [resource(type, props, name)]));
    expect(policyNames(v)).toEqual(["azure-gcp-name-limits"]);
    expect(v[0].message).toMatch(message);
  });
});

describe("gcp-text-limits", () => {
  it.each([
    // The provider's displayName "AWS account of the MLflow server" is exactly 32 (review F15).
    [
      "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
      "displayName",
      "AWS account of the MLflow server",
      33,
    ],
    ["gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "displayName", x(32), 33],
    ["gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "description", x(256), 257],
    ["gcp:serviceaccount/account:Account", "displayName", x(100), 101],
    ["gcp:serviceaccount/account:Account", "description", x(256), 257],
  ])("%s %s", async (type, key, ok, badLength) => {
    expect(await verdict(resource(type, { [key]: ok }))).toEqual([]);
    expect(await verdict(resource(type, { [key]: x(badLength as number) }))).toEqual(["gcp-text-limits"]);
  });
});

describe("azure-tag-limits and gcp-label-limits", () => {
  const many = (n: number) => Object.fromEntries([...Array(n).keys()].map((i) => [`k${i}`, `v${i}`]));

  it("accepts the program's tags and labels", async () => {
    const tags = { ArtifactCloud: "azure", Environment: "dev", ManagedBy: "pulumi", Stack: "azure-dev" };
    expect(
      await verdict(resource("azure-native:storage:StorageAccount", { accountName: "mlflow1", tags })),
    ).toEqual([]);
    const labels = {
      artifactcloud: "gcp",
      environment: "prod",
      project: "mlflow-platform",
      stack: "gcs-prod",
    };
    expect(await verdict(resource("gcp:storage/bucket:Bucket", { name: "mlflow-b", labels }))).toEqual([]);
  });

  it.each([
    ["51 Azure tags", "azure-native:resources:ResourceGroup", { tags: many(51) }, "azure-tag-limits"],
    [
      "an Azure tag name with /",
      "azure-native:resources:ResourceGroup",
      { tags: { "a/b": "v" } },
      "azure-tag-limits",
    ],
    [
      "an Azure tag value of 257",
      "azure-native:resources:ResourceGroup",
      { tags: { k: x(257) } },
      "azure-tag-limits",
    ],
    [
      "a storage account tag name of 129",
      "azure-native:storage:StorageAccount",
      { accountName: "ml1", tags: { [x(129)]: "v" } },
      "azure-tag-limits",
    ],
    [
      "65 GCP labels",
      "gcp:storage/bucket:Bucket",
      { name: "mlflow-b", labels: many(65) },
      "gcp-label-limits",
    ],
    [
      "an upper-case GCP label key",
      "gcp:storage/bucket:Bucket",
      { name: "mlflow-b", labels: { Env: "dev" } },
      "gcp-label-limits",
    ],
    [
      "a GCP label key beginning with a digit",
      "gcp:storage/bucket:Bucket",
      { name: "mlflow-b", labels: { "1env": "dev" } },
      "gcp-label-limits",
    ],
    [
      "an upper-case GCP label value",
      "gcp:storage/bucket:Bucket",
      { name: "mlflow-b", labels: { env: "Prod" } },
      "gcp-label-limits",
    ],
    [
      "a GCP label value of 64",
      "gcp:storage/bucket:Bucket",
      { name: "mlflow-b", labels: { env: x(64) } },
      "gcp-label-limits",
    ],
  ])("refuses %s", async (_what, type, props, policy) => {
    expect(await verdict(resource(type, props))).toEqual([policy]);
  });

  it("allows other resource groups tag names of 512, storage accounts only 128", async () => {
    expect(
      await verdict(resource("azure-native:resources:ResourceGroup", { tags: { [x(512)]: "v" } })),
    ).toEqual([]);
    expect(
      await verdict(resource("azure-native:resources:ResourceGroup", { tags: { [x(513)]: "v" } })),
    ).toEqual(["azure-tag-limits"]);
  });
});

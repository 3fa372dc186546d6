// The config reference: every key the program reads, its type, default and meaning. stacks/config.ts takes
// the allowed key names from here, README's "Config reference" table is generated from it (`npm run docs`),
// and tests/unit/config-reference.test.ts fails when the README, Pulumi.yaml's template prompts or the
// validator's defaults disagree with it.

/** One documented config key, by its path below the project's namespace (`server.container.cpu`). */
export interface ConfigKeyDoc {
  key: string;
  /** What values are allowed, as the README shows it. */
  type: string;
  /** The default the validator applies, when it is a literal; checked against loadSettings by a test. */
  default?: unknown;
  /** The default in words, when it is not a literal (required, generated, the provider's, ...). */
  defaultText?: string;
  meaning: string;
  /** An object whose children are listed as keys of their own. */
  object?: boolean;
}

export const CONFIG_REFERENCE: readonly ConfigKeyDoc[] = [
  {
    key: "artifactStore.backend",
    type: "`s3` \\| `azureBlob` \\| `gcs`",
    default: "s3",
    meaning: "where artifacts live",
  },
  {
    key: "artifactStore.prefix",
    type: "string",
    default: "mlflow",
    meaning: "key prefix inside the bucket/container",
  },
  {
    key: "artifactStore.noncurrentVersionExpirationDays",
    type: "1-3650",
    default: 30,
    meaning: "delete overwritten/deleted object versions after N days",
  },
  {
    key: "artifactStore.abortIncompleteUploadDays",
    type: "1-365",
    default: 7,
    meaning: "abort stalled multipart uploads (S3)",
  },
  {
    key: "artifactStore.azureBlob",
    type: "object",
    defaultText: "required for `azureBlob`",
    meaning: "Azure Blob settings; only with backend `azureBlob`",
    object: true,
  },
  {
    key: "artifactStore.azureBlob.location",
    type: "Azure region",
    defaultText: "required for `azureBlob`",
    meaning: "storage account region, e.g. `westeurope`",
  },
  {
    key: "artifactStore.azureBlob.subscriptionId",
    type: "GUID",
    defaultText: "the provider's",
    meaning: "subscription to deploy into (`ARM_SUBSCRIPTION_ID`, `az login`)",
  },
  {
    key: "artifactStore.azureBlob.resourceGroupName",
    type: "string",
    defaultText: "a new group",
    meaning: "use an existing resource group",
  },
  {
    key: "artifactStore.azureBlob.sasExpiresOn",
    type: "YYYY-MM-DD (future)",
    defaultText: "1 January of the year after next",
    meaning: "expiry of the server's container SAS (rotate by moving it)",
  },
  {
    key: "artifactStore.gcs",
    type: "object",
    defaultText: "required for `gcs`",
    meaning: "GCS settings; only with backend `gcs`",
    object: true,
  },
  {
    key: "artifactStore.gcs.project",
    type: "GCP project id",
    defaultText: "required for `gcs`",
    meaning: "project of the bucket and service account",
  },
  {
    key: "artifactStore.gcs.location",
    type: "GCS location",
    default: "US",
    meaning: "multi-region (`US`, `EU`) or region",
  },
  {
    key: "database.instanceClass",
    type: "RDS class",
    default: "db.t4g.micro",
    meaning:
      "refused if the servers' connection pools (servers × workers × 10) could take more than 80% of its `max_connections`",
  },
  {
    key: "database.engineVersion",
    type: "`14`-`17`",
    default: "17",
    meaning: "PostgreSQL major version",
  },
  {
    key: "database.allocatedStorageGb",
    type: "20-65536",
    default: 20,
    meaning: "initial storage",
  },
  {
    key: "database.maxAllocatedStorageGb",
    type: "= allocated (off) or ≥ 1.1 × allocated",
    default: 100,
    meaning: "storage autoscaling ceiling (RDS refuses one less than 10% above the allocation)",
  },
  {
    key: "database.backupRetentionDays",
    type: "1-35 (≥ 7 if protected)",
    default: 7,
    meaning: "automated backups, point-in-time restore",
  },
  { key: "database.multiAz", type: "boolean", default: false, meaning: "standby in a second zone" },
  {
    key: "server.compute",
    type: "`ec2` \\| `container`",
    default: "ec2",
    meaning: "how the server runs",
  },
  {
    key: "server.mlflowVersion",
    type: "x.y.z",
    defaultText: "the version locked in `server/requirements.txt`",
    meaning: "must equal the lock (see [Upgrading MLflow](#upgrading-mlflow))",
  },
  {
    key: "server.allowedCidrs",
    type: "list of IPv4 CIDRs",
    default: ["0.0.0.0/0"],
    meaning: "who may reach HTTP(S); a comma-separated string is accepted too",
  },
  {
    key: "server.adminUsername",
    type: "string",
    default: "admin",
    meaning: "the basic-auth admin user",
  },
  {
    key: "server.workers",
    type: "1-32",
    default: 2,
    meaning: "uvicorn workers per server (measured: server/BENCHMARKS.md)",
  },
  {
    key: "server.instanceType",
    type: "EC2 type",
    default: "t3.small",
    meaning: "ec2: instance type (arm64 types such as `t4g` get an arm64 AMI)",
  },
  {
    key: "server.rootVolumeGb",
    type: "8-1024",
    default: 20,
    meaning: "ec2: root volume (encrypted gp3)",
  },
  {
    key: "server.domain",
    type: "DNS name",
    defaultText: "none",
    meaning:
      "the name clients use, with a Route 53 record the program creates; container: an ACM certificate on the load balancer (required unless `allowPlainHttp`); ec2: the ACME certificate names it instead of the Elastic IP",
  },
  {
    key: "server.hostedZoneId",
    type: "Route 53 zone id",
    defaultText: "required with `domain`",
    meaning: "the zone that holds `domain`",
  },
  {
    key: "server.allowPlainHttp",
    type: "boolean",
    default: false,
    meaning:
      "serve plain HTTP instead of HTTPS (e.g. on a private network): credentials cross the network in clear; the plan warns, and the policy pack refuses it when `allowedCidrs` admits the world",
  },
  {
    key: "server.acme",
    type: "object",
    defaultText: "the values below",
    meaning: "ec2 only: how the server gets its certificate (see [HTTPS](#https))",
    object: true,
  },
  {
    key: "server.acme.directoryUrl",
    type: "https URL",
    default: "https://acme-v02.api.letsencrypt.org/directory",
    meaning: "ACME directory (Let's Encrypt production; staging or an internal CA for tests)",
  },
  {
    key: "server.acme.email",
    type: "email",
    defaultText: "none",
    meaning: "ACME account contact (optional)",
  },
  {
    key: "server.acme.challenge",
    type: "`http-01` \\| `dns-01`",
    default: "http-01",
    meaning:
      "`http-01`: port 80 open to the world for the CA (challenge and redirect only); `dns-01`: needs `domain`, a TXT record in its zone, port 80 closed",
  },
  {
    key: "server.logRetentionDays",
    type: "CloudWatch value",
    default: 30,
    meaning: "retention of the container logs and of the database's PostgreSQL log",
  },
  {
    key: "server.gcRetentionDays",
    type: "1-3650",
    default: 30,
    meaning: "deleted runs older than this are purged weekly",
  },
  {
    key: "server.container",
    type: "object",
    defaultText: "the values below",
    meaning: "container only",
    object: true,
  },
  {
    key: "server.container.cpu",
    type: "256 \\| 512 \\| 1024 \\| 2048 \\| 4096",
    default: 1024,
    meaning: "Fargate CPU units per task",
  },
  {
    key: "server.container.memoryMb",
    type: "2-8 × cpu, 30720 at most",
    default: 2048,
    meaning: "memory per task",
  },
  {
    key: "server.container.desiredCount",
    type: "min-max",
    default: 2,
    meaning: "tasks at deploy",
  },
  { key: "server.container.minCount", type: "1-50", default: 2, meaning: "autoscaling floor" },
  { key: "server.container.maxCount", type: "min-50", default: 4, meaning: "autoscaling ceiling" },
  {
    key: "server.container.targetCpuPercent",
    type: "10-90",
    default: 60,
    meaning: "CPU target tracking",
  },
  {
    key: "server.container.imageRetentionCount",
    type: "1-1000",
    default: 10,
    meaning: "images the ECR repository keeps",
  },
  {
    key: "network.cidrBlock",
    type: "IPv4 /16-/24",
    default: "10.42.0.0/16",
    meaning: "VPC range",
  },
  {
    key: "network.availabilityZoneCount",
    type: "2-6",
    default: 2,
    meaning: "zones for subnets",
  },
  {
    key: "network.availabilityZoneIds",
    type: "list of zone ids",
    defaultText: "chosen: standard zones by name that offer `server.instanceType`",
    meaning:
      "pin the subnets' zones (e.g. `[use1-az1, use1-az2]`, as many as `availabilityZoneCount`); zone ids name the same physical zone in every account",
  },
  {
    key: "tags",
    type: "map",
    default: {},
    meaning: "extra tags on every taggable resource",
  },
  {
    key: "alarmEmails",
    type: "list of emails",
    default: [],
    meaning:
      "subscribed to the alarm topic (confirm the email AWS sends); a protected stack needs this or `alarmTopicArn`",
  },
  {
    key: "alarmTopicArn",
    type: "SNS topic ARN",
    defaultText: "a new topic",
    meaning:
      "an existing topic (same region) the alarms notify instead; its access policy must let CloudWatch and RDS publish",
  },
  {
    key: "protect",
    type: "boolean",
    default: false,
    meaning:
      "deletion protection, retained storage, final snapshot, recoverable secrets; required on `prod*` stacks",
  },
  {
    key: "adminPassword",
    type: "secret string ≥ 12",
    defaultText: "generated",
    meaning: "set with `pulumi config set --secret adminPassword`",
  },
];

/** Keys outside the project's namespace that the program reads. */
export const FOREIGN_CONFIG_REFERENCE: readonly ConfigKeyDoc[] = [
  {
    key: "aws:region",
    type: "AWS region",
    default: "us-east-1",
    meaning: "region of everything on AWS",
  },
];

/** The names directly below `parent` ("" for the top level), in reference order. */
export function childKeys(parent: string): string[] {
  const prefix = parent === "" ? "" : `${parent}.`;
  const names = CONFIG_REFERENCE.filter((doc) => doc.key.startsWith(prefix)).map(
    (doc) => doc.key.slice(prefix.length).split(".")[0],
  );
  return [...new Set(names)];
}

/** The documented key at a path, if any. */
export function findKey(key: string): ConfigKeyDoc | undefined {
  return [...CONFIG_REFERENCE, ...FOREIGN_CONFIG_REFERENCE].find((doc) => doc.key === key);
}

function showDefault(doc: ConfigKeyDoc): string {
  if (doc.defaultText !== undefined) return doc.defaultText;
  return typeof doc.default === "string" ? `\`${doc.default}\`` : `\`${JSON.stringify(doc.default)}\``;
}

/** The README table: one row per key, nested keys by their full path. */
export function renderConfigReference(): string {
  const rows = [...CONFIG_REFERENCE, ...FOREIGN_CONFIG_REFERENCE].map(
    (doc) => `| \`${doc.key}\` | ${doc.type} | ${showDefault(doc)} | ${doc.meaning} |`,
  );
  return ["| key | allowed | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

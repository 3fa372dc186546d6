// The config reference: every key the program reads, its type, default and meaning. stacks/config.ts takes
// the allowed key names from here, README's "Config reference" table is generated from it (`npm run docs`),
// and tests/unit/config-reference.test.ts fails when the README, Pulumi.yaml's template prompts or the
// validator's defaults disagree with it. Each artifact backend documents its own options in its file.
import type { ConfigKeyDoc } from "../components/configReader";
import { ARTIFACT_BACKENDS, ArtifactBackendName } from "../components/enums";
import { artifactBackend } from "../components/registry";
import { DEFAULTS } from "../components/defaults";

export type { ConfigKeyDoc };

/** The keys every stack has; each artifact backend documents its own options (configReference). */
const COMMON_REFERENCE: readonly ConfigKeyDoc[] = [
  {
    key: "artifactStore.backend",
    type: ARTIFACT_BACKENDS.map((name) => `\`${name}\``).join(" \\| "),
    default: DEFAULTS.artifactStore.backend,
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

/** A backend's documented keys (`artifactStore.<name>` and below); loads that backend only. */
function backendReference(name: ArtifactBackendName): ConfigKeyDoc[] {
  const options = artifactBackend(name).stackConfig;
  if (!options) return [];
  const key = `artifactStore.${name}`;
  const required = `required for \`${name}\``;
  return [
    {
      key,
      type: "object",
      defaultText: required,
      meaning: `${options.title} settings; only with backend \`${name}\``,
      object: true,
    },
    ...options.reference.map((doc) => ({ ...doc, key: `${key}.${doc.key}` })),
  ];
}

/**
 * Every documented key of the project's namespace, in README order: each backend's options follow the
 * common artifactStore keys. Loads every backend (for the docs and their tests, not for a deploy).
 */
export function configReference(): readonly ConfigKeyDoc[] {
  const afterStore = COMMON_REFERENCE.findIndex((doc) => !doc.key.startsWith("artifactStore."));
  return [
    ...COMMON_REFERENCE.slice(0, afterStore),
    ...ARTIFACT_BACKENDS.flatMap(backendReference),
    ...COMMON_REFERENCE.slice(afterStore),
  ];
}

/**
 * The names directly below `parent` ("" for the top level), in reference order. Below `artifactStore` these
 * are the common keys and every backend's name; below `artifactStore.<name>`, that backend's keys (only its
 * file is loaded, so a stack reads no other backend).
 */
export function childKeys(parent: string): string[] {
  const backend = ARTIFACT_BACKENDS.find((name) => `${parent}.`.startsWith(`artifactStore.${name}.`));
  const docs = backend ? backendReference(backend) : COMMON_REFERENCE;
  const prefix = parent === "" ? "" : `${parent}.`;
  const names = docs
    .filter((doc) => doc.key.startsWith(prefix))
    .map((doc) => doc.key.slice(prefix.length).split(".")[0])
    .filter((name) => name !== "");
  return [...new Set([...names, ...(parent === "artifactStore" ? ARTIFACT_BACKENDS : [])])];
}

/** The documented key at a path, if any. */
export function findKey(key: string): ConfigKeyDoc | undefined {
  return [...configReference(), ...FOREIGN_CONFIG_REFERENCE].find((doc) => doc.key === key);
}

function showDefault(doc: ConfigKeyDoc): string {
  if (doc.defaultText !== undefined) return doc.defaultText;
  return typeof doc.default === "string" ? `\`${doc.default}\`` : `\`${JSON.stringify(doc.default)}\``;
}

/** The README table: one row per key, nested keys by their full path. */
export function renderConfigReference(): string {
  const rows = [...configReference(), ...FOREIGN_CONFIG_REFERENCE].map(
    (doc) => `| \`${doc.key}\` | ${doc.type} | ${showDefault(doc)} | ${doc.meaning} |`,
  );
  return ["| key | allowed | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

// Turns raw stack config into typed, defaulted PlatformSettings. Everything invalid stops the program here,
// before any resource is registered, with a message naming the key, the value and what is allowed.
import { getProject, getStack, runtime } from "@pulumi/pulumi";
import { ACME_PATTERNS, pinnedMlflowVersion } from "../server/render";
import { DEFAULTS as COMPONENT_DEFAULTS, lowestStorageCeiling } from "../components/defaults";
import {
  ADMIN_USERNAME,
  ARTIFACT_PREFIX,
  EC2_INSTANCE_TYPE,
  FARGATE_CPU,
  LOG_RETENTION_DAYS,
  POSTGRES_MAJOR_VERSIONS,
  RDS_INSTANCE_CLASS,
  connectionBudget,
  fargateMemoryRange,
} from "../components/validate";
import {
  ACME_CHALLENGES,
  AcmeSettings,
  ARTIFACT_BACKENDS,
  ArtifactBackendName,
  ArtifactStoreSettings,
  BackendOptions,
  DatabaseSettings,
  NetworkSettings,
  PlatformSettings,
  SERVER_COMPUTE_MODES,
  ServerSettings,
} from "./settings";
import { formatIpv4, networkAddress, parseCidr } from "../components/ipv4";
import { childKeys } from "./reference";
import { artifactBackend } from "../components/registry";
import {
  ConfigError,
  Raw,
  bool,
  int,
  object,
  oneOf,
  optionalString,
  requiredString,
  show,
  suggest,
} from "../components/configReader";

export { ConfigError };

export { rdsClassMemoryGib } from "../components/validate";

/** The shipped project's name, and so the namespace of the shipped stack files' keys. */
export const NAMESPACE = "mlflow-platform";

/** Every top-level key of the project's namespace (stacks/reference.ts). */
export const TOP_LEVEL_KEYS = childKeys("");

// The namespace of the stack being loaded: the project's name, as for any Pulumi project (an unqualified
// `pulumi config set` writes there). Set by loadSettings for the error messages of the readers below.
let ns = NAMESPACE;

/**
 * Defaults for every key that has a safe one (DESIGN.md's config contract): the components' own, and the
 * stack's region.
 */
export const DEFAULTS = { ...COMPONENT_DEFAULTS, awsRegion: "us-east-1" };

/** Raw config values as Pulumi hands them to a program: fully-qualified key -> string (JSON for objects). */
export type RawConfig = Record<string, string>;

/**
 * Validates and defaults a stack's config. `raw` is `pulumi.runtime.allConfig()`: fully-qualified keys,
 * structured values as JSON strings. `now` is the clock dated keys are checked against (tests pass a fixed one).
 */
export function loadSettings(
  raw: RawConfig,
  project: string,
  stack: string,
  now: Date = new Date(),
): PlatformSettings {
  ns = project;
  try {
    return readSettings(raw, project, stack, now);
  } finally {
    ns = NAMESPACE;
  }
}

function readSettings(raw: RawConfig, project: string, stack: string, now: Date): PlatformSettings {
  const own: Raw = {};
  const dotted: [string[], unknown][] = [];
  for (const [fullKey, value] of Object.entries(raw)) {
    const [namespace, ...rest] = fullKey.split(":");
    if (namespace === NAMESPACE && project !== NAMESPACE) {
      // Stack files copied from this repository by `pulumi new` keep the shipped project's namespace.
      throw new ConfigError(
        `${fullKey}: this project is named "${project}", so its config keys are "${project}:..."; allowed: rename the key to ${project}:${rest.join(":")} (the stack files in this repository are written for a project named ${NAMESPACE}), or name the project ${NAMESPACE}`,
      );
    }
    if (namespace !== project) continue;
    const key = rest.join(":");
    // `pulumi config set a.b v` without --path, and `pulumi new`'s template prompts, store a dotted key
    // as one flat name; it means the same as the nested key.
    const path = key.split(".");
    if (!TOP_LEVEL_KEYS.includes(path[0])) {
      throw new ConfigError(
        `${ns}:${key}: unknown config key${suggest(path[0], TOP_LEVEL_KEYS)}; allowed keys: ${TOP_LEVEL_KEYS.join(", ")}`,
      );
    }
    if (path.length === 1) own[key] = parseJson(value);
    else dotted.push([path, parseJson(value)]);
  }
  // A dotted key wins over the same setting inside its object: it is the more specific, later edit
  // (`pulumi new` adds its prompted values beside a copied stack file's objects).
  for (const [path, value] of dotted) setPath(own, path, value);

  const protect = bool(`${ns}:protect`, own.protect, false);
  if (/^prod/i.test(stack) && !protect) {
    throw new ConfigError(
      `${ns}:protect: got false on stack "${stack}"; allowed: true (a production stack must have deletion protection, retained buckets and final snapshots)`,
    );
  }
  const awsRegion = raw["aws:region"] ?? DEFAULTS.awsRegion;
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(awsRegion)) {
    throw new ConfigError(`aws:region: got "${awsRegion}"; allowed: an AWS region such as us-east-1`);
  }

  const settings: PlatformSettings = {
    project,
    stack,
    awsRegion,
    protect,
    tags: readTags(own.tags),
    alarmEmails: readAlarmEmails(own.alarmEmails),
    alarmTopicArn: readAlarmTopicArn(own.alarmTopicArn, awsRegion),
    network: readNetwork(own.network),
    artifactStore: readArtifactStore(own.artifactStore, now),
    database: readDatabase(own.database, protect),
    server: readServer(own.server),
  };
  checkAlarmRecipients(settings);
  checkConnectionBudget(settings);
  checkBackendTagNames(settings);
  if (own.adminPassword !== undefined) {
    const password = own.adminPassword;
    // Never echo a secret value in an error.
    if (typeof password !== "string" || password.length < 12) {
      throw new ConfigError(
        `${ns}:adminPassword: the value is too short or not a string; allowed: a string of at least 12 characters (set it with \`pulumi config set --secret ${ns}:adminPassword\`)`,
      );
    }
  }
  return settings;
}

function readTags(value: unknown): Record<string, string> {
  const key = `${ns}:tags`;
  const tags = object(key, value ?? {}, undefined);
  for (const [name, tagValue] of Object.entries(tags)) {
    if (
      typeof tagValue !== "string" ||
      tagValue.length > 256 ||
      name.length > 128 ||
      name.startsWith("aws:")
    ) {
      throw new ConfigError(
        `${key}.${name}: got ${show(tagValue)}; allowed: string values up to 256 characters, names up to 128 not starting with "aws:"`,
      );
    }
  }
  return tags as Record<string, string>;
}

/** Tag names the backend's cloud refuses (the tags reach its resources). */
function checkBackendTagNames(settings: PlatformSettings): void {
  const { backend } = settings.artifactStore;
  const rule = artifactBackend(backend).tagNames;
  const refused = rule && Object.keys(settings.tags).find((name) => rule.refused.test(name));
  if (rule && refused !== undefined) {
    throw new ConfigError(
      `${ns}:tags.${refused}: got a tag name ${rule.cloud} rejects while ${ns}:artifactStore.backend is "${backend}"; allowed: ${rule.allowed}`,
    );
  }
}

function readAlarmEmails(value: unknown): string[] {
  const key = `${ns}:alarmEmails`;
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new ConfigError(`${key}: got ${show(value)}; allowed: a list of email addresses`);
  return value.map((email, i) =>
    requiredString(
      `${key}[${i}]`,
      email,
      /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
      "an email address such as oncall@example.com",
    ),
  );
}

/** The AWS partition of a region the config accepts (GovCloud and China have their own). */
export function partitionOf(region: string): string {
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("cn-")) return "aws-cn";
  return "aws";
}

function readAlarmTopicArn(value: unknown, awsRegion: string): string | undefined {
  const key = `${ns}:alarmTopicArn`;
  const partition = partitionOf(awsRegion);
  const arn = optionalString(
    key,
    value,
    /^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/,
    `the ARN of an existing standard SNS topic such as arn:${partition}:sns:${awsRegion}:123456789012:oncall`,
  );
  const [, arnPartition, , arnRegion] = arn?.split(":") ?? [];
  if (arn !== undefined && (arnPartition !== partition || arnRegion !== awsRegion)) {
    // CloudWatch alarm actions and RDS event subscriptions notify topics of their own region only.
    throw new ConfigError(
      `${key}: got "${arn}" for a stack in ${awsRegion}; allowed: a topic in ${awsRegion} (arn:${partition}:sns:${awsRegion}:...)`,
    );
  }
  return arn;
}

/** A protected stack's alarms must reach someone: an alarm topic nobody reads is a silent outage. */
function checkAlarmRecipients(settings: PlatformSettings): void {
  if (settings.protect && settings.alarmEmails.length === 0 && settings.alarmTopicArn === undefined) {
    throw new ConfigError(
      `${ns}:alarmEmails: missing on a protected stack (protect: true), whose alarms would notify a topic with no subscribers; allowed: a list of at least one email address such as ["oncall@example.com"], or ${ns}:alarmTopicArn: an existing SNS topic that pages your team`,
    );
  }
}

function readNetwork(value: unknown): NetworkSettings {
  const key = `${ns}:network`;
  const raw = object(key, value ?? {}, childKeys("network"));
  const d = DEFAULTS.network;
  const cidrBlock = cidr(`${key}.cidrBlock`, raw.cidrBlock ?? d.cidrBlock);
  const prefixLength = Number(cidrBlock.split("/")[1]);
  if (prefixLength < 16 || prefixLength > 24) {
    throw new ConfigError(
      `${key}.cidrBlock: got "${cidrBlock}"; allowed: an IPv4 CIDR with a prefix length from /16 to /24`,
    );
  }
  const availabilityZoneIds = readZoneIds(`${key}.availabilityZoneIds`, raw.availabilityZoneIds);
  const availabilityZoneCount = int(
    `${key}.availabilityZoneCount`,
    raw.availabilityZoneCount,
    availabilityZoneIds?.length ?? d.availabilityZoneCount,
    2,
    6,
  );
  if (availabilityZoneIds && availabilityZoneIds.length !== availabilityZoneCount) {
    throw new ConfigError(
      `${key}.availabilityZoneIds: got ${availabilityZoneIds.length} zones while ${key}.availabilityZoneCount is ${availabilityZoneCount}; allowed: exactly ${availabilityZoneCount} zone ids, or leave availabilityZoneCount out`,
    );
  }
  return availabilityZoneIds
    ? { cidrBlock, availabilityZoneCount, availabilityZoneIds }
    : { cidrBlock, availabilityZoneCount };
}

function readZoneIds(key: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const description = "a list of 2 to 6 different availability zone ids such as [use1-az1, use1-az2]";
  if (!Array.isArray(value) || value.length < 2 || value.length > 6) {
    throw new ConfigError(`${key}: got ${show(value)}; allowed: ${description}`);
  }
  const ids = value.map((id, i) => requiredString(`${key}[${i}]`, id, /^[a-z]+\d+-az\d+$/, description));
  if (new Set(ids).size !== ids.length) {
    throw new ConfigError(`${key}: got ${show(value)}, which names a zone twice; allowed: ${description}`);
  }
  return ids;
}

function readArtifactStore(value: unknown, now: Date): ArtifactStoreSettings {
  const key = `${ns}:artifactStore`;
  const raw = object(key, value ?? {}, childKeys("artifactStore"));
  const d = DEFAULTS.artifactStore;
  const backend = oneOf(`${key}.backend`, raw.backend, d.backend, ARTIFACT_BACKENDS);
  const prefix = raw.prefix ?? d.prefix;
  if (typeof prefix !== "string" || !ARTIFACT_PREFIX.test(prefix) || prefix.includes("//")) {
    throw new ConfigError(
      `${key}.prefix: got ${show(prefix)}; allowed: 2-64 characters of a-z, 0-9, "-", "_" and "/", not starting or ending with "/"`,
    );
  }
  const settings: ArtifactStoreSettings = {
    backend,
    prefix,
    noncurrentVersionExpirationDays: int(
      `${key}.noncurrentVersionExpirationDays`,
      raw.noncurrentVersionExpirationDays,
      d.noncurrentVersionExpirationDays,
      1,
      3650,
    ),
    abortIncompleteUploadDays: int(
      `${key}.abortIncompleteUploadDays`,
      raw.abortIncompleteUploadDays,
      d.abortIncompleteUploadDays,
      1,
      365,
    ),
  };
  return { ...settings, ...readBackendOptions(key, raw, backend, now) };
}

/**
 * `artifactStore.<backend>`: the chosen backend's options, read by the backend (its `stackConfig`); the
 * options of another backend are refused, so a half-done switch of backends is not silently ignored.
 */
function readBackendOptions(key: string, raw: Raw, backend: ArtifactBackendName, now: Date): BackendOptions {
  for (const other of ARTIFACT_BACKENDS) {
    if (other !== backend && raw[other] !== undefined) {
      throw new ConfigError(
        `${key}.${other}: set while ${key}.backend is "${backend}"; allowed: remove it, or set backend: ${other}`,
      );
    }
  }
  const config = artifactBackend(backend).stackConfig;
  const ownKey = `${key}.${backend}`;
  if (!config) {
    if (raw[backend] === undefined) return {};
    throw new ConfigError(
      `${ownKey}: got ${show(raw[backend])}; allowed: nothing (the ${backend} backend has no options)`,
    );
  }
  if (raw[backend] === undefined) {
    throw new ConfigError(
      `${ownKey}: missing while ${key}.backend is "${backend}"; allowed: ${config.shape}`,
    );
  }
  const own = object(ownKey, raw[backend], childKeys(`artifactStore.${backend}`));
  return { [backend]: config.read(ownKey, own, now) };
}

function readDatabase(value: unknown, protect: boolean): DatabaseSettings {
  const key = `${ns}:database`;
  const raw = object(key, value ?? {}, childKeys("database"));
  const d = DEFAULTS.database;
  const allocatedStorageGb = int(
    `${key}.allocatedStorageGb`,
    raw.allocatedStorageGb,
    d.allocatedStorageGb,
    20,
    65536,
  );
  const maxKey = `${key}.maxAllocatedStorageGb`;
  const lowestCeiling = lowestStorageCeiling(allocatedStorageGb);
  const maxAllocatedStorageGb = int(
    maxKey,
    raw.maxAllocatedStorageGb,
    // The default ceiling where RDS takes it, else autoscaling off (an allocation of 91 GiB or more).
    d.maxAllocatedStorageGb >= lowestCeiling ? d.maxAllocatedStorageGb : allocatedStorageGb,
    allocatedStorageGb,
    65536,
  );
  if (maxAllocatedStorageGb > allocatedStorageGb && maxAllocatedStorageGb < lowestCeiling) {
    throw new ConfigError(
      `${maxKey}: got ${maxAllocatedStorageGb} with ${key}.allocatedStorageGb ${allocatedStorageGb}; allowed: ${allocatedStorageGb} (storage autoscaling off) or ${lowestCeiling} to 65536 (RDS requires the autoscaling ceiling at least 10% above the allocation)`,
    );
  }
  const settings: DatabaseSettings = {
    instanceClass: requiredString(
      `${key}.instanceClass`,
      raw.instanceClass ?? d.instanceClass,
      RDS_INSTANCE_CLASS,
      "an RDS instance class such as db.t4g.micro or db.m7g.large",
    ),
    engineVersion: String(
      oneOf(`${key}.engineVersion`, raw.engineVersion, d.engineVersion, POSTGRES_MAJOR_VERSIONS),
    ),
    allocatedStorageGb,
    maxAllocatedStorageGb,
    backupRetentionDays: int(
      `${key}.backupRetentionDays`,
      raw.backupRetentionDays,
      d.backupRetentionDays,
      1,
      35,
    ),
    multiAz: bool(`${key}.multiAz`, raw.multiAz, d.multiAz),
  };
  if (protect && settings.backupRetentionDays < 7) {
    throw new ConfigError(
      `${key}.backupRetentionDays: got ${settings.backupRetentionDays} with protect: true; allowed: 7 to 35 for a protected stack`,
    );
  }
  return settings;
}

function readServer(value: unknown): ServerSettings {
  const key = `${ns}:server`;
  const raw = object(key, value ?? {}, childKeys("server"));
  const d = DEFAULTS.server;
  const compute = oneOf(`${key}.compute`, raw.compute, d.compute, SERVER_COMPUTE_MODES);

  const mlflowVersion = raw.mlflowVersion ?? d.mlflowVersion;
  if (typeof mlflowVersion !== "string" || !/^\d+\.\d+\.\d+$/.test(mlflowVersion)) {
    throw new ConfigError(
      `${key}.mlflowVersion: got ${show(mlflowVersion)}; allowed: a version such as 3.18.0`,
    );
  }
  const locked = pinnedMlflowVersion();
  if (mlflowVersion !== locked) {
    throw new ConfigError(
      `${key}.mlflowVersion: got "${mlflowVersion}" but server/requirements.txt locks mlflow==${locked}; allowed: ${locked} (to upgrade, change server/requirements.in and re-lock, see README "Upgrading MLflow")`,
    );
  }

  // A template prompt or a flat `pulumi config set` gives a string: accept "a/8, b/16".
  const given = raw.allowedCidrs;
  const cidrs = typeof given === "string" ? given.split(",").map((c) => c.trim()) : (given ?? d.allowedCidrs);
  if (!Array.isArray(cidrs) || cidrs.length === 0) {
    throw new ConfigError(`${key}.allowedCidrs: got ${show(cidrs)}; allowed: a non-empty list of CIDRs`);
  }
  const allowedCidrs = cidrs.map((c, i) => cidr(`${key}.allowedCidrs[${i}]`, c));

  const domain = optionalString(
    `${key}.domain`,
    raw.domain,
    /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    "a lower-case DNS name such as mlflow.example.com",
  );
  const hostedZoneId = optionalString(
    `${key}.hostedZoneId`,
    raw.hostedZoneId,
    ACME_PATTERNS.hostedZoneId,
    "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
  );
  if (domain && !hostedZoneId) {
    throw new ConfigError(
      `${key}.hostedZoneId: missing while ${key}.domain is "${domain}"; allowed: the Route 53 zone id that holds the domain (its record and certificate validation are created there)`,
    );
  }
  if (hostedZoneId && !domain) {
    throw new ConfigError(
      `${key}.domain: missing while ${key}.hostedZoneId is set; allowed: set both or neither`,
    );
  }
  const rawContainer = object(`${key}.container`, raw.container ?? {}, childKeys("server.container"));
  if (raw.container !== undefined && compute !== "container") {
    throw new ConfigError(
      `${key}.container: set while ${key}.compute is "${compute}"; allowed: remove it, or set compute: container`,
    );
  }
  const dc = d.container;
  const ck = `${key}.container`;
  const cpu = oneOf(`${ck}.cpu`, rawContainer.cpu, dc.cpu, FARGATE_CPU);
  const memory = fargateMemoryRange(cpu);
  const memoryMb = int(
    `${ck}.memoryMb`,
    rawContainer.memoryMb,
    Math.max(dc.memoryMb, memory.min),
    memory.min,
    memory.max,
  );
  if (memoryMb % 1024 !== 0 && memoryMb !== 512) {
    throw new ConfigError(
      `${ck}.memoryMb: got ${memoryMb}; allowed: a multiple of 1024 from ${memory.min} to ${memory.max} for cpu ${cpu}`,
    );
  }
  const minCount = int(`${ck}.minCount`, rawContainer.minCount, dc.minCount, 1, 50);
  const maxCount = int(
    `${ck}.maxCount`,
    rawContainer.maxCount,
    Math.max(dc.maxCount, minCount),
    minCount,
    50,
  );
  const desiredCount = int(
    `${ck}.desiredCount`,
    rawContainer.desiredCount,
    Math.min(Math.max(dc.desiredCount, minCount), maxCount),
    minCount,
    maxCount,
  );

  const server: Omit<ServerSettings, "allowPlainHttp" | "acme"> = {
    compute,
    mlflowVersion,
    allowedCidrs,
    adminUsername: requiredString(
      `${key}.adminUsername`,
      raw.adminUsername ?? d.adminUsername,
      ADMIN_USERNAME,
      "3-32 letters, digits, _ . - starting with a letter",
    ),
    workers: int(`${key}.workers`, raw.workers, d.workers, 1, 32),
    instanceType: requiredString(
      `${key}.instanceType`,
      raw.instanceType ?? d.instanceType,
      EC2_INSTANCE_TYPE,
      "an EC2 instance type such as t3.small",
    ),
    rootVolumeGb: int(`${key}.rootVolumeGb`, raw.rootVolumeGb, d.rootVolumeGb, 8, 1024),
    domain,
    hostedZoneId,
    logRetentionDays: oneOf(
      `${key}.logRetentionDays`,
      raw.logRetentionDays,
      d.logRetentionDays,
      LOG_RETENTION_DAYS,
    ),
    gcRetentionDays: int(`${key}.gcRetentionDays`, raw.gcRetentionDays, d.gcRetentionDays, 1, 3650),
    container: {
      cpu,
      memoryMb,
      desiredCount,
      minCount,
      maxCount,
      targetCpuPercent: int(
        `${ck}.targetCpuPercent`,
        rawContainer.targetCpuPercent,
        dc.targetCpuPercent,
        10,
        90,
      ),
      imageRetentionCount: int(
        `${ck}.imageRetentionCount`,
        rawContainer.imageRetentionCount,
        dc.imageRetentionCount,
        1,
        1000,
      ),
    },
  };
  // Last, so that a container stack's other mistakes are reported as themselves.
  const allowPlainHttp = bool(`${key}.allowPlainHttp`, raw.allowPlainHttp, d.allowPlainHttp);
  checkTransport(key, { compute, domain, allowPlainHttp, acmeGiven: raw.acme !== undefined });
  return { ...server, allowPlainHttp, acme: readAcme(`${key}.acme`, raw.acme, domain) };
}

/**
 * HTTPS is the default on every compute mode; plain HTTP only with an explicit `allowPlainHttp: true`.
 * Container mode's load balancer is internet-facing, and its TLS needs `domain` (ACM); EC2 needs nothing.
 */
function checkTransport(
  key: string,
  s: { compute: string; domain?: string; allowPlainHttp: boolean; acmeGiven: boolean },
): void {
  if (s.allowPlainHttp && s.domain) {
    throw new ConfigError(
      `${key}.allowPlainHttp: true while ${key}.domain is "${s.domain}"; allowed: remove allowPlainHttp (the domain is served over HTTPS), or remove the domain`,
    );
  }
  if (s.compute === "container" && !s.domain && !s.allowPlainHttp) {
    throw new ConfigError(
      `${key}.domain: missing while ${key}.compute is "container", whose internet-facing load balancer would serve credentials in clear over HTTP; allowed: ${key}.domain and ${key}.hostedZoneId (HTTPS with an ACM certificate), or ${key}.allowPlainHttp: true to serve plain HTTP deliberately (e.g. to private CIDRs only)`,
    );
  }
  if (s.acmeGiven && (s.compute !== "ec2" || s.allowPlainHttp)) {
    throw new ConfigError(
      `${key}.acme: set while ${s.allowPlainHttp ? `${key}.allowPlainHttp is true` : `${key}.compute is "${s.compute}" (ACM issues the load balancer's certificate)`}; allowed: remove it (it configures the EC2 server's ACME client)`,
    );
  }
}

function readAcme(key: string, value: unknown, domain: string | undefined): AcmeSettings {
  const raw = object(key, value ?? {}, childKeys("server.acme"));
  const d = DEFAULTS.server.acme;
  const directoryUrl = requiredString(
    `${key}.directoryUrl`,
    raw.directoryUrl ?? d.directoryUrl,
    ACME_PATTERNS.directoryUrl,
    `an https URL of an ACME directory such as ${d.directoryUrl} (the default)`,
  );
  const email = optionalString(
    `${key}.email`,
    raw.email,
    ACME_PATTERNS.email,
    "an email address such as mlflow-admins@example.com (or leave it out: no contact)",
  );
  const challenge = oneOf(`${key}.challenge`, raw.challenge, d.challenge, ACME_CHALLENGES);
  if (challenge === "dns-01" && !domain) {
    throw new ConfigError(
      `${key}.challenge: got "dns-01" without ${ns}:server.domain; allowed: http-01 (the certificate names the Elastic IP, which only http-01 can prove), or set server.domain and server.hostedZoneId (the TXT record is written in that Route 53 zone)`,
    );
  }
  return email === undefined ? { directoryUrl, challenge } : { directoryUrl, email, challenge };
}

/** Refuses a plan whose servers could take more than 80% of PostgreSQL's connections (connectionBudget). */
function checkConnectionBudget(settings: PlatformSettings): void {
  const { compute, workers } = settings.server;
  const budget = connectionBudget(settings.database.instanceClass, settings.server);
  if (budget && !budget.fits) {
    throw new ConfigError(
      `${ns}:database.instanceClass: got "${settings.database.instanceClass}", whose PostgreSQL allows about ${budget.maxConnections} connections, but the servers may open ${budget.needed} (${budget.servers} server(s) x ${workers} workers x ${budget.perWorker}); allowed: a class with more memory, or fewer server.workers${compute === "container" ? " or server.container.maxCount" : ""}`,
    );
  }
}

// ---- small typed readers; each names the key in its error ----

/** Sets own.a.b.c = value, creating objects on the way; refuses to descend into a non-object. */
function setPath(own: Raw, path: string[], value: unknown): void {
  let node = own;
  for (let i = 0; i < path.length - 1; i++) {
    const next = node[path[i]] ?? {};
    if (typeof next !== "object" || next === null || Array.isArray(next)) {
      throw new ConfigError(
        `${ns}:${path.slice(0, i + 1).join(".")}: got ${show(next)} and also ${ns}:${path.join(".")}; allowed: an object with that key, or remove one of them`,
      );
    }
    node = node[path[i]] = { ...(next as Raw) };
  }
  node[path[path.length - 1]] = value;
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value; // plain strings are stored unquoted
  }
}

function cidr(key: string, value: unknown): string {
  const parsed = typeof value === "string" ? parseCidr(value) : undefined;
  if (!parsed) {
    throw new ConfigError(`${key}: got ${show(value)}; allowed: an IPv4 CIDR such as 203.0.113.0/24`);
  }
  const { address, prefixLength: bits } = parsed;
  if (networkAddress(address, bits) !== address) {
    throw new ConfigError(
      `${key}: got "${value}", which has host bits set; allowed: a network address such as ${formatIpv4(networkAddress(address, bits))}/${bits}`,
    );
  }
  return value as string;
}

/** Settings of the stack being deployed, from the Pulumi runtime's config. */
export function loadStackSettings(): PlatformSettings {
  return loadSettings(runtime.allConfig(), getProject(), getStack());
}

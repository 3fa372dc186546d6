// The checks every component makes of its resolved settings before it registers anything, so a library
// caller gets the same safety as a stack (stacks/config.ts checks the stack's keys first, with messages that
// name the config key). Each error names the component, the arg, the value and what is allowed.
import { DEFAULT_POOL, pinnedMlflowVersion } from "../server/render";
import { parseCidr } from "./ipv4";
import { lowestStorageCeiling } from "./defaults";
import type { ArtifactStoreSettings, DatabaseSettings, NetworkSettings, ServerSettings } from "./settings";

/** PostgreSQL major versions RDS offers and the provider accepts. */
export const POSTGRES_MAJOR_VERSIONS = ["14", "15", "16", "17"];
/** Fargate task CPU units. */
export const FARGATE_CPU = [256, 512, 1024, 2048, 4096];
/** The retention periods CloudWatch Logs accepts (a subset: the ones the stack config offers). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653];
/** The artifact key prefix: 2-64 characters, no leading, trailing or double "/". */
export const ARTIFACT_PREFIX = /^[a-z0-9][a-z0-9-_/]{0,62}[a-z0-9]$/;
export const ADMIN_USERNAME = /^[a-zA-Z][a-zA-Z0-9_.-]{2,31}$/;
export const EC2_INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
export const RDS_INSTANCE_CLASS = /^db\.[a-z0-9]+\.[a-z0-9]+$/;

/** The memory (MiB) Fargate accepts with `cpu` units: 2 to 8 GiB per vCPU, except 30 GiB at most for 4 vCPU. */
export function fargateMemoryRange(cpu: number): { min: number; max: number } {
  return { min: cpu * 2, max: Math.min(cpu * 8, 30720) };
}

export type Refuse = (arg: string, value: unknown, allowed: string) => never;

/** Throws "<component>: <arg>: got <value>; allowed: <allowed>". */
export function refuser(component: string): Refuse {
  return (arg, value, allowed) => {
    throw new Error(`${component}: ${arg}: got ${JSON.stringify(value)}; allowed: ${allowed}`);
  };
}

const isInt = (n: unknown, min: number, max: number) =>
  Number.isInteger(n) && (n as number) >= min && (n as number) <= max;

/** Integer ranges, as [arg, value, min, max]: refused when the value is not an integer in range. */
function checkRanges(refuse: Refuse, ranges: [string, unknown, number, number][]): void {
  for (const [arg, value, min, max] of ranges)
    if (!isInt(value, min, max)) refuse(arg, value, `an integer from ${min} to ${max}`);
}

/** Patterns, as [arg, value, pattern, description]. */
export function checkPatterns(refuse: Refuse, patterns: [string, unknown, RegExp, string][]): void {
  for (const [arg, value, pattern, description] of patterns)
    if (typeof value !== "string" || !pattern.test(value)) refuse(arg, value, description);
}

export function checkNetwork(component: string, s: NetworkSettings): void {
  const refuse = refuser(component);
  checkRanges(refuse, [["network.availabilityZoneCount", s.availabilityZoneCount, 2, 6]]);
  const ids = s.availabilityZoneIds;
  if (ids && (ids.length !== s.availabilityZoneCount || new Set(ids).size !== ids.length))
    refuse(
      "network.availabilityZoneIds",
      ids,
      `${s.availabilityZoneCount} different zone ids such as use1-az1`,
    );
  const cidr = parseCidr(s.cidrBlock);
  if (!cidr || cidr.prefixLength < 16 || cidr.prefixLength > 24)
    refuse("network.cidrBlock", s.cidrBlock, "an IPv4 CIDR with a prefix length from /16 to /24");
}

export function checkArtifactStore(component: string, s: ArtifactStoreSettings): void {
  const refuse = refuser(component);
  checkPatterns(refuse, [
    [
      "prefix",
      s.prefix,
      ARTIFACT_PREFIX,
      `2-64 characters of a-z, 0-9, "-", "_" and "/", not starting or ending with "/"`,
    ],
  ]);
  if (s.prefix.includes("//")) refuse("prefix", s.prefix, `no empty path segment ("//")`);
  checkRanges(refuse, [
    ["noncurrentVersionExpirationDays", s.noncurrentVersionExpirationDays, 1, 3650],
    ["abortIncompleteUploadDays", s.abortIncompleteUploadDays, 1, 365],
  ]);
}

export function checkDatabase(component: string, s: DatabaseSettings, protect: boolean): void {
  const refuse = refuser(component);
  checkPatterns(refuse, [
    ["instanceClass", s.instanceClass, RDS_INSTANCE_CLASS, "an RDS instance class such as db.t4g.micro"],
  ]);
  if (!POSTGRES_MAJOR_VERSIONS.includes(String(s.engineVersion)))
    refuse("engineVersion", s.engineVersion, POSTGRES_MAJOR_VERSIONS.join(", "));
  checkRanges(refuse, [["allocatedStorageGb", s.allocatedStorageGb, 20, 65536]]);
  const ceiling = lowestStorageCeiling(s.allocatedStorageGb);
  if (s.maxAllocatedStorageGb !== s.allocatedStorageGb && !isInt(s.maxAllocatedStorageGb, ceiling, 65536))
    refuse(
      "maxAllocatedStorageGb",
      s.maxAllocatedStorageGb,
      `${s.allocatedStorageGb} (autoscaling off) or ${ceiling} to 65536 (RDS requires 10% above the allocation)`,
    );
  // Backups are never off, and a protected database keeps a week of them.
  const fewestBackupDays = protect ? 7 : 1;
  if (!isInt(s.backupRetentionDays, fewestBackupDays, 35))
    refuse(
      "backupRetentionDays",
      s.backupRetentionDays,
      `${fewestBackupDays} to 35${protect ? " (protect: true)" : ""}`,
    );
}

export function checkServer(component: string, s: ServerSettings): void {
  const refuse = refuser(component);
  const locked = pinnedMlflowVersion();
  if (s.mlflowVersion !== locked)
    refuse("mlflowVersion", s.mlflowVersion, `${locked} (server/requirements.txt)`);
  if (s.allowedCidrs.length === 0 || !s.allowedCidrs.every((c) => parseCidr(c)))
    refuse("allowedCidrs", s.allowedCidrs, "a non-empty list of IPv4 CIDRs");
  checkPatterns(refuse, [
    ["adminUsername", s.adminUsername, ADMIN_USERNAME, "3-32 letters, digits, _ . - starting with a letter"],
    ["instanceType", s.instanceType, EC2_INSTANCE_TYPE, "an EC2 instance type such as t3.small"],
  ]);
  checkRanges(refuse, [
    ["workers", s.workers, 1, 32],
    ["rootVolumeGb", s.rootVolumeGb, 8, 1024],
    ["gcRetentionDays", s.gcRetentionDays, 1, 3650],
  ]);
  if (!LOG_RETENTION_DAYS.includes(s.logRetentionDays))
    refuse("logRetentionDays", s.logRetentionDays, LOG_RETENTION_DAYS.join(", "));
  if (Boolean(s.domain) !== Boolean(s.hostedZoneId))
    refuse(
      "hostedZoneId",
      s.hostedZoneId ?? null,
      "set together with domain (the zone that holds it), or neither",
    );
  if (s.allowPlainHttp && s.domain)
    refuse("allowPlainHttp", true, `false while domain is set (${s.domain} is served over HTTPS)`);
  if (s.acme.challenge === "dns-01" && !s.domain)
    refuse("acme.challenge", "dns-01", "http-01 without a domain");
  if (s.compute === "container") checkContainer(refuse, s);
}

function checkContainer(refuse: Refuse, s: ServerSettings): void {
  // The load balancer is internet-facing: HTTPS needs an ACM certificate for a domain.
  if (!s.domain && !s.allowPlainHttp)
    refuse(
      "domain",
      null,
      "a DNS name in hostedZoneId for container compute (HTTPS on the load balancer), or allowPlainHttp: true",
    );
  const c = s.container;
  if (!FARGATE_CPU.includes(c.cpu)) refuse("container.cpu", c.cpu, FARGATE_CPU.join(", "));
  const memory = fargateMemoryRange(c.cpu);
  const fits =
    c.memoryMb >= memory.min && c.memoryMb <= memory.max && (c.memoryMb % 1024 === 0 || c.memoryMb === 512);
  if (!fits)
    refuse("container.memoryMb", c.memoryMb, `a multiple of 1024 from ${memory.min} to ${memory.max}`);
  checkRanges(refuse, [
    ["container.minCount", c.minCount, 1, 50],
    ["container.maxCount", c.maxCount, c.minCount, 50],
    ["container.desiredCount", c.desiredCount, c.minCount, c.maxCount],
    ["container.targetCpuPercent", c.targetCpuPercent, 10, 90],
    ["container.imageRetentionCount", c.imageRetentionCount, 1, 1000],
  ]);
}

/** A password the caller gives as a plain string (an Output is checked by nobody before it resolves). */
export function checkAdminPassword(component: string, password: unknown): void {
  if (typeof password === "string" && password.length < 12)
    refuser(component)("adminPassword", "(hidden)", "at least 12 characters");
}

/** Whether `date` (YYYY-MM-DD) exists, lies after `now` and at most `years` ahead of it (a SAS's expiry). */
export function dateWithinYears(date: string, now: Date, years: number): boolean {
  const time = Date.parse(`${date}T00:00:00Z`);
  const latest = new Date(now);
  latest.setUTCFullYear(latest.getUTCFullYear() + years);
  return (
    !Number.isNaN(time) &&
    new Date(time).toISOString().slice(0, 10) === date &&
    time > now.getTime() &&
    time <= latest.getTime()
  );
}

/** Memory (GiB) of an RDS class for the families whose sizes follow the usual ladder; undefined otherwise. */
export function rdsClassMemoryGib(instanceClass: string): number | undefined {
  const match = /^db\.([a-z]+)(\d+)([a-z]*)\.([a-z0-9]+)$/.exec(instanceClass);
  if (!match) return undefined;
  const [, family, , , size] = match;
  const ladder: Record<string, number> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16 };
  const multiple = /^(\d+)xlarge$/.exec(size);
  const general = ladder[size] ?? (multiple ? 16 * Number(multiple[1]) : undefined);
  if (general === undefined) return undefined;
  // m and t: 4 GiB per vCPU; r: 8; x2: 16.
  const factor: Record<string, number> = { t: 1, m: 1, r: 2, x: 4 };
  return factor[family] === undefined ? undefined : general * factor[family];
}

/**
 * Every server process keeps a SQLAlchemy pool (size + overflow) open to PostgreSQL, whose RDS default
 * max_connections is memory / 9531392 bytes. A plan fits when its servers take at most 80% of it (the rest:
 * the auth app's pool, migrations, gc, and an operator's psql). Undefined for a class of unknown memory.
 */
export function connectionBudget(
  instanceClass: string,
  { compute, workers, container }: Pick<ServerSettings, "compute" | "workers" | "container">,
): { maxConnections: number; needed: number; servers: number; perWorker: number; fits: boolean } | undefined {
  const memoryGib = rdsClassMemoryGib(instanceClass);
  if (memoryGib === undefined) return undefined;
  const maxConnections = Math.floor((memoryGib * 1024 ** 3) / 9531392);
  const servers = compute === "container" ? container.maxCount : 1;
  const perWorker = DEFAULT_POOL.size + DEFAULT_POOL.maxOverflow;
  const needed = servers * workers * perWorker;
  return { maxConnections, needed, servers, perWorker, fits: needed <= 0.8 * maxConnections };
}

// The checks every component makes of its resolved settings before it registers anything, so a library
// caller gets the same safety as a stack (stacks/config.ts checks the stack's keys first, with messages that
// name the config key). Each error names the component, the arg, the value and what is allowed.
import { pinnedMlflowVersion } from "../server/render";
import { parseCidr } from "../stacks/ipv4";
import { lowestStorageCeiling } from "./defaults";
import type { ContainerSettings, DatabaseSettings, NetworkSettings, ServerSettings } from "./settings";

/** PostgreSQL major versions RDS offers and the provider accepts. */
export const POSTGRES_MAJOR_VERSIONS = ["14", "15", "16", "17"];
/** Fargate task CPU units. */
export const FARGATE_CPU = [256, 512, 1024, 2048, 4096];

type Refuse = (arg: string, value: unknown, allowed: string) => never;

function refuser(component: string): Refuse {
  return (arg, value, allowed) => {
    throw new Error(`${component}: ${arg}: got ${JSON.stringify(value)}; allowed: ${allowed}`);
  };
}

const isInt = (n: unknown, min: number, max: number) =>
  Number.isInteger(n) && (n as number) >= min && (n as number) <= max;

export function checkNetwork(component: string, s: NetworkSettings): void {
  const refuse = refuser(component);
  if (!isInt(s.availabilityZoneCount, 2, 6))
    refuse("network.availabilityZoneCount", s.availabilityZoneCount, "2 to 6");
  const ids = s.availabilityZoneIds;
  if (ids && ids.length !== s.availabilityZoneCount)
    refuse(
      "network.availabilityZoneIds",
      ids,
      `${s.availabilityZoneCount} different zone ids such as use1-az1`,
    );
  if (!parseCidr(s.cidrBlock)) refuse("network.cidrBlock", s.cidrBlock, "an IPv4 CIDR such as 10.42.0.0/16");
}

export function checkDatabase(component: string, s: DatabaseSettings, protect: boolean): void {
  const refuse = refuser(component);
  if (!POSTGRES_MAJOR_VERSIONS.includes(String(s.engineVersion)))
    refuse("engineVersion", s.engineVersion, POSTGRES_MAJOR_VERSIONS.join(", "));
  if (!isInt(s.allocatedStorageGb, 20, 65536))
    refuse("allocatedStorageGb", s.allocatedStorageGb, "20 to 65536");
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
  if (!/^[a-zA-Z][a-zA-Z0-9_.-]{2,31}$/.test(s.adminUsername))
    refuse("adminUsername", s.adminUsername, "3-32 letters, digits, _ . - starting with a letter");
  if (!isInt(s.workers, 1, 32)) refuse("workers", s.workers, "1 to 32");
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
  if (s.compute === "container") checkContainer(refuse, s.container);
}

function checkContainer(refuse: Refuse, c: ContainerSettings): void {
  if (!FARGATE_CPU.includes(c.cpu)) refuse("container.cpu", c.cpu, FARGATE_CPU.join(", "));
  const fits =
    c.memoryMb >= c.cpu * 2 && c.memoryMb <= c.cpu * 8 && (c.memoryMb % 1024 === 0 || c.memoryMb === 512);
  if (!fits) refuse("container.memoryMb", c.memoryMb, `a multiple of 1024 from ${c.cpu * 2} to ${c.cpu * 8}`);
  if (!isInt(c.minCount, 1, 50)) refuse("container.minCount", c.minCount, "1 to 50");
  if (!isInt(c.maxCount, c.minCount, 50)) refuse("container.maxCount", c.maxCount, `${c.minCount} to 50`);
  if (!isInt(c.desiredCount, c.minCount, c.maxCount))
    refuse("container.desiredCount", c.desiredCount, `${c.minCount} to ${c.maxCount}`);
}

/** A password the caller gives as a plain string (an Output is checked by nobody before it resolves). */
export function checkAdminPassword(component: string, password: unknown): void {
  if (typeof password === "string" && password.length < 12)
    refuser(component)("adminPassword", "(hidden)", "at least 12 characters");
}

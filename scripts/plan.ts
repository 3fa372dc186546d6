// `npm run plan -- --stack dev`: evaluates the real program for a stack's config with no cloud calls (the
// mock runtime the tests use) and prints what `pulumi up` would create, then a summary: resources by type,
// what is reachable from the internet, and a monthly cost estimate (scripts/cost.ts). Secrets are masked.
// `--json` prints the same as one deterministic, sorted document that `npm run plan:diff` compares between a
// pull request's base and head (scripts/plan-diff.ts).
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CapturedResource, ROOT, SECRET_WRAPPER, evaluateProgram } from "./offline/evaluate";
import { readStackFile, stackFile } from "./offline/stackFiles";
import { CostEstimate, estimateMonthlyCost, formatCostEstimate, mockId } from "./cost";
import { DeploymentEstimate, estimateDeployment, formatDeployment, refId } from "./deploymentGraph";
import { ACME_HTTP_INGRESS_DESCRIPTION } from "../components/compute/ec2";
import { cidrContains } from "../components/ipv4";

/** The inputs the text plan prints for each resource. */
const SHOWN_INPUTS = [
  "instanceType",
  "instanceClass",
  "engine",
  "engineVersion",
  "allocatedStorage",
  "multiAz",
  "publiclyAccessible",
  "storageEncrypted",
  "deletionProtection",
  "backupRetentionPeriod",
  "cidrBlock",
  "availabilityZone",
  "versioningConfiguration",
  "ingress",
  "metadataOptions",
  "rootBlockDevice",
  "desiredCount",
  "cpu",
  "memory",
  "location",
  "kind",
  "sku",
  "minimumTlsVersion",
  "allowBlobPublicAccess",
  "uniformBucketLevelAccess",
  "publicAccessPrevention",
  "protocol",
  "port",
  "sslPolicy",
  "minCapacity",
  "maxCapacity",
  "role",
];

/**
 * The inputs `--json` shows by value: the printed ones, plus what decides exposure, durability and cost. Other
 * inputs (policies, user data, container definitions, tags, ...) appear only as digests, so a diff can name
 * them as changed without printing them.
 */
const JSON_INPUTS = [
  ...SHOWN_INPUTS,
  "associatePublicIpAddress",
  "mapPublicIpOnLaunch",
  "monitoring",
  "disableApiTermination",
  "egress",
  "internal",
  "loadBalancerType",
  "subnets",
  "securityGroups",
  "vpcSecurityGroupIds",
  "enableDeletionProtection",
  "networkConfiguration",
  "launchType",
  "ephemeralStorage",
  "runtimePlatform",
  "storageType",
  "maxAllocatedStorage",
  "skipFinalSnapshot",
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
  "publicAccess",
  "allowSharedKeyAccess",
  "member",
  "members",
  "connectivityType",
  "vpcEndpointType",
  "serviceName",
  "ipProtocol",
  "fromPort",
  "toPort",
  "cidrIpv4",
  "cidrIpv6",
  "referencedSecurityGroupId",
  "securityGroupId",
  "retentionInDays",
  "recoveryWindowInDays",
  "domainName",
  "imageTagMutability",
  "scheduleExpression",
];

export const PLAN_FORMAT_VERSION = 1;
export const SECRET_MASK = "[secret]";

export interface PlanResource {
  type: string;
  name: string;
  /** The parent component (null: a direct child of the stack). */
  parent: { type: string; name: string } | null;
  /** false for components. */
  custom: boolean;
  protect: boolean;
  retainOnDelete: boolean;
  /** Key inputs by value (secrets are "[secret]"). */
  inputs: Record<string, unknown>;
  /** Every other input as a short digest of its masked value: a change shows, the value does not. */
  otherInputs: Record<string, string>;
  /**
   * What the engine waits for before creating it, as `<type> <name>`, sorted: explicit dependsOn and the
   * resources behind its Output inputs.
   */
  dependencies: string[];
}

export interface IngressRule {
  /** "80/tcp", "1024-2048/udp", "all traffic". */
  ports: string;
  /** Source CIDRs outside private address space, sorted. */
  cidrs: string[];
  /** The security group(s) that admit it. */
  via: string;
}

export interface PublicItem {
  /** `<type> <name>`: the identity a diff compares. */
  resource: string;
  kind: string;
  /** Why it is reachable from the internet. */
  why: string;
  /** What the internet reaches: ports and source CIDRs (empty: nothing admitted from public addresses). */
  reachableFrom: IngressRule[];
  /** Load balancer listeners, "443/HTTPS -> forward". */
  listeners?: string[];
}

export interface EgressOnlyItem {
  resource: string;
  why: string;
}

export interface PlanSummary {
  /** Custom resources (what `pulumi up` creates) and components. */
  resourceCount: number;
  componentCount: number;
  /** Count per type, components and providers included. */
  resourcesByType: Record<string, number>;
  /** Everything reachable from the internet, with why. */
  public: PublicItem[];
  /** Internet-facing but outbound only (NAT gateways). */
  egressOnly: EgressOnlyItem[];
  /** Resources that could be public and are not, with the setting that keeps them private. */
  notPublic: string[];
  /** What a reviewer must see before `pulumi up`: plain HTTP (server.allowPlainHttp). */
  warnings: string[];
  cost: CostEstimate;
  /** Creation order, critical path and estimated minutes of a first `pulumi up` (scripts/deploymentGraph.ts). */
  deployment: DeploymentEstimate;
}

export interface PlanDocument {
  formatVersion: number;
  stack: string;
  /** Sorted by type, then name. The stack resource itself is implicit. */
  resources: PlanResource[];
  /** Stack outputs; secret ones are "[secret]". */
  outputs: Record<string, unknown>;
  summary: PlanSummary;
}

// ---- deterministic JSON ----

/** Replaces secret values with "[secret]", sorts object keys and makes checkout paths relative. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (SECRET_WRAPPER in record) return SECRET_MASK;
    return Object.fromEntries(
      Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort()
        .map((k) => [k, canonical(record[k])]),
    );
  }
  // A checkout's location is not a change, should an absolute path ever reach an input (the image build
  // context is relative since tests/unit/compute-container.test.ts checks for it).
  if (typeof value === "string" && value.includes(ROOT)) return value.split(ROOT).join("<root>");
  return value;
}

function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/** Code-unit order, the same on every machine (localeCompare is not). */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function planResource(r: CapturedResource): PlanResource {
  const wrapped = canonical(r.wrappedInputs) as Record<string, unknown>;
  const inputs: Record<string, unknown> = {};
  const otherInputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(wrapped)) {
    if (JSON_INPUTS.includes(key)) inputs[key] = value;
    else otherInputs[key] = digest(value);
  }
  return {
    type: r.type,
    name: r.name,
    parent: r.parent ? { type: r.parent.type, name: r.parent.name } : null,
    custom: r.custom,
    protect: r.protect,
    retainOnDelete: r.retainOnDelete,
    inputs,
    otherInputs,
    dependencies: [...new Set(r.waitsFor.map(refId))].sort(compare),
  };
}

// ---- exposure ----

const PRIVATE_V4 = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10", // carrier-grade NAT
  "127.0.0.0/8",
  "169.254.0.0/16",
];

/** Whether every address of the CIDR is private (not reachable from the internet). */
export function isPrivateCidr(cidr: string): boolean {
  const [address] = cidr.split("/");
  if (address.includes(":")) return /^(f[cd]|fe[89ab])/i.test(address) || address === "::1";
  return PRIVATE_V4.some((range) => cidrContains(range, cidr));
}

interface RawRule {
  protocol: string;
  from: number;
  to: number;
  cidrs: string[];
  groups: string[];
}

function portsOf(rule: { protocol: string; from: number; to: number }): string {
  const protocol = String(rule.protocol).toLowerCase();
  if (protocol === "-1" || protocol === "all") return "all traffic";
  const range = rule.from === rule.to ? String(rule.from) : `${rule.from}-${rule.to}`;
  return `${range}/${protocol}`;
}

function portOrder(ports: string): number {
  const n = parseInt(ports, 10);
  return Number.isNaN(n) ? -1 : n;
}

/** The plan's custom resources of a type, by name. */
type OfType = (type: string) => CapturedResource[];

const resourceId = (r: CapturedResource) => `${r.type} ${r.name}`;

/** Every ingress rule of a security group: inline, and separate rule resources. */
function ingressRulesOf(group: CapturedResource, ofType: OfType): RawRule[] {
  const gid = mockId(group);
  const list = (v: unknown) => ((v ?? []) as unknown[]).map(String);
  const rules: RawRule[] = ((group.inputs.ingress ?? []) as Record<string, unknown>[]).map((i) => ({
    protocol: String(i.protocol),
    from: Number(i.fromPort),
    to: Number(i.toPort),
    cidrs: [...list(i.cidrBlocks), ...list(i.ipv6CidrBlocks)],
    groups: [...list(i.securityGroups), ...(i.self ? [gid] : [])],
  }));
  for (const r of ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) {
    if (r.inputs.securityGroupId !== gid) continue;
    rules.push({
      protocol: String(r.inputs.ipProtocol),
      from: Number(r.inputs.fromPort),
      to: Number(r.inputs.toPort),
      cidrs: [r.inputs.cidrIpv4, r.inputs.cidrIpv6].filter((c): c is string => typeof c === "string"),
      groups:
        typeof r.inputs.referencedSecurityGroupId === "string" ? [r.inputs.referencedSecurityGroupId] : [],
    });
  }
  for (const r of ofType("aws:ec2/securityGroupRule:SecurityGroupRule")) {
    if (r.inputs.securityGroupId !== gid || r.inputs.type !== "ingress") continue;
    rules.push({
      protocol: String(r.inputs.protocol),
      from: Number(r.inputs.fromPort),
      to: Number(r.inputs.toPort),
      cidrs: [...list(r.inputs.cidrBlocks), ...list(r.inputs.ipv6CidrBlocks)],
      groups: typeof r.inputs.sourceSecurityGroupId === "string" ? [r.inputs.sourceSecurityGroupId] : [],
    });
  }
  return rules;
}

/** "80/tcp, 443/tcp from 198.51.100.0/24 (security group x)": ports with the same sources merged. */
function describeReach(rules: IngressRule[]): string {
  if (rules.length === 0) return "no ingress from public addresses";
  const merged = new Map<string, string[]>();
  for (const r of rules) {
    const sources = `${r.cidrs.join(", ")} (${r.via})`;
    merged.set(sources, [...(merged.get(sources) ?? []), r.ports]);
  }
  return [...merged.entries()].map(([sources, ports]) => `${ports.join(", ")} from ${sources}`).join("; ");
}

/** What the plan's security groups admit, by the group ids a resource lists. */
class SecurityGroups {
  private readonly groups: CapturedResource[];

  constructor(private readonly ofType: OfType) {
    this.groups = ofType("aws:ec2/securityGroup:SecurityGroup");
  }

  private byIds(groupIds: unknown[]): CapturedResource[] {
    return groupIds.flatMap((gid) => this.groups.filter((g) => mockId(g) === gid).slice(0, 1));
  }

  private nameOf(id: unknown): string {
    return this.groups.find((g) => mockId(g) === id)?.name ?? String(id);
  }

  /** Ports and public source CIDRs the given security groups admit, grouped by port. */
  reachable(groupIds: unknown[]): IngressRule[] {
    const byPorts = new Map<string, { cidrs: Set<string>; via: Set<string> }>();
    for (const group of this.byIds(groupIds)) {
      for (const rule of ingressRulesOf(group, this.ofType)) {
        const cidrs = rule.cidrs.filter((c) => !isPrivateCidr(c));
        if (cidrs.length === 0) continue;
        const ports = portsOf(rule);
        const entry = byPorts.get(ports) ?? { cidrs: new Set(), via: new Set() };
        cidrs.forEach((c) => entry.cidrs.add(c));
        entry.via.add(group.name);
        byPorts.set(ports, entry);
      }
    }
    return [...byPorts.entries()]
      .map(([ports, e]) => ({
        ports,
        cidrs: [...e.cidrs].sort(),
        via: `security group ${[...e.via].sort().join(", ")}`,
      }))
      .sort((a, b) => portOrder(a.ports) - portOrder(b.ports) || compare(a.ports, b.ports));
  }

  /** Non-CIDR sources a group admits, for the not-public list ("5000/tcp from security group x"). */
  internalSources(groupIds: unknown[]): string {
    const parts = this.byIds(groupIds).flatMap((group) =>
      ingressRulesOf(group, this.ofType).map(
        (rule) =>
          `${portsOf(rule)} from ${[...rule.groups.map((g) => `security group ${this.nameOf(g)}`), ...rule.cidrs].join(", ")}`,
      ),
    );
    return parts.length === 0 ? "admits nothing" : `admits only ${parts.join("; ")}`;
  }

  /** Why port 80 is open to the world next to HTTPS (components/compute/ec2.ts, the http-01 rule). */
  acmePortNote(groupIds: unknown[]): string {
    const acme = this.groups
      .filter((g) => groupIds.includes(mockId(g)))
      .flatMap((g) => (g.inputs.ingress ?? []) as Record<string, unknown>[])
      .some((i) => i.description === ACME_HTTP_INGRESS_DESCRIPTION);
    return acme
      ? "; port 80 serves only the ACME http-01 challenge and a redirect to HTTPS, open to the world because the CA validates from addresses it does not publish (server.acme.challenge dns-01 keeps it closed)"
      : "";
  }
}

/** What an exposure rule reads (the plan's resources, its security groups) and the lists it adds to. */
interface ExposureContext {
  ofType: OfType;
  groups: SecurityGroups;
  /** The Elastic IP an allocation id names (the one named `preferredName` if several match). */
  eipFor(allocationId: unknown, preferredName: string): CapturedResource | undefined;
  /** Elastic IPs an instance or NAT gateway uses (an unused one is public by itself). */
  usedEips: Set<string>;
  publicItems: PublicItem[];
  egressOnly: EgressOnlyItem[];
  notPublic: string[];
}

/** Adds one resource's exposure: public (with what reaches it), egress only, or not public and why. */
type ExposureRule = (r: CapturedResource, context: ExposureContext) => void;

function ec2InstanceExposure(r: CapturedResource, x: ExposureContext): void {
  const addresses: string[] = [];
  for (const a of x.ofType("aws:ec2/eipAssociation:EipAssociation")) {
    if (a.inputs.instanceId !== mockId(r)) continue;
    const eip = x.eipFor(a.inputs.allocationId, a.name);
    if (eip) x.usedEips.add(eip.name);
    addresses.push(`Elastic IP ${eip?.name ?? String(a.inputs.allocationId)}`);
  }
  for (const e of x.ofType("aws:ec2/eip:Eip").filter((e) => e.inputs.instance === mockId(r))) {
    x.usedEips.add(e.name);
    addresses.push(`Elastic IP ${e.name}`);
  }
  if (r.inputs.associatePublicIpAddress === true)
    addresses.push("a public IP at launch (associatePublicIpAddress)");
  const groupIds = [...((r.inputs.vpcSecurityGroupIds ?? []) as unknown[])];
  if (addresses.length === 0) {
    x.notPublic.push(`EC2 instance ${r.name}: no public address; ${x.groups.internalSources(groupIds)}`);
    return;
  }
  const rules = x.groups.reachable(groupIds);
  x.publicItems.push({
    resource: resourceId(r),
    kind: "EC2 instance",
    why: `EC2 instance ${r.name} has ${addresses.join(" and ")}; ${describeReach(rules)}${x.groups.acmePortNote(groupIds)}`,
    reachableFrom: rules,
  });
}

/** A load balancer's listeners, "443/HTTPS -> forward", by port. */
function listenersOf(lb: CapturedResource, ofType: OfType): string[] {
  return ofType("aws:lb/listener:Listener")
    .filter((l) => l.inputs.loadBalancerArn === lb.state.arn)
    .map((l) => {
      const action = ((l.inputs.defaultActions ?? []) as Record<string, unknown>[])[0] ?? {};
      const redirect = action.redirect as Record<string, unknown> | undefined;
      const what =
        action.type === "redirect" && redirect
          ? `redirect to ${String(redirect.protocol ?? "")}`
          : String(action.type ?? "");
      return {
        port: Number(l.inputs.port),
        text: `${String(l.inputs.port)}/${String(l.inputs.protocol)} -> ${what}`,
      };
    })
    .sort((a, b) => a.port - b.port)
    .map((l) => l.text);
}

function loadBalancerExposure(r: CapturedResource, x: ExposureContext): void {
  const kind =
    r.inputs.loadBalancerType === "network" ? "Network Load Balancer" : "Application Load Balancer";
  const groupIds = [...((r.inputs.securityGroups ?? []) as unknown[])];
  if (r.inputs.internal === true) {
    x.notPublic.push(`${kind} ${r.name}: internal; ${x.groups.internalSources(groupIds)}`);
    return;
  }
  const listeners = listenersOf(r, x.ofType);
  const rules = x.groups.reachable(groupIds);
  const zones = ((r.inputs.subnets ?? r.inputs.subnetMappings ?? []) as unknown[]).length;
  x.publicItems.push({
    resource: resourceId(r),
    kind,
    why: `internet-facing ${kind} ${r.name} in ${zones} public subnets; listeners ${listeners.join(", ") || "none"}; ${describeReach(rules)}`,
    reachableFrom: rules,
    listeners,
  });
}

function natGatewayExposure(r: CapturedResource, x: ExposureContext): void {
  if (r.inputs.connectivityType === "private") return;
  const eip = x.eipFor(r.inputs.allocationId, `${r.name}-eip`);
  if (eip) x.usedEips.add(eip.name);
  x.egressOnly.push({
    resource: resourceId(r),
    why: `NAT gateway ${r.name} (Elastic IP ${eip?.name ?? "?"}): outbound only, for the private subnets; accepts no inbound connections`,
  });
}

function unattachedEipExposure(e: CapturedResource, x: ExposureContext): void {
  if (x.usedEips.has(e.name)) return;
  x.publicItems.push({
    resource: resourceId(e),
    kind: "Elastic IP",
    why: `Elastic IP ${e.name} is not attached to anything in the plan`,
    reachableFrom: [],
  });
}

function ecsServiceExposure(r: CapturedResource, x: ExposureContext): void {
  const net = (r.inputs.networkConfiguration ?? {}) as Record<string, unknown>;
  const groupIds = [...((net.securityGroups ?? []) as unknown[])];
  if (net.assignPublicIp !== true) {
    x.notPublic.push(
      `ECS service ${r.name}: tasks without public IPs (assignPublicIp=false); ${x.groups.internalSources(groupIds)}`,
    );
    return;
  }
  const rules = x.groups.reachable(groupIds);
  x.publicItems.push({
    resource: resourceId(r),
    kind: "ECS service",
    why: `ECS service ${r.name}: tasks get public IPs (assignPublicIp); ${describeReach(rules)}`,
    reachableFrom: rules,
  });
}

function rdsInstanceExposure(r: CapturedResource, x: ExposureContext): void {
  const groupIds = [...((r.inputs.vpcSecurityGroupIds ?? []) as unknown[])];
  if (r.inputs.publiclyAccessible !== true) {
    x.notPublic.push(
      `RDS instance ${r.name}: publiclyAccessible=false; ${x.groups.internalSources(groupIds)}`,
    );
    return;
  }
  const rules = x.groups.reachable(groupIds);
  x.publicItems.push({
    resource: resourceId(r),
    kind: "RDS instance",
    why: `RDS instance ${r.name} is publicly accessible; ${describeReach(rules)}`,
    reachableFrom: rules,
  });
}

const BLOCK_SETTINGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

function s3BucketExposure(r: CapturedResource, x: ExposureContext): void {
  const block = x
    .ofType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    .find((b) => b.inputs.bucket === mockId(r));
  const open = BLOCK_SETTINGS.filter((s) => block?.inputs[s] !== true);
  const acl = typeof r.inputs.acl === "string" && /public/.test(r.inputs.acl) ? r.inputs.acl : undefined;
  if (open.length === 0 && !acl) {
    x.notPublic.push(`S3 bucket ${r.name}: all public access blocked (${BLOCK_SETTINGS.join(", ")})`);
    return;
  }
  x.publicItems.push({
    resource: resourceId(r),
    kind: "S3 bucket",
    why: `S3 bucket ${r.name}: ${acl ? `ACL ${acl}; ` : ""}public access not blocked (${block ? open.join(", ") : "no public access block"})`,
    reachableFrom: [],
  });
}

function azureStorageAccountExposure(r: CapturedResource, x: ExposureContext): void {
  if (r.inputs.allowBlobPublicAccess === false) {
    x.notPublic.push(
      `Azure storage account ${r.name}: no anonymous blob access (allowBlobPublicAccess=false)`,
    );
    return;
  }
  x.publicItems.push({
    resource: resourceId(r),
    kind: "Azure storage account",
    why: `Azure storage account ${r.name}: anonymous blob access allowed (allowBlobPublicAccess is not false)`,
    reachableFrom: [],
  });
}

function azureBlobContainerExposure(r: CapturedResource, x: ExposureContext): void {
  if (r.inputs.publicAccess === undefined || r.inputs.publicAccess === "None") return;
  x.publicItems.push({
    resource: resourceId(r),
    kind: "Azure blob container",
    why: `Azure blob container ${r.name}: publicAccess=${String(r.inputs.publicAccess)}`,
    reachableFrom: [],
  });
}

function gcsBucketExposure(r: CapturedResource, x: ExposureContext): void {
  const grants = [
    ...x
      .ofType("gcp:storage/bucketIAMMember:BucketIAMMember")
      .map((m) => ({ m, members: [m.inputs.member] })),
    ...x.ofType("gcp:storage/bucketIAMBinding:BucketIAMBinding").map((m) => ({
      m,
      members: (m.inputs.members ?? []) as unknown[],
    })),
  ];
  const everyone = grants.filter(
    ({ m, members }) =>
      (m.inputs.bucket === r.inputs.name || m.inputs.bucket === r.state.name) &&
      members.some((member) => member === "allUsers" || member === "allAuthenticatedUsers"),
  );
  if (r.inputs.publicAccessPrevention === "enforced" && everyone.length === 0) {
    x.notPublic.push(`GCS bucket ${r.name}: publicAccessPrevention=enforced`);
    return;
  }
  x.publicItems.push({
    resource: resourceId(r),
    kind: "GCS bucket",
    why: `GCS bucket ${r.name}: ${everyone.length > 0 ? "granted to allUsers/allAuthenticatedUsers" : "public access prevention not enforced"}`,
    reachableFrom: [],
  });
}

/**
 * The types that can be reachable from the internet and how each is judged: supporting a type is one entry.
 * Run in this order (Elastic IPs after the instances and NAT gateways that use them).
 */
export const EXPOSURE_RULES: Record<string, ExposureRule> = {
  "aws:ec2/instance:Instance": ec2InstanceExposure,
  "aws:lb/loadBalancer:LoadBalancer": loadBalancerExposure,
  "aws:ec2/natGateway:NatGateway": natGatewayExposure,
  "aws:ec2/eip:Eip": unattachedEipExposure,
  "aws:ecs/service:Service": ecsServiceExposure,
  "aws:rds/instance:Instance": rdsInstanceExposure,
  "aws:s3/bucket:Bucket": s3BucketExposure,
  "azure-native:storage:StorageAccount": azureStorageAccountExposure,
  "azure-native:storage:BlobContainer": azureBlobContainerExposure,
  "gcp:storage/bucket:Bucket": gcsBucketExposure,
};

/** Analyses what the plan exposes to the internet. */
export function analyseExposure(resources: CapturedResource[]): {
  public: PublicItem[];
  egressOnly: EgressOnlyItem[];
  notPublic: string[];
} {
  const custom = resources.filter((r) => r.custom);
  const ofType = (type: string) =>
    custom.filter((r) => r.type === type).sort((a, b) => compare(a.name, b.name));
  const eips = ofType("aws:ec2/eip:Eip");
  const context: ExposureContext = {
    ofType,
    groups: new SecurityGroups(ofType),
    eipFor: (allocationId, preferredName) => {
      const candidates = eips.filter(
        (e) => e.state.allocationId === allocationId || mockId(e) === allocationId,
      );
      return candidates.find((e) => e.name === preferredName) ?? candidates[0];
    },
    usedEips: new Set(),
    publicItems: [],
    egressOnly: [],
    notPublic: [],
  };
  for (const [type, rule] of Object.entries(EXPOSURE_RULES)) {
    for (const r of ofType(type)) rule(r, context);
  }
  const { publicItems, egressOnly, notPublic } = context;
  publicItems.sort((a, b) => compare(a.resource, b.resource));
  egressOnly.sort((a, b) => compare(a.resource, b.resource));
  notPublic.sort(compare);
  return { public: publicItems, egressOnly, notPublic };
}

/**
 * Plain HTTP is allowed only when a stack asks for it (server.allowPlainHttp): say so where a reviewer looks,
 * with who can reach it.
 */
export function planWarnings(
  outputs: Record<string, { value: unknown; secret: boolean }>,
  exposure: { public: PublicItem[] },
): string[] {
  const uri = outputs.trackingUri;
  if (uri?.secret || typeof uri?.value !== "string" || !uri.value.startsWith("http://")) return [];
  const sources = [
    ...new Set(exposure.public.flatMap((p) => p.reachableFrom.flatMap((r) => r.cidrs))),
  ].sort();
  return [
    `plain HTTP (server.allowPlainHttp: true): ${uri.value} carries passwords and tokens in clear` +
      (sources.length > 0
        ? ` from ${sources.join(", ")}${sources.some((c) => c === "0.0.0.0/0" || c === "::/0") ? " (the whole internet: the policy pack refuses this)" : ""}`
        : " (on private addresses only)"),
  ];
}

/** Kinds of public item that the platform never means to expose (its entry points are EC2 and load balancers). */
const ENTRY_POINT_KINDS = ["EC2 instance", "Application Load Balancer", "Network Load Balancer"];

// ---- the plan document ----

/** Builds the plan document from an evaluation: sorted, secrets masked, identical for identical input. */
export function buildPlanDocument(
  stack: string,
  evaluation: { resources: CapturedResource[]; outputs: Record<string, { value: unknown; secret: boolean }> },
  options: { region?: string } = {},
): PlanDocument {
  // The stack resource itself is implicit in `pulumi up`'s plan; its children are what it creates.
  const resources = evaluation.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
  const planned = resources
    .map(planResource)
    .sort((a, b) => compare(a.type, b.type) || compare(a.name, b.name));
  const byType: Record<string, number> = {};
  for (const r of planned) byType[r.type] = (byType[r.type] ?? 0) + 1;
  const exposure = analyseExposure(resources);
  const outputs = Object.fromEntries(
    Object.keys(evaluation.outputs)
      .sort()
      .map((k) => {
        const o = evaluation.outputs[k];
        return [k, o.secret ? SECRET_MASK : canonical(o.value)];
      }),
  );
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    stack,
    resources: planned,
    outputs,
    summary: {
      resourceCount: planned.filter((r) => r.custom).length,
      componentCount: planned.filter((r) => !r.custom).length,
      resourcesByType: Object.fromEntries(
        Object.keys(byType)
          .sort()
          .map((k) => [k, byType[k]]),
      ),
      ...exposure,
      warnings: planWarnings(evaluation.outputs, exposure),
      cost: estimateMonthlyCost(resources, { region: options.region }),
      deployment: estimateDeployment(resources),
    },
  };
}

/** The plan document as `--json` prints it. */
export function planJson(document: PlanDocument): string {
  return JSON.stringify(document, null, 2) + "\n";
}

/** Evaluates a stack file offline and builds its plan document (what `npm run plan -- --json` prints). */
export async function planStack(
  stackFilePath: string,
  stackName: string,
): Promise<{
  document: PlanDocument;
  resources: CapturedResource[];
  outputs: Record<string, { value: unknown; secret: boolean }>;
}> {
  const { config, secretKeys } = readStackFile(stackFilePath);
  const evaluation = await evaluateProgram({ stack: stackName, config, secretKeys });
  return {
    document: buildPlanDocument(stackName, evaluation, { region: config["aws:region"] }),
    resources: evaluation.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"),
    outputs: evaluation.outputs,
  };
}

/** The summary as the text plan prints it. */
export function formatSummary(summary: PlanSummary): string[] {
  const out = [
    "Summary",
    `  Resources by type (${summary.resourceCount} resources, ${summary.componentCount} components):`,
  ];
  for (const [type, n] of Object.entries(summary.resourcesByType))
    out.push(`    ${String(n).padStart(3)}  ${type}`);
  for (const w of summary.warnings ?? []) out.push(`  WARNING: ${w}`);
  out.push("  Public (reachable from the internet):");
  const entryPoints = summary.public.filter((p) => ENTRY_POINT_KINDS.includes(p.kind));
  const others = summary.public.filter((p) => !ENTRY_POINT_KINDS.includes(p.kind));
  if (entryPoints.length === 0) out.push("    none");
  for (const p of entryPoints) out.push(`    ! ${p.why}`);
  out.push(`  Egress only:${summary.egressOnly.length === 0 ? " none" : ""}`);
  for (const e of summary.egressOnly) out.push(`    - ${e.why}`);
  out.push(
    `  Anything else publicly reachable (bucket, storage account, database, task, unattached address):${others.length === 0 ? " none" : ""}`,
  );
  for (const p of others) out.push(`    ! ${p.why}`);
  out.push("  Not public:");
  for (const n of summary.notPublic) out.push(`    - ${n}`);
  out.push(...formatCostEstimate(summary.cost, "    ").map((l, i) => (i === 0 ? `  ${l}` : l)));
  out.push(...formatDeployment(summary.deployment));
  return out;
}

// ---- command line ----

function parseArgs(argv: string[]): { stack: string; file?: string; json: boolean } {
  let stack = "dev";
  let file: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" || argv[i] === "-s") stack = argv[++i];
    else if (argv[i] === "--config-file") file = argv[++i];
    else if (argv[i] === "--json") json = true;
    else
      throw new Error(
        `unknown argument ${argv[i]}; usage: npm run plan -- --stack <name> [--config-file <Pulumi.x.yaml>] [--json]`,
      );
  }
  return { stack, file, json };
}

function summarize(inputs: Record<string, unknown>): string {
  const parts = SHOWN_INPUTS.filter((k) => inputs[k] !== undefined).map(
    (k) => `${k}=${JSON.stringify(inputs[k])}`,
  );
  return parts.join(" ");
}

function mask(value: unknown, secret: boolean): string {
  return secret ? SECRET_MASK : typeof value === "string" ? value : JSON.stringify(value);
}

async function main(): Promise<void> {
  const { stack, file, json } = parseArgs(process.argv.slice(2));
  const source = file ? path.resolve(file) : stackFile(stack);
  if (!fs.existsSync(source)) {
    throw new Error(
      `no stack file ${path.relative(process.cwd(), source)}; shipped stacks: dev, prod (or pass --config-file)`,
    );
  }
  const { document, resources, outputs } = await planStack(source, stack);
  if (json) {
    process.stdout.write(planJson(document));
    return;
  }
  console.log(`Plan for stack "${stack}" (offline: no cloud calls, computed values are mock stand-ins)\n`);
  const children = new Map<string, CapturedResource[]>();
  for (const r of resources) {
    const parentKey = r.parent ? `${r.parent.type}::${r.parent.name}` : "";
    children.set(parentKey, [...(children.get(parentKey) ?? []), r]);
  }
  const print = (parentKey: string, depth: number) => {
    for (const r of children.get(parentKey) ?? []) {
      const flags = [r.protect ? "protected" : "", r.retainOnDelete ? "retained" : ""]
        .filter(Boolean)
        .join(",");
      const line = `${"  ".repeat(depth)}+ ${r.type}  ${r.name}${flags ? `  [${flags}]` : ""}`;
      const details = r.custom ? summarize(r.inputs) : "";
      console.log(details ? `${line}\n${"  ".repeat(depth + 2)}${details}` : line);
      print(`${r.type}::${r.name}`, depth + 1);
    }
  };
  print("", 0);
  const custom = resources.filter((r) => r.custom).length;
  console.log(`\n${custom} resources in ${resources.length - custom} components.\n\nOutputs:`);
  for (const [name, output] of Object.entries(outputs)) {
    console.log(`  ${name}: ${mask(output.value, output.secret)}`);
  }
  console.log(`\n${formatSummary(document.summary).join("\n")}`);
}

if (require.main === module) {
  main().then(
    () => {
      if (process.env.PLAN_REPORT_USAGE) console.error(`maxRssKb=${process.resourceUsage().maxRSS}`);
      process.exit(0);
    },
    (error: Error) => {
      console.error(`error: ${error.message}`);
      process.exit(1);
    },
  );
}

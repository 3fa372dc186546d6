// The dependency graph of a plan as the engine gets it (scripts/offline/evaluate.ts records each
// registration's dependencies): the order in which `pulumi up` creates the resources and its critical path,
// with typical creation times. Pure functions over the captured resources; `npm run plan` prints them.
import type { CapturedResource, ResourceRef } from "./offline/evaluate";

/** A custom resource and what it waits for, by id (`<type> <name>`). */
export interface GraphNode {
  id: string;
  type: string;
  waitsFor: string[];
  /** Typical minutes the provider takes to create it (CREATION_MINUTES). */
  minutes: number;
}

export interface CriticalStep {
  resource: string;
  minutes: number;
  /** Minutes after the start of `pulumi up` at which it can start, all its dependencies being created. */
  startsAtMinute: number;
}

export interface DeploymentEstimate {
  /** Every custom resource in an order `pulumi up` can create them: each after everything it waits for. */
  creationOrder: string[];
  /** The longest chain of dependencies by estimated minutes: what bounds a first `pulumi up`. */
  criticalPath: CriticalStep[];
  /** The critical path's length: the estimated duration of a first `pulumi up` (unbounded parallelism). */
  estimatedMinutes: number;
  /** The creation times used, for the resource types of this plan that take longer than a few seconds. */
  minutesByType: Record<string, number>;
}

/** Anything not listed: an API call of a few seconds. */
export const DEFAULT_CREATION_MINUTES = 0.1;

/**
 * Typical creation minutes by resource type (AWS documentation and common experience, not measured here):
 * what the provider waits for before it reports the resource created.
 */
export const CREATION_MINUTES: Record<string, number> = {
  // RDS PostgreSQL: create, then backup of the new instance before "available". Multi-AZ: see below.
  "aws:rds/instance:Instance": 15,
  // DNS validation: ACM polls the CNAME, usually a few minutes after Route 53 has it.
  "aws:acm/certificateValidation:CertificateValidation": 5,
  // waitForSteadyState: tasks pull the image, start.sh migrates, two health checks 15 s apart pass.
  "aws:ecs/service:Service": 5,
  // Pending to running (cloud-init continues afterwards; Pulumi does not wait for it).
  "aws:ec2/instance:Instance": 2,
  // docker-build: pip install of the pinned lock for linux/amd64, then the push to ECR.
  "docker-build:index:Image": 8,
  // Application Load Balancer: provisioning to active.
  "aws:lb/loadBalancer:LoadBalancer": 3,
  "aws:ec2/natGateway:NatGateway": 2,
  // Route 53 change to INSYNC.
  "aws:route53/record:Record": 1,
  "aws:ec2/vpcEndpoint:VpcEndpoint": 0.5,
  "azure-native:storage:StorageAccount": 0.5,
};

/** Multi-AZ RDS also creates and synchronises the standby. */
export const MULTI_AZ_RDS_MINUTES = 25;

/** Typical minutes to create one captured resource. */
export function creationMinutes(r: Pick<CapturedResource, "type" | "inputs">): number {
  if (r.type.startsWith("pulumi:providers:")) return 0;
  if (r.type === "aws:rds/instance:Instance" && r.inputs.multiAz === true) return MULTI_AZ_RDS_MINUTES;
  return CREATION_MINUTES[r.type] ?? DEFAULT_CREATION_MINUTES;
}

export const refId = (r: ResourceRef) => `${r.type} ${r.name}`;

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The custom resources (what `pulumi up` creates) and their dependencies, sorted by id. */
export function deploymentGraph(resources: CapturedResource[]): GraphNode[] {
  const custom = resources.filter((r) => r.custom && r.type !== "pulumi:pulumi:Stack");
  const ids = new Set(custom.map(refId));
  return custom
    .map((r) => ({
      id: refId(r),
      type: r.type,
      // Every dependency the engine sees is a custom resource (components are expanded to their children).
      waitsFor: [...new Set(r.waitsFor.map(refId))].filter((d) => ids.has(d)).sort(compare),
      minutes: creationMinutes(r),
    }))
    .sort((a, b) => compare(a.id, b.id));
}

/** Kahn's algorithm, smallest id first among the ready ones: deterministic. Throws on a cycle. */
export function creationOrder(nodes: GraphNode[]): string[] {
  const remaining = new Map(nodes.map((n) => [n.id, new Set(n.waitsFor)]));
  const order: string[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining.keys()].filter((id) => remaining.get(id)?.size === 0).sort(compare);
    if (ready.length === 0) throw new Error(`dependency cycle among ${[...remaining.keys()].join(", ")}`);
    const next = ready[0];
    order.push(next);
    remaining.delete(next);
    for (const waits of remaining.values()) waits.delete(next);
  }
  return order;
}

/** Everything `id` waits for, directly or through other resources. */
export function transitiveDependencies(nodes: GraphNode[], id: string): Set<string> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const seen = new Set<string>();
  const visit = (current: string) => {
    for (const d of byId.get(current)?.waitsFor ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      visit(d);
    }
  };
  visit(id);
  return seen;
}

/** When each resource is created at the earliest: its minutes after the latest of its dependencies. */
function finishTimes(nodes: GraphNode[]): Map<string, number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const finish = new Map<string, number>();
  for (const id of creationOrder(nodes)) {
    const node = byId.get(id) as GraphNode;
    const start = Math.max(0, ...node.waitsFor.map((d) => finish.get(d) ?? 0));
    finish.set(id, start + node.minutes);
  }
  return finish;
}

/** The dependency that finishes last (ties: the smallest id), or undefined for a resource that waits for none. */
function latestDependency(node: GraphNode, finish: Map<string, number>): string | undefined {
  return [...node.waitsFor].sort((a, b) => (finish.get(b) ?? 0) - (finish.get(a) ?? 0) || compare(a, b))[0];
}

const round = (minutes: number) => Math.round(minutes * 10) / 10;

/** The longest chain by estimated minutes, first resource first. */
export function criticalPath(nodes: GraphNode[]): CriticalStep[] {
  if (nodes.length === 0) return [];
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const finish = finishTimes(nodes);
  const last = [...finish.keys()].sort(
    (a, b) => (finish.get(b) ?? 0) - (finish.get(a) ?? 0) || compare(a, b),
  )[0];
  const path: CriticalStep[] = [];
  for (let id: string | undefined = last; id !== undefined;) {
    const node = byId.get(id) as GraphNode;
    const end = finish.get(id) ?? 0;
    path.unshift({ resource: id, minutes: node.minutes, startsAtMinute: round(end - node.minutes) });
    id = latestDependency(node, finish);
  }
  return path;
}

/** The order, the critical path and the table behind it, for a plan's resources. */
export function estimateDeployment(resources: CapturedResource[]): DeploymentEstimate {
  const nodes = deploymentGraph(resources);
  const path = criticalPath(nodes);
  const end = path[path.length - 1];
  const slowTypes = [
    ...new Set(nodes.filter((n) => n.minutes > DEFAULT_CREATION_MINUTES).map((n) => n.type)),
  ];
  return {
    creationOrder: creationOrder(nodes),
    criticalPath: path,
    estimatedMinutes: end ? round(end.startsAtMinute + end.minutes) : 0,
    minutesByType: Object.fromEntries(
      slowTypes
        .sort(compare)
        .map((t) => [t, Math.max(...nodes.filter((n) => n.type === t).map((n) => n.minutes))]),
    ),
  };
}

/** The estimate as the text plan prints it. */
export function formatDeployment(estimate: DeploymentEstimate): string[] {
  const out = [
    `  Creation order (pulumi up; ${estimate.creationOrder.length} resources, each after what it waits for):`,
  ];
  estimate.creationOrder.forEach((id, i) => out.push(`    ${String(i + 1).padStart(3)}. ${id}`));
  out.push(
    `  Critical path: ~${estimate.estimatedMinutes} minutes for a first pulumi up (typical creation times):`,
  );
  for (const step of estimate.criticalPath) {
    out.push(
      `    +${step.startsAtMinute.toFixed(1).padStart(5)} min  ${step.resource}  (${step.minutes} min)`,
    );
  }
  out.push("  Typical creation minutes used (anything else: a few seconds):");
  for (const [type, minutes] of Object.entries(estimate.minutesByType))
    out.push(`    ${String(minutes).padStart(4)}  ${type}`);
  return out;
}

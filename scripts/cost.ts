// Monthly cost estimate of a planned stack: a pure function over the resources the offline plan captured
// (`estimateMonthlyCost`), with a small price table. Used by `npm run plan` (text and --json summary),
// `npm run plan:diff` and the tests. To recompute a stack's estimate (e.g. for the README):
//
//   node -r ./scripts/ts-register.js -e 'require("./scripts/cost").estimateStackCost("Pulumi.dev.yaml", "dev")
//     .then((e) => { console.log(JSON.stringify(e, null, 2)); process.exit(0); })'
//
// Prices: approximate, us-east-1 on-demand list prices, 2026 (USD; Linux; no savings plans, reserved or
// spot pricing, no free tier), from AWS's public price pages. A month is 730 hours. Only what a stack costs by
// merely existing is priced; usage-based charges (object storage and requests, data transfer, NAT per-GB
// processing, log ingestion, API calls) are listed as excluded, never guessed. An instance type or class
// missing from the table is reported as "unpriced", never extrapolated.
import * as fs from "fs";
import * as path from "path";
import { evaluateProgram } from "./offline/evaluate";
import { readStackFile } from "./offline/stackFiles";

export const HOURS_PER_MONTH = 730;
export const PRICE_BASIS = "approximate, us-east-1 on-demand list prices, 2026; 730 h/month; USD";

/** The price table. Hourly prices are per hour, storage per GB-month, the rest per month. */
export const PRICES = {
  /** EC2 on-demand, Linux, $/hour. */
  ec2Hourly: {
    "t3.micro": 0.0104,
    "t3.small": 0.0208,
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "t3a.small": 0.0188,
    "t3a.medium": 0.0376,
    "t3a.large": 0.0752,
    "t4g.micro": 0.0084,
    "t4g.small": 0.0168,
    "t4g.medium": 0.0336,
    "t4g.large": 0.0672,
    "m5.large": 0.096,
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "m6g.large": 0.077,
    "m7i.large": 0.1008,
    "m7i.xlarge": 0.2016,
    "m7i.2xlarge": 0.4032,
    "m7i-flex.large": 0.09576,
    "m7g.large": 0.0816,
    "m7g.xlarge": 0.1632,
    "m7g.2xlarge": 0.3264,
    "c7i.large": 0.08925,
    "c7g.large": 0.0725,
    "r6i.large": 0.126,
    "r7i.large": 0.1323,
    "r6g.large": 0.1008,
    "r7g.large": 0.1071,
  } as Record<string, number>,
  /** EBS volumes, $/GB-month (gp3 includes its 3,000 IOPS / 125 MB/s baseline). */
  ebsGbMonth: { gp3: 0.08, gp2: 0.1 } as Record<string, number>,
  /** EC2 detailed (1-minute) monitoring: 7 metrics x $0.30 per instance-month. */
  ec2DetailedMonitoringMonth: 2.1,
  /** Every public IPv4 address (Elastic IP attached or idle, ALB node, auto-assigned), $/hour. */
  publicIpv4Hourly: 0.005,
  /** RDS for PostgreSQL on-demand, single-AZ, $/hour (Multi-AZ: twice this; a standby runs). */
  rdsPostgresHourly: {
    "db.t3.micro": 0.018,
    "db.t3.small": 0.036,
    "db.t3.medium": 0.072,
    "db.t4g.micro": 0.016,
    "db.t4g.small": 0.032,
    "db.t4g.medium": 0.065,
    "db.t4g.large": 0.129,
    "db.m5.large": 0.178,
    "db.m6i.large": 0.178,
    "db.m6g.large": 0.159,
    "db.m7g.large": 0.168,
    "db.m7g.xlarge": 0.336,
    "db.m7g.2xlarge": 0.672,
    "db.r6g.large": 0.225,
  } as Record<string, number>,
  /** RDS storage, single-AZ $/GB-month (Multi-AZ: twice this). */
  rdsStorageGbMonth: { gp3: 0.115, gp2: 0.115 } as Record<string, number>,
  /** NAT gateway, $/hour (plus $0.045/GB processed: usage, excluded). */
  natGatewayHourly: 0.045,
  /** Application Load Balancer, $/hour, and one LCU-hour, assumed on average (light traffic). */
  albHourly: 0.0225,
  albLcuHourly: 0.008,
  /** Network Load Balancer, $/hour, and one NLCU-hour. */
  nlbHourly: 0.0225,
  nlbLcuHourly: 0.006,
  /** Fargate Linux per vCPU-hour and GB-hour, by CPU architecture. */
  fargate: {
    X86_64: { vcpuHourly: 0.04048, gbHourly: 0.004445 },
    ARM64: { vcpuHourly: 0.03238, gbHourly: 0.00356 },
  } as Record<string, { vcpuHourly: number; gbHourly: number }>,
  /** Fargate ephemeral storage beyond the free 20 GB, $/GB-hour. */
  fargateEphemeralGbHourly: 0.000111,
  fargateFreeEphemeralGb: 20,
  /** VPC interface endpoint, $/hour per availability zone (gateway endpoints are free). */
  interfaceEndpointHourlyPerAz: 0.01,
  /** Secrets Manager, $/secret-month (plus $0.05 per 10,000 API calls: usage, excluded). */
  secretMonth: 0.4,
  /** KMS customer managed key, $/key-month (AWS managed keys are free). */
  kmsKeyMonth: 1,
  /** CloudWatch alarms, $/alarm-month: standard (period >= 60 s), high resolution, composite. */
  alarmMonth: 0.1,
  highResolutionAlarmMonth: 0.3,
  compositeAlarmMonth: 0.5,
  /** Route 53 hosted zone, $/zone-month (first 25). Records in an existing zone cost nothing to exist. */
  hostedZoneMonth: 0.5,
};

export type CostClass =
  "$ (< $50/month)" | "$$ ($50-250/month)" | "$$$ ($250-1000/month)" | "$$$$ (> $1000/month)";

export interface CostLine {
  /** Stable identity for diffs: `<what>:<resource name>`. */
  key: string;
  /** What is charged, e.g. "EC2 instance mlflow-dev-server (t3.small)". */
  item: string;
  /** Monthly USD, rounded to cents; null when unpriced. */
  usd: number | null;
  /** How it was computed, or why it is unpriced. */
  detail: string;
}

export interface CostEstimate {
  /** Sum of the priced lines (cents), excluding unpriced lines and usage-based charges. */
  totalUsd: number;
  costClass: CostClass;
  lines: CostLine[];
  /** Items with no price in the table (their cost is not in the total). */
  unpriced: string[];
  /** Usage-based charges that the estimate leaves out. */
  excluded: string[];
  basis: string;
  /** Caveats, e.g. a stack region other than us-east-1. */
  notes: string[];
}

/** What the estimator reads of a captured resource (scripts/offline/evaluate.ts `CapturedResource`). */
export interface CostResource {
  type: string;
  name: string;
  custom?: boolean;
  inputs: Record<string, unknown>;
  /** Mock state; used to resolve ARN references (a service's task definition, a listener's load balancer). */
  state?: Record<string, unknown>;
}

export interface CostOptions {
  /** The stack's `aws:region`; a region other than us-east-1 gets a note (prices are us-east-1's). */
  region?: string;
}

/**
 * Types that cost nothing to exist (or whose cost is usage-based and listed in `excluded`). A custom resource
 * of a type neither here nor priced below is reported as unpriced.
 */
const NO_STANDING_COST = [
  /^pulumi:providers:/,
  /^random:/,
  /^docker-build:index:Image$/,
  /^aws:ec2\/(vpc|subnet|routeTable|routeTableAssociation|route|internetGateway|securityGroup|securityGroupRule|defaultSecurityGroup|eipAssociation|networkAcl|keyPair):/,
  /^aws:vpc\/securityGroup(Ingress|Egress)Rule:/,
  /^aws:iam\//,
  /^aws:s3\//,
  /^aws:sns\//,
  /^aws:sqs\//,
  /^aws:cloudwatch\/(logGroup|logMetricFilter|dashboard):/,
  /^aws:ecr\//,
  /^aws:ecs\/(cluster|taskDefinition|clusterCapacityProviders):/,
  /^aws:appautoscaling\//,
  /^aws:scheduler\//,
  /^aws:acm\//,
  /^aws:lb\/(targetGroup|listener|listenerRule|targetGroupAttachment):/,
  /^aws:rds\/(subnetGroup|parameterGroup|clusterParameterGroup|optionGroup|eventSubscription):/,
  /^aws:route53\/record:/,
  /^aws:secretsmanager\/(secretVersion|secretPolicy|secretRotation):/,
  /^aws:kms\/(alias|grant):/,
  /^azure-native:resources:ResourceGroup$/,
  /^azure-native:storage:/,
  /^gcp:(projects|serviceaccount|iam|storage)\//,
];

/** Usage-based charges, by the resource types that incur them. */
const USAGE_BASED: { test: RegExp; what: string }[] = [
  { test: /^aws:s3\/bucket:Bucket$/, what: "S3 storage and requests" },
  { test: /^azure-native:storage:StorageAccount$/, what: "Azure Blob storage, transactions and egress" },
  { test: /^gcp:storage\/bucket:Bucket$/, what: "GCS storage, operations and egress" },
  { test: /^aws:ec2\/natGateway:NatGateway$/, what: "NAT gateway data processing ($0.045/GB)" },
  { test: /^aws:cloudwatch\/logGroup:LogGroup$/, what: "CloudWatch Logs ingestion and storage" },
  {
    test: /^aws:rds\/instance:Instance$/,
    what: "RDS backup storage beyond the allocated size, storage autoscaling growth, database log exports",
  },
  { test: /^aws:ecr\/repository:Repository$/, what: "ECR image storage ($0.10/GB-month)" },
  { test: /^aws:ecs\/cluster:Cluster$/, what: "Container Insights metrics" },
  { test: /^aws:scheduler\/schedule:Schedule$/, what: "scheduled task runs (the weekly gc task)" },
  { test: /^aws:secretsmanager\/secret:Secret$/, what: "Secrets Manager API calls" },
];

/**
 * The id the mock runtime gives a resource (scripts/offline/evaluate.ts: a bucket's id is its name, others
 * `<name>-id`): how one planned resource's inputs refer to another's id (security groups, EIP associations).
 */
export function mockId(r: CostResource): string {
  return r.type === "aws:s3/bucket:Bucket" ? String(r.state?.bucket ?? r.name) : `${r.name}-id`;
}

const round2 = (usd: number) => Math.round(usd * 100) / 100;
export const money = (usd: number) => `$${usd.toFixed(2)}`;
/** A unit price as listed: at least two decimals ($0.40, $0.0208). */
const rate = (usd: number) => {
  const text = String(usd);
  return `$${(text.split(".")[1] ?? "").length < 2 ? usd.toFixed(2) : text}`;
};

export function costClass(totalUsd: number): CostClass {
  if (totalUsd < 50) return "$ (< $50/month)";
  if (totalUsd < 250) return "$$ ($50-250/month)";
  if (totalUsd <= 1000) return "$$$ ($250-1000/month)";
  return "$$$$ (> $1000/month)";
}

/** What a type's pricing rule gets: the plan's custom resources and the estimate it writes to. */
interface Pricing {
  custom: CostResource[];
  /** The custom resources of a type, by name. */
  ofType(type: string): CostResource[];
  byArn(type: string, arn: unknown): CostResource | undefined;
  /** A priced line. */
  add(key: string, item: string, monthly: number, detail: string): void;
  /** A line with no price (its cost is not in the total). */
  skip(key: string, item: string, why: string): void;
}

/** Prices the resources of one type (all of them, sorted by name). */
type PriceRule = (resources: CostResource[], pricing: Pricing) => void;

const h = HOURS_PER_MONTH;

/** A rule that prices each resource on its own. */
const each =
  (price: (r: CostResource, pricing: Pricing) => void): PriceRule =>
  (resources, pricing) =>
    resources.forEach((r) => price(r, pricing));

/** A rule that prices all resources of the type as one line: `each` per resource-month. */
function perMonth(key: string, item: string, price: number, unit: string): PriceRule {
  return (list, { add }) => {
    if (list.length > 0)
      add(
        key,
        `${item} (${list.length})`,
        list.length * price,
        `${list.length} x ${rate(price)}/${unit}: ${list.map((r) => r.name).join(", ")}`,
      );
  };
}

function priceEc2Instance(r: CostResource, { custom, add, skip }: Pricing): void {
  const type = String(r.inputs.instanceType ?? "");
  const hourly = PRICES.ec2Hourly[type];
  if (hourly === undefined)
    skip(`ec2:${r.name}`, `EC2 instance ${r.name} (${type})`, `no list price for ${type}`);
  else add(`ec2:${r.name}`, `EC2 instance ${r.name} (${type})`, hourly * h, `${h} h x ${rate(hourly)}/h`);
  priceEbsVolumes(r, add, skip);
  if (r.inputs.monitoring === true) {
    add(
      `ec2-monitoring:${r.name}`,
      `EC2 detailed monitoring of ${r.name}`,
      PRICES.ec2DetailedMonitoringMonth,
      "7 metrics x $0.30/month",
    );
  }
  const hasEip = custom.some(
    (a) => a.type === "aws:ec2/eipAssociation:EipAssociation" && a.inputs.instanceId === mockId(r),
  );
  if (r.inputs.associatePublicIpAddress === true && !hasEip) {
    const monthly = PRICES.publicIpv4Hourly * h;
    add(
      `ec2-ipv4:${r.name}`,
      `Public IPv4 address of ${r.name}`,
      monthly,
      `${h} h x ${rate(PRICES.publicIpv4Hourly)}/h`,
    );
  }
}

/** The root volume and any EBS block devices of an instance. */
function priceEbsVolumes(r: CostResource, add: Pricing["add"], skip: Pricing["skip"]): void {
  const root = (r.inputs.rootBlockDevice ?? {}) as Record<string, unknown>;
  const volumes = [
    { label: "root volume", size: root.volumeSize, type: root.volumeType },
    ...((r.inputs.ebsBlockDevices ?? []) as Record<string, unknown>[]).map((d) => ({
      label: `volume ${String(d.deviceName ?? "")}`.trim(),
      size: d.volumeSize,
      type: d.volumeType,
    })),
  ];
  for (const [i, v] of volumes.entries()) {
    const volumeType = String(v.type ?? "gp3");
    const gb = typeof v.size === "number" ? v.size : 8;
    const perGb = PRICES.ebsGbMonth[volumeType];
    const key = `ebs:${r.name}:${i}`;
    const item = `EBS ${volumeType} ${v.label} of ${r.name}, ${gb} GB${v.size === undefined ? " (image default, assumed)" : ""}`;
    if (perGb === undefined) skip(key, item, `no list price for EBS ${volumeType}`);
    else add(key, item, gb * perGb, `${gb} GB x ${rate(perGb)}/GB-month`);
  }
}

function priceFargateService(r: CostResource, { ofType, byArn, add, skip }: Pricing): void {
  const item = `Fargate tasks of ECS service ${r.name}`;
  const taskDefinitions = ofType("aws:ecs/taskDefinition:TaskDefinition");
  const td =
    byArn("aws:ecs/taskDefinition:TaskDefinition", r.inputs.taskDefinition) ??
    (taskDefinitions.length === 1 ? taskDefinitions[0] : undefined);
  const fargate =
    r.inputs.launchType === "FARGATE" ||
    ((r.inputs.capacityProviderStrategies ?? []) as { capacityProvider?: string }[]).some((s) =>
      /^FARGATE/.test(String(s.capacityProvider)),
    );
  if (!fargate) {
    skip(`fargate:${r.name}`, item, "not a Fargate service (EC2 capacity is priced by its instances)");
    return;
  }
  if (!td) {
    skip(`fargate:${r.name}`, item, "task definition not found in the plan");
    return;
  }
  const vcpu = Number(td.inputs.cpu) / 1024;
  const gb = Number(td.inputs.memory) / 1024;
  const count = typeof r.inputs.desiredCount === "number" ? r.inputs.desiredCount : 1;
  const arch = String(
    (td.inputs.runtimePlatform as Record<string, unknown> | undefined)?.cpuArchitecture ?? "X86_64",
  );
  const p = PRICES.fargate[arch];
  if (!p || !(vcpu > 0) || !(gb > 0)) {
    skip(`fargate:${r.name}`, item, `no list price for ${arch} with cpu ${String(td.inputs.cpu)}`);
    return;
  }
  const perTask = (vcpu * p.vcpuHourly + gb * p.gbHourly) * h;
  add(
    `fargate:${r.name}`,
    `${item}: ${count} x ${vcpu} vCPU / ${gb} GB (${arch})`,
    perTask * count,
    `${count} x (${vcpu} x ${rate(p.vcpuHourly)} + ${gb} x ${rate(p.gbHourly)}) x ${h} h; ${money(round2(perTask))} per extra task`,
  );
  const ephemeral = Number(
    (td.inputs.ephemeralStorage as Record<string, unknown> | undefined)?.sizeInGib ?? 20,
  );
  const extraGb = Math.max(0, ephemeral - PRICES.fargateFreeEphemeralGb);
  if (extraGb > 0) {
    add(
      `fargate-storage:${r.name}`,
      `Fargate ephemeral storage of ${r.name}: ${count} x ${ephemeral} GB`,
      count * extraGb * PRICES.fargateEphemeralGbHourly * h,
      `${count} x ${extraGb} GB above the free ${PRICES.fargateFreeEphemeralGb} x ${rate(PRICES.fargateEphemeralGbHourly)}/GB-h x ${h} h`,
    );
  }
}

function priceLoadBalancer(r: CostResource, { add, skip }: Pricing): void {
  const kind = String(r.inputs.loadBalancerType ?? "application");
  const [hourly, lcu, label] =
    kind === "application"
      ? [PRICES.albHourly, PRICES.albLcuHourly, "Application Load Balancer"]
      : kind === "network"
        ? [PRICES.nlbHourly, PRICES.nlbLcuHourly, "Network Load Balancer"]
        : [undefined, undefined, `${kind} load balancer`];
  if (hourly === undefined || lcu === undefined) {
    skip(`lb:${r.name}`, `${label} ${r.name}`, `no list price for ${kind} load balancers`);
    return;
  }
  add(
    `lb:${r.name}`,
    `${label} ${r.name} (+ ~1 LCU)`,
    (hourly + lcu) * h,
    `(${rate(hourly)}/h + 1 LCU x ${rate(lcu)}/h) x ${h} h`,
  );
  if (r.inputs.internal !== true) {
    const zones = ((r.inputs.subnets ?? r.inputs.subnetMappings ?? []) as unknown[]).length || 2;
    add(
      `lb-ipv4:${r.name}`,
      `Public IPv4 addresses of ${r.name} (one per zone: ${zones})`,
      zones * PRICES.publicIpv4Hourly * h,
      `${zones} x ${h} h x ${rate(PRICES.publicIpv4Hourly)}/h`,
    );
  }
}

function priceNatGateway(r: CostResource, { add }: Pricing): void {
  const label = r.inputs.connectivityType === "private" ? "Private NAT gateway" : "NAT gateway";
  add(
    `nat:${r.name}`,
    `${label} ${r.name}`,
    PRICES.natGatewayHourly * h,
    `${h} h x ${rate(PRICES.natGatewayHourly)}/h`,
  );
}

function priceElasticIp(r: CostResource, { add }: Pricing): void {
  add(
    `eip:${r.name}`,
    `Elastic IP ${r.name} (public IPv4)`,
    PRICES.publicIpv4Hourly * h,
    `${h} h x ${rate(PRICES.publicIpv4Hourly)}/h`,
  );
}

function priceVpcEndpoint(r: CostResource, { add }: Pricing): void {
  if (String(r.inputs.vpcEndpointType ?? "Gateway") === "Gateway") return; // free
  const zones = ((r.inputs.subnetIds ?? []) as unknown[]).length || 1;
  add(
    `endpoint:${r.name}`,
    `VPC interface endpoint ${r.name} (${zones} zone${zones === 1 ? "" : "s"})`,
    zones * PRICES.interfaceEndpointHourlyPerAz * h,
    `${zones} x ${h} h x ${rate(PRICES.interfaceEndpointHourlyPerAz)}/h`,
  );
}

function priceRdsInstance(r: CostResource, { add, skip }: Pricing): void {
  const cls = String(r.inputs.instanceClass ?? "");
  const multiAz = r.inputs.multiAz === true;
  const factor = multiAz ? 2 : 1;
  const az = multiAz ? "Multi-AZ" : "single-AZ";
  const engine = String(r.inputs.engine ?? "");
  const hourly = engine === "postgres" ? PRICES.rdsPostgresHourly[cls] : undefined;
  const engineName = engine === "postgres" ? "PostgreSQL" : engine || "instance";
  const item = `RDS ${engineName} ${r.name} (${cls}, ${az})`;
  if (hourly === undefined) {
    skip(
      `rds:${r.name}`,
      item,
      engine === "postgres" ? `no list price for ${cls}` : `no list prices for engine ${engine}`,
    );
  } else {
    add(`rds:${r.name}`, item, factor * hourly * h, `${factor > 1 ? "2 x " : ""}${h} h x ${rate(hourly)}/h`);
  }
  const storageType = String(r.inputs.storageType ?? "gp2");
  const gb = Number(r.inputs.allocatedStorage ?? 0);
  const perGb = PRICES.rdsStorageGbMonth[storageType];
  const storageItem = `RDS ${storageType} storage of ${r.name}, ${gb} GB (${az})`;
  if (perGb === undefined) skip(`rds-storage:${r.name}`, storageItem, `no list price for RDS ${storageType}`);
  else
    add(
      `rds-storage:${r.name}`,
      storageItem,
      factor * gb * perGb,
      `${factor > 1 ? "2 x " : ""}${gb} GB x ${rate(perGb)}/GB-month`,
    );
}

const aurora = each((r, { skip }) =>
  skip(`rds:${r.name}`, `${r.type} ${r.name}`, "Aurora is not in the price table"),
);

/** Standard (period >= 60 s) and high-resolution alarms, priced apart. */
const priceMetricAlarms: PriceRule = (alarms, pricing) => {
  const highResolution = alarms.filter((a) => typeof a.inputs.period === "number" && a.inputs.period < 60);
  perMonth(
    "alarms",
    "CloudWatch alarms",
    PRICES.alarmMonth,
    "alarm-month",
  )(
    alarms.filter((a) => !highResolution.includes(a)),
    pricing,
  );
  perMonth(
    "alarms-high-resolution",
    "High-resolution CloudWatch alarms",
    PRICES.highResolutionAlarmMonth,
    "alarm-month",
  )(highResolution, pricing);
};

/**
 * The types with a standing cost and how each is priced, in the order the estimate lists them: supporting
 * a type is one entry. A custom resource of a type neither here nor in NO_STANDING_COST is listed unpriced.
 */
export const PRICE_RULES: Record<string, PriceRule> = {
  // compute
  "aws:ec2/instance:Instance": each(priceEc2Instance),
  "aws:ecs/service:Service": each(priceFargateService),
  // network
  "aws:lb/loadBalancer:LoadBalancer": each(priceLoadBalancer),
  "aws:ec2/natGateway:NatGateway": each(priceNatGateway),
  "aws:ec2/eip:Eip": each(priceElasticIp),
  "aws:ec2/vpcEndpoint:VpcEndpoint": each(priceVpcEndpoint),
  // database
  "aws:rds/instance:Instance": each(priceRdsInstance),
  "aws:rds/cluster:Cluster": aurora,
  "aws:rds/clusterInstance:ClusterInstance": aurora,
  // per-month items
  "aws:secretsmanager/secret:Secret": perMonth(
    "secrets",
    "Secrets Manager secrets",
    PRICES.secretMonth,
    "secret-month",
  ),
  "aws:kms/key:Key": perMonth("kms", "KMS customer managed keys", PRICES.kmsKeyMonth, "key-month"),
  "aws:cloudwatch/metricAlarm:MetricAlarm": priceMetricAlarms,
  "aws:cloudwatch/compositeAlarm:CompositeAlarm": perMonth(
    "composite-alarms",
    "Composite CloudWatch alarms",
    PRICES.compositeAlarmMonth,
    "alarm-month",
  ),
  "aws:route53/zone:Zone": perMonth(
    "hosted-zones",
    "Route 53 hosted zones",
    PRICES.hostedZoneMonth,
    "zone-month",
  ),
};

/** Estimates what the resources cost per month by existing. Pure: no I/O, the same input gives the same output. */
export function estimateMonthlyCost(resources: CostResource[], options: CostOptions = {}): CostEstimate {
  const lines: CostLine[] = [];
  const unpriced: string[] = [];
  const custom = resources.filter((r) => r.custom !== false && r.type !== "pulumi:pulumi:Stack");
  const ofType = (type: string) =>
    custom.filter((r) => r.type === type).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pricing: Pricing = {
    custom,
    ofType,
    byArn: (type, arn) => custom.find((r) => r.type === type && r.state?.arn === arn),
    add: (key, item, monthly, detail) => lines.push({ key, item, usd: round2(monthly), detail }),
    skip: (key, item, why) => {
      lines.push({ key, item, usd: null, detail: `unpriced: ${why}` });
      unpriced.push(`${item}: ${why}`);
    },
  };
  for (const [type, price] of Object.entries(PRICE_RULES)) price(ofType(type), pricing);

  // Anything else with a standing cost we do not know.
  const others = custom
    .filter((r) => !Object.hasOwn(PRICE_RULES, r.type) && !NO_STANDING_COST.some((p) => p.test(r.type)))
    .sort((a, b) => (`${a.type} ${a.name}` < `${b.type} ${b.name}` ? -1 : 1));
  for (const r of others)
    pricing.skip(`other:${r.type}:${r.name}`, `${r.type} ${r.name}`, "type not in the price table");

  const excluded = [
    ...new Set(USAGE_BASED.filter((u) => custom.some((r) => u.test.test(r.type))).map((u) => u.what)),
    "data transfer out of AWS and across zones",
  ];
  const notes: string[] = [];
  if (options.region && options.region !== "us-east-1") {
    notes.push(`the stack's region is ${options.region}; prices are us-east-1's (${options.region} differs)`);
  }
  // Cents, so the printed lines add up to the printed total.
  const totalUsd = round2(lines.reduce((sum, l) => sum + Math.round((l.usd ?? 0) * 100), 0) / 100);
  return { totalUsd, costClass: costClass(totalUsd), lines, unpriced, excluded, basis: PRICE_BASIS, notes };
}

/**
 * Evaluates a stack file offline (the mock runtime `npm run plan` uses) and estimates its monthly cost: what a
 * README test needs to recompute the published figures, e.g. `estimateStackCost("Pulumi.dev.yaml", "dev")`.
 */
export async function estimateStackCost(stackFilePath: string, stackName: string): Promise<CostEstimate> {
  const file = path.resolve(stackFilePath);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${stackFilePath}`);
  const { config, secretKeys } = readStackFile(file);
  const evaluation = await evaluateProgram({ stack: stackName, config, secretKeys });
  return estimateMonthlyCost(evaluation.resources, { region: config["aws:region"] });
}

/** The estimate as text lines (the plan's summary and the README figures). */
export function formatCostEstimate(estimate: CostEstimate, indent = "  "): string[] {
  const width = Math.max(...estimate.lines.map((l) => l.item.length), 10);
  const out = [`Monthly cost estimate: ${money(estimate.totalUsd)} -> ${estimate.costClass}`];
  for (const l of estimate.lines) {
    out.push(
      `${indent}${l.item.padEnd(width)}  ${l.usd === null ? "unpriced" : money(l.usd).padStart(9)}   ${l.detail}`,
    );
  }
  out.push(`${indent}${"Total".padEnd(width)}  ${money(estimate.totalUsd).padStart(9)}`);
  if (estimate.unpriced.length > 0)
    out.push(`${indent}Not in the total (unpriced): ${estimate.unpriced.join("; ")}`);
  out.push(`${indent}Excluded (usage-based): ${estimate.excluded.join("; ")}`);
  for (const note of estimate.notes) out.push(`${indent}Note: ${note}`);
  out.push(`${indent}Prices: ${estimate.basis}.`);
  return out;
}

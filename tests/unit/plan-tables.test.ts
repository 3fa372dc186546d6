// The per-type tables of the offline plan (issue 12): EXPOSURE_RULES (scripts/plan.ts) judges every type that
// can be reachable from the internet both ways, PRICE_RULES (scripts/cost.ts) prices every type with a
// standing cost. The shipped stacks show only the private side of most types: these resources show both.
import { ACME_HTTP_INGRESS_DESCRIPTION } from "../../components/compute/ec2";
import { PRICE_RULES, estimateMonthlyCost } from "../../scripts/cost";
import { EXPOSURE_RULES, analyseExposure } from "../../scripts/plan";
import { CapturedResource } from "../support/mockRuntime";

function resource(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  state: Record<string, unknown> = {},
): CapturedResource {
  return {
    type,
    name,
    custom: true,
    inputs,
    wrappedInputs: inputs,
    protect: false,
    retainOnDelete: false,
    deleteBeforeReplace: false,
    ignoreChanges: [],
    dependsOn: [],
    waitsFor: [],
    inputDependencies: {},
    state,
    urn: `urn:pulumi:t::mlflow-platform::${type}::${name}`,
    aliases: [],
  };
}

const SG = "aws:ec2/securityGroup:SecurityGroup";
const BLOCK_ALL = {
  blockPublicAcls: true,
  blockPublicPolicy: true,
  ignorePublicAcls: true,
  restrictPublicBuckets: true,
};

/** One public and one private resource of every type in EXPOSURE_RULES (the mock id of `x` is `x-id`). */
const RESOURCES = [
  resource(SG, "world", {
    ingress: [
      { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0", "10.0.0.0/8"] },
      {
        protocol: "tcp",
        fromPort: 80,
        toPort: 80,
        cidrBlocks: ["0.0.0.0/0"],
        description: ACME_HTTP_INGRESS_DESCRIPTION,
      },
    ],
  }),
  resource(SG, "inside", {}),
  resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "from-world", {
    securityGroupId: "inside-id",
    ipProtocol: "tcp",
    fromPort: 5432,
    toPort: 5432,
    referencedSecurityGroupId: "world-id",
  }),
  resource("aws:ec2/instance:Instance", "public-vm", { vpcSecurityGroupIds: ["world-id"] }),
  resource("aws:ec2/eip:Eip", "public-vm-eip", {}, { allocationId: "eipalloc-1" }),
  resource("aws:ec2/eipAssociation:EipAssociation", "public-vm-eip", {
    instanceId: "public-vm-id",
    allocationId: "eipalloc-1",
  }),
  resource("aws:ec2/instance:Instance", "private-vm", { vpcSecurityGroupIds: ["inside-id"] }),
  resource("aws:ec2/eip:Eip", "idle-eip", {}),
  resource("aws:ec2/eip:Eip", "nat-eip", {}),
  resource("aws:ec2/natGateway:NatGateway", "nat", { allocationId: "nat-eip-id" }),
  resource("aws:ec2/natGateway:NatGateway", "private-nat", { connectivityType: "private" }),
  resource(
    "aws:lb/loadBalancer:LoadBalancer",
    "alb",
    { securityGroups: ["world-id"], subnets: ["a", "b"] },
    { arn: "arn:alb" },
  ),
  resource("aws:lb/listener:Listener", "https", {
    loadBalancerArn: "arn:alb",
    port: 443,
    protocol: "HTTPS",
    defaultActions: [{ type: "forward" }],
  }),
  resource("aws:lb/loadBalancer:LoadBalancer", "nlb", { loadBalancerType: "network", internal: true }),
  resource("aws:ecs/service:Service", "public-tasks", {
    networkConfiguration: { assignPublicIp: true, securityGroups: ["world-id"] },
  }),
  resource("aws:ecs/service:Service", "private-tasks", {
    networkConfiguration: { securityGroups: ["inside-id"] },
  }),
  resource("aws:rds/instance:Instance", "public-db", {
    publiclyAccessible: true,
    vpcSecurityGroupIds: ["world-id"],
  }),
  resource("aws:rds/instance:Instance", "private-db", { vpcSecurityGroupIds: ["inside-id"] }),
  resource("aws:s3/bucket:Bucket", "open-bucket", { acl: "public-read" }, { bucket: "open-bucket" }),
  resource("aws:s3/bucket:Bucket", "closed-bucket", {}, { bucket: "closed-bucket" }),
  resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "closed", {
    bucket: "closed-bucket",
    ...BLOCK_ALL,
  }),
  resource("azure-native:storage:StorageAccount", "open-account", {}),
  resource("azure-native:storage:StorageAccount", "closed-account", { allowBlobPublicAccess: false }),
  resource("azure-native:storage:BlobContainer", "open-container", { publicAccess: "Blob" }),
  resource("azure-native:storage:BlobContainer", "closed-container", { publicAccess: "None" }),
  resource("gcp:storage/bucket:Bucket", "granted", { publicAccessPrevention: "enforced", name: "granted" }),
  resource("gcp:storage/bucketIAMMember:BucketIAMMember", "everyone", {
    bucket: "granted",
    member: "allUsers",
  }),
  resource("gcp:storage/bucket:Bucket", "prevented", {
    publicAccessPrevention: "enforced",
    name: "prevented",
  }),
];

test("every exposure rule judges its type both ways", () => {
  const exposure = analyseExposure(RESOURCES);
  expect(exposure.public.map((p) => `${p.kind}: ${p.resource}`)).toEqual([
    "Elastic IP: aws:ec2/eip:Eip idle-eip",
    "EC2 instance: aws:ec2/instance:Instance public-vm",
    "ECS service: aws:ecs/service:Service public-tasks",
    "Application Load Balancer: aws:lb/loadBalancer:LoadBalancer alb",
    "RDS instance: aws:rds/instance:Instance public-db",
    "S3 bucket: aws:s3/bucket:Bucket open-bucket",
    "Azure blob container: azure-native:storage:BlobContainer open-container",
    "Azure storage account: azure-native:storage:StorageAccount open-account",
    "GCS bucket: gcp:storage/bucket:Bucket granted",
  ]);
  expect(exposure.egressOnly.map((e) => e.resource)).toEqual(["aws:ec2/natGateway:NatGateway nat"]);
  expect(exposure.notPublic.map((n) => n.split(":")[0])).toEqual([
    "Azure storage account closed-account",
    "EC2 instance private-vm",
    "ECS service private-tasks",
    "GCS bucket prevented",
    "Network Load Balancer nlb",
    "RDS instance private-db",
    "S3 bucket closed-bucket",
  ]);
  // Every type in the table has a resource here that it judged (the Azure container's private side is silence).
  const judged = new Set([
    ...exposure.public.map((p) => p.resource.split(" ")[0]),
    ...exposure.egressOnly.map((e) => e.resource.split(" ")[0]),
  ]);
  expect(Object.keys(EXPOSURE_RULES).filter((type) => !judged.has(type))).toEqual([]);
});

test("the exposure names ports, public sources, listeners and why port 80 is open", () => {
  const byName = Object.fromEntries(
    analyseExposure(RESOURCES).public.map((p) => [p.resource.split(" ")[1], p]),
  );
  expect(byName["public-vm"].why).toMatch(
    /^EC2 instance public-vm has Elastic IP public-vm-eip; 80\/tcp, 443\/tcp from 0\.0\.0\.0\/0 \(security group world\); port 80 serves only the ACME http-01 challenge/,
  );
  expect(byName.alb.listeners).toEqual(["443/HTTPS -> forward"]);
  expect(byName["public-db"].reachableFrom).toEqual([
    { ports: "80/tcp", cidrs: ["0.0.0.0/0"], via: "security group world" },
    { ports: "443/tcp", cidrs: ["0.0.0.0/0"], via: "security group world" },
  ]);
  const privateDb = analyseExposure(RESOURCES).notPublic.find((n) => n.startsWith("RDS instance private-db"));
  expect(privateDb).toBe(
    "RDS instance private-db: publiclyAccessible=false; admits only 5432/tcp from security group world",
  );
});

test("every price rule's type gets a line, and a type in no table is listed unpriced", () => {
  const priced = [
    ...RESOURCES,
    resource(
      "aws:ecs/taskDefinition:TaskDefinition",
      "task",
      { cpu: "512", memory: "1024" },
      { arn: "arn:task" },
    ),
    resource("aws:ec2/vpcEndpoint:VpcEndpoint", "endpoint", {
      vpcEndpointType: "Interface",
      subnetIds: ["a"],
    }),
    resource("aws:rds/cluster:Cluster", "aurora", {}),
    resource("aws:rds/clusterInstance:ClusterInstance", "aurora-1", {}),
    resource("aws:secretsmanager/secret:Secret", "secret", {}),
    resource("aws:kms/key:Key", "key", {}),
    resource("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", { period: 60 }),
    resource("aws:cloudwatch/compositeAlarm:CompositeAlarm", "composite", {}),
    resource("aws:route53/zone:Zone", "zone", {}),
    resource("aws:elasticache/cluster:Cluster", "cache", {}),
  ];
  priced.find((r) => r.name === "public-tasks")!.inputs = {
    launchType: "FARGATE",
    taskDefinition: "arn:task",
  };
  const estimate = estimateMonthlyCost(priced);
  const keyPrefixes = new Set(estimate.lines.map((l) => l.key.split(":")[0]));
  expect([...keyPrefixes].sort()).toEqual(
    [
      "alarms",
      "composite-alarms",
      "ebs",
      "ec2",
      "eip",
      "endpoint",
      "fargate",
      "hosted-zones",
      "kms",
      "lb",
      "lb-ipv4",
      "nat",
      "other",
      "rds",
      "rds-storage",
      "secrets",
    ].sort(),
  );
  expect(Object.keys(PRICE_RULES)).toHaveLength(14);
  expect(estimate.unpriced).toContain("aws:elasticache/cluster:Cluster cache: type not in the price table");
  expect(estimate.unpriced).toContain("aws:rds/cluster:Cluster aurora: Aurora is not in the price table");
});

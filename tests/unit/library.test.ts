// Issue 12: the components as a library, inside this repository (tests/unit/package.test.ts does the same from
// the packed tarball): defaults, an existing VPC, and components wired by hand with the grants.
import * as path from "path";
import type { Evaluation } from "../support/mockRuntime";
import { EVALUATION_NOW, ROOT, evaluateProgram, stopEvaluationWorker } from "../support/mockRuntime";
import { ofType, roleStatements, single, userDataOf } from "../support/inspect";

const program = path.join(ROOT, "tests", "unit", "fixtures", "library-program.ts");
const evaluate = (scenario: string): Promise<Evaluation> =>
  evaluateProgram({
    stack: "lib",
    config: { "test:scenario": scenario, "aws:region": "eu-west-1" },
    program,
    now: EVALUATION_NOW,
  });
afterAll(stopEvaluationWorker);

test("new MlflowPlatform(name, {}): S3, one EC2 server on HTTPS, the dev-sized database, its own VPC and topic", async () => {
  const e = await evaluate("defaults");
  expect(e.outputs.serverCompute.value).toBe("ec2");
  expect(e.outputs.trackingUri.value).toMatch(/^https:\/\//);
  expect(single(e, "aws:rds/instance:Instance").inputs).toMatchObject({
    instanceClass: "db.t4g.micro",
    allocatedStorage: 20,
    deletionProtection: false,
  });
  expect(single(e, "aws:ec2/instance:Instance").inputs.instanceType).toBe("t3.small");
  expect(ofType(e, "aws:s3/bucket:Bucket").length).toBeGreaterThan(0);
  expect(ofType(e, "aws:ec2/vpc:Vpc")).toHaveLength(1);
  expect(ofType(e, "aws:sns/topic:Topic")).toHaveLength(1);
  // The project and stack tag every resource, as on the shipped stacks.
  expect(single(e, "aws:rds/instance:Instance").inputs.tags).toMatchObject({
    Stack: "lib",
    ManagedBy: "pulumi",
  });
});

test("the library's defaults are the stack program's: the same resources with the same inputs as index.ts on an empty config", async () => {
  const [library, stack] = await Promise.all([
    evaluate("stack-named"),
    evaluateProgram({ stack: "lib", config: { "aws:region": "eu-west-1" }, now: EVALUATION_NOW }),
  ]);
  const described = (e: Evaluation) =>
    e.resources
      .map((r) => ({ type: r.type, name: r.name, parent: r.parent?.name, inputs: r.inputs }))
      .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
  expect(described(library).length).toBeGreaterThan(50);
  expect(described(library)).toEqual(described(stack));
});

test("an existing VPC: no network of the platform's own; the database and the server use the given subnets", async () => {
  const e = await evaluate("existing-vpc");
  for (const type of ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway"])
    expect(ofType(e, type)).toEqual([]);
  expect(single(e, "aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds).toEqual([
    "subnet-priv-a",
    "subnet-priv-b",
  ]);
  expect(single(e, "aws:ec2/instance:Instance").inputs.subnetId).toBe("subnet-pub-a");
  for (const group of ofType(e, "aws:ec2/securityGroup:SecurityGroup"))
    expect(group.inputs.vpcId).toBe("vpc-0team");
});

test("an existing VPC whose subnet lists are Outputs (awsx.ec2.Vpc's): each reaches what uses it", async () => {
  const e = await evaluate("existing-vpc-as-outputs");
  expect(ofType(e, "aws:ec2/subnet:Subnet")).toEqual([]);
  expect(single(e, "aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds).toEqual([
    "subnet-priv-a",
    "subnet-priv-b",
  ]);
  expect(single(e, "aws:ec2/instance:Instance").inputs.subnetId).toBe("subnet-pub-a");
  const container = await evaluate("existing-vpc-as-outputs-container");
  expect(single(container, "aws:lb/loadBalancer:LoadBalancer").inputs.subnets).toEqual([
    "subnet-pub-a",
    "subnet-pub-b",
  ]);
  expect(single(container, "aws:ecs/service:Service").inputs.networkConfiguration).toMatchObject({
    subnets: ["subnet-priv-a", "subnet-priv-b"],
  });
});

test("an existing VPC without its subnets is refused before anything is registered, naming what is missing", async () => {
  await expect(evaluate("existing-vpc-without-subnets")).rejects.toMatchObject({
    registeredResources: 0,
    message: expect.stringMatching(
      /MlflowPlatform: network\.vpcId needs network\.publicSubnetIds .*network\.privateSubnetIds/,
    ),
  });
});

describe("wired by hand, as MlflowPlatform does", () => {
  test("s3: the store's grant is on the program's role, and the server boots only after it", async () => {
    const e = await evaluate("wired-by-hand");
    const role = single(e, "aws:iam/role:Role");
    expect(role.parent).toBeUndefined();
    expect(single(e, "aws:ec2/instance:Instance").inputs.iamInstanceProfile).toBeDefined();
    const grant = ofType(e, "aws:iam/rolePolicy:RolePolicy").find(
      (p) => p.parent?.type === "mlflow-platform:index:ArtifactStore",
    )!;
    expect(grant.inputs.role).toBe(role.state.name);
    expect(e.outputs.environment.value).toEqual({ AWS_DEFAULT_REGION: "eu-west-1" });
    const instance = single(e, "aws:ec2/instance:Instance");
    expect(instance.waitsFor).toContainEqual({ type: grant.type, name: grant.name });
    expect(userDataOf(instance)).toContain(`AWS_DEFAULT_REGION="eu-west-1"`);
    // Every statement on the server's role allows: nothing of the grant is overridden.
    expect(roleStatements(e, role).every((s) => s.Effect === "Allow")).toBe(true);
  });

  test("the database admits the server's security group, by a rule of its own", async () => {
    const e = await evaluate("wired-by-hand");
    const rule = single(e, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    expect(rule.parent?.type).toBe("mlflow-platform:index:MetadataDatabase");
    const serverGroup = ofType(e, "aws:ec2/securityGroup:SecurityGroup").find(
      (g) => g.parent?.type === "mlflow-platform:index:TrackingServer",
    )!;
    expect(rule.inputs).toMatchObject({
      referencedSecurityGroupId: `${serverGroup.name}-id`,
      fromPort: 5432,
      toPort: 5432,
    });
    // Without a topic, the server and the database alarm to topics of their own.
    expect(
      ofType(e, "aws:sns/topic:Topic")
        .map((t) => t.parent?.type)
        .sort(),
    ).toEqual(["mlflow-platform:index:MetadataDatabase", "mlflow-platform:index:TrackingServer"]);
    // ...which each component gives back, so the caller can subscribe someone to them.
    const topicOf = (type: string) =>
      ofType(e, "aws:sns/topic:Topic").find((t) => t.parent?.type === `mlflow-platform:index:${type}`)!;
    expect(e.outputs.serverAlarmTopicArn.value).toBe(topicOf("TrackingServer").state.arn);
    expect(e.outputs.databaseAlarmTopicArn.value).toBe(topicOf("MetadataDatabase").state.arn);
    expect(topicOf("TrackingServer").state.arn).not.toBe(topicOf("MetadataDatabase").state.arn);
  });

  test("gcs: the federation trusts the program's role, and its credential reaches the server", async () => {
    const e = await evaluate("wired-by-hand-gcs");
    const provider = single(e, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
    expect(provider.inputs.attributeCondition).toMatch(/assumed-role\/team-server-0123abc'$/);
    const credential = ofType(e, "aws:secretsmanager/secret:Secret").find((s) => s.name === "team-gcs")!;
    expect(userDataOf(single(e, "aws:ec2/instance:Instance"))).toContain(String(credential.state.arn));
  });

  test("a store grants one server only, with a clear error", async () => {
    await expect(evaluate("granted-twice")).rejects.toMatchObject({
      message: expect.stringMatching(/ArtifactStore team: the s3 backend grants access to one server only/),
    });
  });
});

test("a TrackingServer's dependsOn of one resource (not a list) still holds the server back", async () => {
  const e = await evaluate("server-after-one-resource");
  expect(single(e, "aws:ec2/instance:Instance").dependsOn).toContainEqual({
    type: "aws:ec2/route:Route",
    name: "team-public-route",
  });
});

describe("awsRegion is the region of the AWS provider the components use", () => {
  test.each([
    ["an awsRegion other than aws:region", "platform-region-not-the-providers", "ap-south-1", "eu-west-1"],
    [
      "a provider for another region, awsRegion left to aws:region",
      "platform-with-a-provider-elsewhere",
      "eu-west-1",
      "ap-south-1",
    ],
  ])("%s: refused, naming both", async (_what, scenario, named, actual) => {
    await expect(evaluate(scenario)).rejects.toMatchObject({
      message: expect.stringMatching(
        new RegExp(
          `^(TrackingServer|MetadataDatabase|ArtifactStore): awsRegion: got "${named}"; allowed: "${actual}"`,
        ),
      ),
    });
  });

  test("a provider for another region with awsRegion set to it: the server names that region", async () => {
    const e = await evaluate("platform-with-its-providers-region");
    expect(userDataOf(single(e, "aws:ec2/instance:Instance"))).toContain(`AWS_DEFAULT_REGION="ap-south-1"`);
  });
});

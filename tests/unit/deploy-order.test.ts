// What the cloud does with the program, checked over every stack variant (the shipped stacks, the examples and
// the backend x compute x environment matrix): values EC2 accepts in security group descriptions, and the
// dependency graph the engine gets, so that nothing starts before what it reads at start exists.
import * as fs from "fs";
import * as path from "path";
import { CapturedResource, Evaluation, evaluateProgram } from "../support/mockRuntime";
import { cloudInitFiles, ofType, single, storedSecret, userDataOf } from "../support/inspect";
import { StackVariant, fileVariants, matrixVariants, tlsVariants } from "../support/variants";
import {
  GraphNode,
  creationOrder,
  criticalPath,
  deploymentGraph,
  estimateDeployment,
  refId,
  transitiveDependencies,
} from "../../scripts/deploymentGraph";
import { VERIFIED_TLS } from "../../components/metadataDatabase";
import { BUILD_CONTEXT, SERVER_DIR, stagedFiles } from "../../components/compute/image";
import { RDS_CA_BUNDLE_PATH, serverFileSha256 } from "../../server/render";

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const variants: StackVariant[] = [...fileVariants(), ...matrixVariants(), ...tlsVariants()];

/**
 * CreateSecurityGroup GroupDescription and every rule Description (IpRange, Ipv6Range, SecurityGroupRuleRequest):
 * "Up to 255 characters in length. Allowed characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
 * (AWS EC2 API reference). The provider checks only the length, so a bad character fails `pulumi up` itself.
 */
const EC2_DESCRIPTION = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;

const RULE_TYPES = [
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  "aws:ec2/securityGroupRule:SecurityGroupRule",
];

/** Every security group and rule description of an evaluation, named by where it is. */
function securityGroupDescriptions(e: Evaluation): [string, unknown][] {
  const found: [string, unknown][] = [];
  for (const group of ofType(e, "aws:ec2/securityGroup:SecurityGroup")) {
    // Unset, the provider sends "Managed by Pulumi"/"Managed by Terraform": valid.
    if (group.inputs.description !== undefined) found.push([refId(group), group.inputs.description]);
    for (const direction of ["ingress", "egress"] as const) {
      const rules = (group.inputs[direction] ?? []) as { description?: unknown }[];
      rules.forEach((rule, i) => {
        if (rule.description !== undefined)
          found.push([`${refId(group)} ${direction}[${i}]`, rule.description]);
      });
    }
  }
  for (const rule of e.resources.filter((r) => RULE_TYPES.includes(r.type))) {
    if (rule.inputs.description !== undefined) found.push([refId(rule), rule.inputs.description]);
  }
  return found;
}

const READS_SECRETS_AT_START = [
  "aws:ecs/service:Service",
  "aws:scheduler/schedule:Schedule",
  "aws:ec2/instance:Instance",
];

/**
 * Resources that start the server (or its gc task) and so read its secrets: the service, the instance, and
 * the schedules that run a task (not, e.g., the Azure SAS reminder, which only publishes to SNS).
 */
const startsTheServer = (r: CapturedResource) =>
  READS_SECRETS_AT_START.includes(r.type) &&
  (r.type !== "aws:scheduler/schedule:Schedule" ||
    (r.inputs.target as { ecsParameters?: unknown } | undefined)?.ecsParameters !== undefined);

/** The secret each SecretVersion stores a value in, by the secret's id. */
function versionsBySecret(e: Evaluation): Map<string, string> {
  const versions = new Map<string, string>();
  for (const version of ofType(e, "aws:secretsmanager/secretVersion:SecretVersion")) {
    const secrets = (version.inputDependencies.secretId ?? []).map(refId);
    expect([refId(version), secrets.length]).toEqual([refId(version), 1]);
    versions.set(secrets[0], refId(version));
  }
  return versions;
}

/** The role whose ARN or name an input of `r` holds (matched against the mock state). */
function roleOf(e: Evaluation, value: unknown): CapturedResource {
  const roles = ofType(e, "aws:iam/role:Role").filter((r) => r.state.arn === value || r.state.name === value);
  expect(roles).toHaveLength(1);
  return roles[0];
}

/** The inline policies and managed-policy attachments of a role. */
function policiesOf(e: Evaluation, role: CapturedResource): string[] {
  return e.resources
    .filter(
      (r) =>
        (r.type === "aws:iam/rolePolicy:RolePolicy" ||
          r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment") &&
        r.inputs.role === role.state.name,
    )
    .map(refId)
    .sort();
}

/** The roles a starting task or instance acts with. */
function rolesUsedAtStart(e: Evaluation, reader: CapturedResource): CapturedResource[] {
  if (reader.type === "aws:ec2/instance:Instance") {
    const profile = ofType(e, "aws:iam/instanceProfile:InstanceProfile").find(
      (p) => p.state.name === reader.inputs.iamInstanceProfile,
    ) as CapturedResource;
    return [roleOf(e, profile.inputs.role)];
  }
  const task = single(e, "aws:ecs/taskDefinition:TaskDefinition");
  return [roleOf(e, task.inputs.executionRoleArn), roleOf(e, task.inputs.taskRoleArn)];
}

describe.each(variants.map((v) => [v.id, v] as const))("%s", (_id, variant) => {
  let e: Evaluation;
  let nodes: GraphNode[];
  beforeAll(async () => {
    e = await evaluateProgram(variant);
    nodes = deploymentGraph(e.resources);
  }, 120_000);

  test("every security group and rule description is one EC2 accepts", () => {
    const descriptions = securityGroupDescriptions(e);
    expect(descriptions.length).toBeGreaterThan(0);
    const invalid = descriptions.filter(([, d]) => typeof d !== "string" || !EC2_DESCRIPTION.test(d));
    expect(invalid).toEqual([]);
  });

  test("the engine gets dependsOn and the resources behind Output inputs", () => {
    const version = ofType(e, "aws:secretsmanager/secretVersion:SecretVersion").find((v) =>
      v.name.endsWith("-db-uri"),
    ) as CapturedResource;
    // The URI's value needs the instance's address: an Output input, not a dependsOn.
    expect(version.dependsOn).toEqual([]);
    expect(version.waitsFor.map(refId)).toContain(refId(single(e, "aws:rds/instance:Instance")));
    expect(Object.keys(version.inputDependencies).sort()).toEqual(["secretId", "secretString"]);
    for (const r of e.resources.filter((r) => r.custom)) {
      const all = r.waitsFor.map(refId);
      for (const explicit of r.dependsOn.filter((d) => !d.type.startsWith("mlflow-platform:")))
        expect([refId(r), all]).toEqual([refId(r), expect.arrayContaining([refId(explicit)])]);
      for (const refs of Object.values(r.inputDependencies))
        expect([refId(r), all]).toEqual([refId(r), expect.arrayContaining(refs.map(refId))]);
    }
  });

  test("whatever reads a secret when it starts waits for that secret's value (its version)", () => {
    const versions = versionsBySecret(e);
    const readers = e.resources.filter(startsTheServer);
    expect(readers.length).toBeGreaterThan(0);
    for (const reader of readers) {
      const upstream = transitiveDependencies(nodes, refId(reader));
      const read = [...versions.keys()].filter((secret) => upstream.has(secret));
      // Not vacuous: every server reads at least the database URI.
      expect(read.some((s) => s.endsWith("-db-uri"))).toBe(true);
      const missing = read.filter((secret) => !upstream.has(versions.get(secret) as string));
      expect([refId(reader), missing]).toEqual([refId(reader), []]);
    }
  });

  test("the database URI verifies RDS against the CA bundle that every server and gc task has at start", () => {
    // libpq's sslmode=require would encrypt to whoever answers; verify-full checks the chain and the name.
    expect(storedSecret(e, "-db-uri").value).toMatch(
      new RegExp(`^postgresql://mlflow:[^@/]+@[^/?]+:5432/mlflow\\?${escapeRegExp(VERIFIED_TLS)}$`),
    );
    expect(VERIFIED_TLS).toBe(`sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE_PATH}`);
    const [instance] = ofType(e, "aws:ec2/instance:Instance");
    if (instance) {
      // boot.sh fetches it (sha256-checked) into /opt/mlflow/server before anything starts.
      const bootEnv = cloudInitFiles(userDataOf(instance))["/etc/mlflow/boot.env"];
      const sha256 = serverFileSha256("rds-ca-bundle.pem");
      expect(bootEnv).toMatch(
        new RegExp(` rds-ca-bundle\\.pem\\|s3://[^|]+-${sha256}\\|${sha256}\\|0644[ "]`),
      );
      expect(path.posix.join("/opt/mlflow/server", "rds-ca-bundle.pem")).toBe(RDS_CA_BUNDLE_PATH);
    } else {
      // The image the service and the gc task run is built from the staged context, which holds the bundle.
      expect(single(e, "docker-build:index:Image").inputs.context).toEqual({ location: BUILD_CONTEXT });
      expect(stagedFiles()["rds-ca-bundle.pem"]?.content).toEqual(
        fs.readFileSync(path.join(SERVER_DIR, "rds-ca-bundle.pem")),
      );
    }
  });

  test("whatever starts with a role waits for the role's policies (instance, service, gc schedule)", () => {
    for (const reader of e.resources.filter(startsTheServer)) {
      const upstream = transitiveDependencies(nodes, refId(reader));
      for (const role of rolesUsedAtStart(e, reader)) {
        const policies = policiesOf(e, role);
        expect(policies.length).toBeGreaterThan(0);
        const missing = policies.filter((p) => !upstream.has(p));
        expect([refId(reader), refId(role), missing]).toEqual([refId(reader), refId(role), []]);
      }
    }
  });

  test("the creation order puts each resource after what it waits for; RDS dominates the critical path", () => {
    const order = creationOrder(nodes);
    expect([...order].sort()).toEqual(nodes.map((n) => n.id));
    const position = new Map(order.map((id, i) => [id, i]));
    for (const node of nodes)
      for (const d of node.waitsFor)
        expect([node.id, d, position.get(d)! < position.get(node.id)!]).toEqual([node.id, d, true]);

    const estimate = estimateDeployment(e.resources);
    const rds = refId(single(e, "aws:rds/instance:Instance"));
    const step = estimate.criticalPath.find((s) => s.resource === rds);
    expect(step).toBeDefined();
    const longest = Math.max(...estimate.criticalPath.map((s) => s.minutes));
    expect(step?.minutes).toBe(longest);
    // Each step waits for the one before it.
    const byId = new Map(nodes.map((n) => [n.id, n]));
    estimate.criticalPath.slice(1).forEach((s, i) => {
      expect(byId.get(s.resource)?.waitsFor).toContain(estimate.criticalPath[i].resource);
    });
  });
});

describe("deployment graph functions", () => {
  const node = (id: string, minutes: number, ...waitsFor: string[]): GraphNode => ({
    id,
    type: id,
    minutes,
    waitsFor,
  });

  test("creation order: dependencies first, ties by id, the same every time; a cycle throws", () => {
    const nodes = [node("d", 1, "b", "c"), node("c", 1, "a"), node("b", 1), node("a", 1)];
    expect(creationOrder(nodes)).toEqual(["a", "b", "c", "d"]);
    expect(creationOrder([...nodes].reverse())).toEqual(["a", "b", "c", "d"]);
    expect(() => creationOrder([node("x", 1, "y"), node("y", 1, "x")])).toThrow(/dependency cycle/);
  });

  test("critical path: the longest chain by minutes, with start times", () => {
    const nodes = [
      node("vpc", 0.1),
      node("db", 15, "vpc"),
      node("image", 8),
      node("uri", 0.1, "db"),
      node("service", 5, "uri", "image"),
      node("alarm", 0.1, "image"),
    ];
    expect(criticalPath(nodes)).toEqual([
      { resource: "vpc", minutes: 0.1, startsAtMinute: 0 },
      { resource: "db", minutes: 15, startsAtMinute: 0.1 },
      { resource: "uri", minutes: 0.1, startsAtMinute: 15.1 },
      { resource: "service", minutes: 5, startsAtMinute: 15.2 },
    ]);
    expect([...transitiveDependencies(nodes, "service")].sort()).toEqual(["db", "image", "uri", "vpc"]);
  });

  test("Multi-AZ RDS takes longer than Single-AZ; providers take no time", () => {
    const rds = (multiAz: boolean) =>
      ({
        type: "aws:rds/instance:Instance",
        name: "db",
        custom: true,
        inputs: { multiAz },
        waitsFor: [],
      }) as unknown as CapturedResource;
    const [single, multi] = [false, true].map((m) => estimateDeployment([rds(m)]).estimatedMinutes);
    expect(multi).toBeGreaterThan(single);
    expect(single).toBeGreaterThanOrEqual(10);
    const provider = { ...rds(false), type: "pulumi:providers:aws" } as CapturedResource;
    expect(estimateDeployment([provider]).estimatedMinutes).toBe(0);
  });
});

test("the variants include the shipped container example and both compute modes", () => {
  const ids = variants.map((v) => v.id);
  expect(ids).toContain(path.join("examples", "Pulumi.container-prod.yaml"));
  expect(ids).toEqual(expect.arrayContaining(["dev/s3/container", "prod/gcs/ec2"]));
});

// `npm run plan -- --json`, its summary (exposure, monthly cost) and `npm run plan:diff`: what a pull-request
// check diffs between base and head. The JSON must be byte-for-byte deterministic and never hold a secret;
// the diff must report exactly what changed, flag new exposure and show the cost change.
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { CostResource, costClass, estimateMonthlyCost } from "../../scripts/cost";
import { PlanDocument, buildPlanDocument } from "../../scripts/plan";
import { CapturedResource, ROOT, evaluateProgram, markerFor, readStackFile } from "../support/mockRuntime";
import { matrixVariant } from "../support/variants";

const run = promisify(execFile);
const ADMIN_PASSWORD_MARKER = markerFor("mlflow-platform:adminPassword");

let dir: string;
/** Raw `--json` output by name. */
const raw: Record<string, string> = {};
const plans: Record<string, PlanDocument> = {};

async function planJson(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(
    process.execPath,
    ["-r", "./scripts/ts-register.js", "scripts/plan.ts", ...args, "--json"],
    { cwd: ROOT, encoding: "utf8", timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
  );
  // Nothing but the config warnings (placeholders of the shipped stacks, tests/unit/config-warnings.test.ts).
  expect(stderr.replace(/^warning: \[runtime\] mlflow-platform:\S+: .*\n/gm, "")).toBe("");
  return stdout;
}

function planDiff(base: string, head: string) {
  return spawnSync(
    process.execPath,
    ["-r", "./scripts/ts-register.js", "scripts/plan-diff.ts", path.join(dir, base), path.join(dir, head)],
    { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
  );
}

/** A copy of Pulumi.dev.yaml with some lines replaced. */
function devVariant(file: string, replacements: [string, string][]): string {
  let text = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
  for (const [from, to] of replacements) {
    expect(text).toContain(from);
    text = text.replace(from, to);
  }
  const target = path.join(dir, file);
  fs.writeFileSync(target, text);
  return target;
}

/** The list items of one `#### heading` section of the Markdown diff. */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`#### ${heading}`));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && (l.startsWith("#### ") || l.startsWith("<details>")));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .filter((l) => l.startsWith("- ") || l.startsWith("  - "));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-json-"));
  const adminPassword = path.join(dir, "Pulumi.dev-admin.yaml");
  fs.writeFileSync(
    adminPassword,
    fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8") +
      "  mlflow-platform:adminPassword:\n    secure: AAABAKuFakeCiphertextForTheOfflinePlan==\n",
  );
  const t3medium = devVariant("Pulumi.dev-t3medium.yaml", [
    ["instanceType: t3.small", "instanceType: t3.medium"],
    ['allowedCidrs: ["0.0.0.0/0"]', 'allowedCidrs: ["198.51.100.0/24"]'],
  ]);
  // Plain HTTP on the load balancer, asked for (a container stack needs a domain otherwise): the warning.
  const container = devVariant("Pulumi.dev-container.yaml", [
    ["compute: ec2", "compute: container\n    allowPlainHttp: true"],
  ]);
  const unpriced = devVariant("Pulumi.dev-unpriced.yaml", [
    ["instanceType: t3.small", "instanceType: x2iedn.xlarge"],
  ]);
  const jobs: [string, string[]][] = [
    ["dev", ["--stack", "dev"]],
    ["dev-again", ["--stack", "dev"]],
    ["prod", ["--stack", "prod"]],
    ["container-prod", ["--stack", "container-prod", "--config-file", "examples/Pulumi.container-prod.yaml"]],
    ["dev-admin", ["--stack", "dev", "--config-file", adminPassword]],
    ["dev-t3medium", ["--stack", "dev", "--config-file", t3medium]],
    ["dev-container", ["--stack", "dev", "--config-file", container]],
    ["dev-unpriced", ["--stack", "dev", "--config-file", unpriced]],
  ];
  // Two at a time: the machine has two cores.
  for (let i = 0; i < jobs.length; i += 2) {
    await Promise.all(
      jobs.slice(i, i + 2).map(async ([name, args]) => {
        raw[name] = await planJson(...args);
        fs.writeFileSync(path.join(dir, `${name}.json`), raw[name]);
        plans[name] = JSON.parse(raw[name]);
      }),
    );
  }
}, 240_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("plan --json", () => {
  test("is valid, sorted JSON with the documented shape", () => {
    const dev = plans.dev;
    expect(Object.keys(dev)).toEqual(["formatVersion", "stack", "resources", "outputs", "summary"]);
    expect(dev.formatVersion).toBe(1);
    expect(dev.stack).toBe("dev");
    const ids = dev.resources.map((r) => `${r.type} ${r.name}`);
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain("pulumi:pulumi:Stack mlflow-platform-dev");
    expect(dev.summary.resourceCount).toBe(68); // with the S3 objects tls.sh and requirements-acme.txt, and the store's grant
    expect(dev.summary.componentCount).toBe(5);

    const instance = dev.resources.find((r) => r.type === "aws:ec2/instance:Instance");
    expect(instance).toMatchObject({
      name: "mlflow-dev-server",
      parent: { type: "mlflow-platform:index:TrackingServer", name: "mlflow-dev" },
      custom: true,
      protect: false,
      retainOnDelete: false,
      inputs: { instanceType: "t3.small", associatePublicIpAddress: true, monitoring: true },
    });
    // Not a key input: present as a digest only (the gzipped user data is not printed).
    expect(instance?.otherInputs.userDataBase64).toMatch(/^[0-9a-f]{16}$/);
    expect(raw.dev).not.toContain("H4sI");
    const bucket = plans.prod.resources.find(
      (r) => r.name === "mlflow-prod-artifacts" && r.type === "aws:s3/bucket:Bucket",
    );
    expect(bucket).toMatchObject({ protect: true, retainOnDelete: true });
    const platform = dev.resources.find((r) => r.type === "mlflow-platform:index:MlflowPlatform");
    expect(platform).toMatchObject({ name: "mlflow-dev", parent: null, custom: false });
    expect(dev.outputs).toEqual({
      alarmTopicArn: "arn:aws:sns:us-east-1:123456789012:mlflow-dev-alarms",
      artifactRoot: "s3://mlflow-dev-artifacts-0123abc/mlflow",
      clientEnv: "[secret]",
      databaseEndpoint: "mlflow-dev-db-0123abc.cabc123.us-east-1.rds.amazonaws.com:5432",
      serverCompute: "ec2",
      trackingUri: "https://203.0.113.10",
    });
  });

  test("is deterministic: two runs give identical bytes, no paths of this checkout or machine", () => {
    expect(raw["dev-again"]).toBe(raw.dev);
    for (const text of Object.values(raw)) {
      expect(text).not.toContain(ROOT);
      expect(text).not.toContain(dir);
      expect(text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/); // no timestamps of the run
    }
    // The image build context is an absolute path in the program: the plan makes it relative.
    const image = plans["container-prod"].resources.find((r) => r.type === "docker-build:index:Image");
    expect(image?.otherInputs.context).toMatch(/^[0-9a-f]{16}$/);
  });

  test("never contains a secret value: a configured adminPassword marker is masked", async () => {
    // The test can fail: the marker really reaches the program (as the admin password secret's value).
    const { config, secretKeys } = readStackFile(path.join(dir, "Pulumi.dev-admin.yaml"));
    expect(config["mlflow-platform:adminPassword"]).toBe(ADMIN_PASSWORD_MARKER);
    const evaluation = await evaluateProgram({ stack: "dev", config, secretKeys });
    expect(JSON.stringify(evaluation.resources.map((r) => r.wrappedInputs))).toContain(ADMIN_PASSWORD_MARKER);

    for (const [name, text] of Object.entries(raw)) {
      expect([name, text.includes(ADMIN_PASSWORD_MARKER)]).toEqual([name, false]);
      // Nor any generated secret (database password, flask key, ...): every mocked secret is a SECRETMARKER.
      expect([name, /SECRETMARKER/.test(text)]).toEqual([name, false]);
    }
    const secretVersion = plans["dev-admin"].resources.find(
      (r) =>
        r.type === "aws:secretsmanager/secretVersion:SecretVersion" && r.name === "mlflow-dev-admin-password",
    );
    expect(secretVersion?.otherInputs.secretString).toMatch(/^[0-9a-f]{16}$/);
    expect(plans["dev-admin"].outputs.clientEnv).toBe("[secret]");
  });
});

describe("plan --json: the dependency graph", () => {
  const SHOWN = ["dev", "prod", "container-prod"];
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const idOf = (r: { type: string; name: string }) => `${r.type} ${r.name}`;
  const rdsStep = (plan: PlanDocument) =>
    plan.summary.deployment.criticalPath.find((s) => s.resource.startsWith("aws:rds/instance:Instance "));

  test.each(SHOWN)("%s: sorted dependencies per resource, each created after what it waits for", (name) => {
    const plan = plans[name];
    const custom = plan.resources.filter((r) => r.custom).map(idOf);
    const order = plan.summary.deployment.creationOrder;
    expect([...order].sort(compare)).toEqual([...custom].sort(compare));
    const position = new Map(order.map((id, i) => [id, i]));
    for (const r of plan.resources.filter((r) => r.custom)) {
      expect(r.dependencies).toEqual([...new Set(r.dependencies)].sort(compare));
      for (const d of r.dependencies)
        expect([idOf(r), d, position.get(d)! < position.get(idOf(r))!]).toEqual([idOf(r), d, true]);
    }
    // Not vacuous: the instance or the service waits for the database URI's value.
    const uri = `aws:secretsmanager/secretVersion:SecretVersion mlflow-${name}-db-uri`;
    const server = plan.resources.find((r) => /^aws:(ec2\/instance|ecs\/service)/.test(r.type));
    expect(server?.dependencies).toContain(uri);
  });

  test.each(SHOWN)(
    "%s: the critical path runs through RDS, the longest step; its length is the estimate",
    (name) => {
      const { criticalPath, estimatedMinutes, minutesByType } = plans[name].summary.deployment;
      const rds = rdsStep(plans[name]);
      expect(rds?.minutes).toBe(Math.max(...criticalPath.map((s) => s.minutes)));
      expect(minutesByType["aws:rds/instance:Instance"]).toBe(rds?.minutes);
      const last = criticalPath[criticalPath.length - 1];
      expect(estimatedMinutes).toBeCloseTo(last.startsAtMinute + last.minutes, 5);
      expect(criticalPath[0].startsAtMinute).toBe(0);
      for (let i = 1; i < criticalPath.length; i++) {
        const step = plans[name].resources.find((r) => idOf(r) === criticalPath[i].resource);
        expect(step?.dependencies).toContain(criticalPath[i - 1].resource);
        expect(criticalPath[i].startsAtMinute).toBeCloseTo(
          criticalPath[i - 1].startsAtMinute + criticalPath[i - 1].minutes,
          5,
        );
      }
    },
  );

  test("Multi-AZ prod waits longer for RDS than dev; container-prod's service waits for the database URI", () => {
    expect(rdsStep(plans.prod)?.minutes).toBeGreaterThan(rdsStep(plans.dev)?.minutes ?? Infinity);
    const { criticalPath, creationOrder } = plans["container-prod"].summary.deployment;
    const service = "aws:ecs/service:Service mlflow-container-prod-server";
    const uri = "aws:secretsmanager/secretVersion:SecretVersion mlflow-container-prod-db-uri";
    expect(creationOrder.indexOf(service)).toBeGreaterThan(creationOrder.indexOf(uri));
    expect(criticalPath.map((s) => s.resource)).toEqual(expect.arrayContaining([uri, service]));
  });
});

test("a secret inside a key input prints as [secret]; digests do not depend on secret values", () => {
  const resource = (password: string): CapturedResource => ({
    type: "aws:rds/instance:Instance",
    name: "db",
    custom: true,
    inputs: {},
    wrappedInputs: {
      instanceClass: "db.t4g.micro",
      engine: { __secret__: "postgres" },
      ingress: [{ cidrBlocks: ["10.0.0.0/8"], description: { __secret__: password } }],
      password: { __secret__: password },
    },
    protect: false,
    retainOnDelete: false,
    deleteBeforeReplace: false,
    ignoreChanges: [],
    dependsOn: [],
    waitsFor: [],
    inputDependencies: {},
    state: {},
    urn: "urn:pulumi:t::mlflow-platform::aws:rds/instance:Instance::db",
    aliases: [],
  });
  const doc = (password: string) =>
    buildPlanDocument("t", {
      resources: [resource(password)],
      outputs: {
        uri: { value: `postgresql://u:${password}@h/db`, secret: true },
        plain: { value: 1, secret: false },
      },
    });
  const [a, b] = [doc("SECRETMARKERone"), doc("SECRETMARKERtwo")];
  expect(a.resources[0].inputs).toEqual({
    engine: "[secret]",
    ingress: [{ cidrBlocks: ["10.0.0.0/8"], description: "[secret]" }],
    instanceClass: "db.t4g.micro",
  });
  expect(a.outputs).toEqual({ plain: 1, uri: "[secret]" });
  expect(JSON.stringify(a)).not.toMatch(/SECRETMARKER/);
  expect(a.resources[0].otherInputs.password).toMatch(/^[0-9a-f]{16}$/);
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
});

describe("summary: what is public", () => {
  test("dev (EC2): the instance's Elastic IP, 443 from allowedCidrs, 80 for ACME and the redirect; nothing else", () => {
    const s = plans.dev.summary;
    expect(s.public).toEqual([
      {
        resource: "aws:ec2/instance:Instance mlflow-dev-server",
        kind: "EC2 instance",
        why:
          "EC2 instance mlflow-dev-server has Elastic IP mlflow-dev-server and a public IP at launch " +
          "(associatePublicIpAddress); 80/tcp, 443/tcp from 0.0.0.0/0 (security group mlflow-dev-server); " +
          "port 80 serves only the ACME http-01 challenge and a redirect to HTTPS, open to the world because " +
          "the CA validates from addresses it does not publish (server.acme.challenge dns-01 keeps it closed)",
        reachableFrom: [
          { ports: "80/tcp", cidrs: ["0.0.0.0/0"], via: "security group mlflow-dev-server" },
          { ports: "443/tcp", cidrs: ["0.0.0.0/0"], via: "security group mlflow-dev-server" },
        ],
      },
    ]);
    expect(s.warnings).toEqual([]);
    expect(s.egressOnly).toEqual([]);
    expect(s.notPublic).toEqual([
      "RDS instance mlflow-dev-db: publiclyAccessible=false; admits only 5432/tcp from security group mlflow-dev-server",
      "S3 bucket mlflow-dev-artifacts: all public access blocked (blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets)",
      "S3 bucket mlflow-dev-server-runtime: all public access blocked (blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets)",
    ]);
    expect(plans.prod.summary.public.map((p) => p.reachableFrom)).toEqual([
      [
        { ports: "80/tcp", cidrs: ["0.0.0.0/0"], via: "security group mlflow-prod-server" },
        { ports: "443/tcp", cidrs: ["198.51.100.0/24"], via: "security group mlflow-prod-server" },
      ],
    ]);
    expect(plans.prod.summary.warnings).toEqual([]);
    expect(plans["container-prod"].summary.warnings).toEqual([]);
  });

  test("plain HTTP (server.allowPlainHttp) is a warning that says who can reach it", () => {
    expect(plans["dev-container"].summary.warnings).toEqual([
      "plain HTTP (server.allowPlainHttp: true): http://mlflow-dev-server-0123abc-1234567890.us-east-1.elb.amazonaws.com " +
        "carries passwords and tokens in clear from 0.0.0.0/0 (the whole internet: the policy pack refuses this)",
    ]);
  });

  test("container-prod: the ALB on 443/80 from the allowed CIDRs; tasks private; NAT egress only", () => {
    const s = plans["container-prod"].summary;
    const cidrs = ["198.51.100.0/24", "203.0.113.0/24"];
    expect(s.public).toHaveLength(1);
    expect(s.public[0]).toMatchObject({
      resource: "aws:lb/loadBalancer:LoadBalancer mlflow-container-prod-server",
      kind: "Application Load Balancer",
      listeners: ["80/HTTP -> redirect to HTTPS", "443/HTTPS -> forward"],
      reachableFrom: [
        { ports: "80/tcp", cidrs, via: "security group mlflow-container-prod-alb" },
        { ports: "443/tcp", cidrs, via: "security group mlflow-container-prod-alb" },
      ],
    });
    expect(s.public[0].why).toMatch(
      /^internet-facing Application Load Balancer mlflow-container-prod-server in 2 public subnets/,
    );
    expect(s.egressOnly).toEqual([
      {
        resource: "aws:ec2/natGateway:NatGateway mlflow-container-prod-nat",
        why:
          "NAT gateway mlflow-container-prod-nat (Elastic IP mlflow-container-prod-nat-eip): outbound only, " +
          "for the private subnets; accepts no inbound connections",
      },
    ]);
    expect(s.notPublic).toContain(
      "ECS service mlflow-container-prod-server: tasks without public IPs (assignPublicIp=false); " +
        "admits only 5000/tcp from security group mlflow-container-prod-alb",
    );
    expect(s.notPublic.filter((n) => n.startsWith("RDS instance"))).toHaveLength(1);
  });
});

describe("summary: monthly cost", () => {
  const line = (plan: PlanDocument, key: string) => plan.summary.cost.lines.find((l) => l.key === key);

  test("the README figures: dev, prod and container-prod totals and classes", () => {
    expect([plans.dev.summary.cost.totalUsd, plans.dev.summary.cost.costClass]).toEqual([
      38.41,
      "$ (< $50/month)",
    ]);
    expect([plans.prod.summary.cost.totalUsd, plans.prod.summary.cost.costClass]).toEqual([
      352.71,
      "$$$ ($250-1000/month)",
    ]);
    expect(plans["container-prod"].summary.cost.totalUsd).toBe(426.17);
    expect(plans.dev.summary.cost.basis).toMatch(/^approximate, us-east-1 on-demand list prices, 2026/);
    expect(plans.dev.summary.cost.excluded).toContain("S3 storage and requests");
    expect(plans["container-prod"].summary.cost.excluded).toContain(
      "NAT gateway data processing ($0.045/GB)",
    );
    for (const p of ["dev", "prod", "container-prod"]) {
      const c = plans[p].summary.cost;
      expect(c.unpriced).toEqual([]);
      // The printed lines add up to the printed total.
      expect(Math.round(c.lines.reduce((s, l) => s + (l.usd ?? 0), 0) * 100) / 100).toBe(c.totalUsd);
    }
  });

  test("prod costs more than dev; Multi-AZ doubles the RDS instance and storage lines", () => {
    expect(plans.prod.summary.cost.totalUsd).toBeGreaterThan(plans.dev.summary.cost.totalUsd);
    expect(line(plans.prod, "rds:mlflow-prod-db")).toMatchObject({
      usd: 245.28,
      detail: "2 x 730 h x $0.168/h",
    });
    expect(line(plans.dev, "rds:mlflow-dev-db")).toMatchObject({ usd: 11.68, detail: "730 h x $0.016/h" });

    const db = (multiAz: boolean): CostResource => ({
      type: "aws:rds/instance:Instance",
      name: "db",
      inputs: {
        engine: "postgres",
        instanceClass: "db.t4g.small",
        multiAz,
        allocatedStorage: 50,
        storageType: "gp3",
      },
    });
    const [single, multi] = [estimateMonthlyCost([db(false)]), estimateMonthlyCost([db(true)])];
    expect(single.lines.map((l) => l.usd)).toEqual([23.36, 5.75]);
    expect(multi.lines.map((l) => l.usd)).toEqual([46.72, 11.5]);
    expect(multi.lines[0].item).toBe("RDS PostgreSQL db (db.t4g.small, Multi-AZ)");
  });

  test("container costs more than EC2 for the same stack sizes: Fargate tasks, ALB, NAT", async () => {
    const [ec2, container] = await Promise.all(
      (["ec2", "container"] as const).map((compute) => evaluateProgram(matrixVariant("dev", "s3", compute))),
    );
    const [e, c] = [estimateMonthlyCost(ec2.resources), estimateMonthlyCost(container.resources)];
    expect(c.totalUsd).toBeGreaterThan(e.totalUsd);
    expect(c.lines.map((l) => l.key)).toEqual(
      expect.arrayContaining(["fargate:mlflow-dev-server", "lb:mlflow-dev-server", "nat:mlflow-dev-nat"]),
    );
    // 2 tasks x (1 vCPU x $0.04048 + 2 GB x $0.004445) x 730 h.
    expect(c.lines.find((l) => l.key === "fargate:mlflow-dev-server")?.usd).toBe(72.08);
    // The same database line in both: only the server part differs.
    expect(c.lines.find((l) => l.key === "rds:mlflow-dev-db")).toEqual(
      e.lines.find((l) => l.key === "rds:mlflow-dev-db"),
    );
    expect(plans["dev-container"].summary.cost.totalUsd).toBe(c.totalUsd);
  });

  test("an unknown instance type or resource is unpriced, not invented", () => {
    const cost = plans["dev-unpriced"].summary.cost;
    expect(line(plans["dev-unpriced"], "ec2:mlflow-dev-server")).toEqual({
      key: "ec2:mlflow-dev-server",
      item: "EC2 instance mlflow-dev-server (x2iedn.xlarge)",
      usd: null,
      detail: "unpriced: no list price for x2iedn.xlarge",
    });
    expect(cost.unpriced).toEqual([
      "EC2 instance mlflow-dev-server (x2iedn.xlarge): no list price for x2iedn.xlarge",
    ]);
    // The rest is still priced: dev minus the t3.small line.
    expect(cost.totalUsd).toBe(Math.round((38.41 - 15.18) * 100) / 100);

    const estimate = estimateMonthlyCost([
      {
        type: "aws:rds/instance:Instance",
        name: "db",
        inputs: { engine: "postgres", instanceClass: "db.x2g.large" },
      },
      { type: "aws:elasticache/cluster:Cluster", name: "cache", inputs: {} },
      { type: "aws:iam/role:Role", name: "free", inputs: {} },
    ]);
    expect(estimate.lines.filter((l) => l.usd === null).map((l) => l.key)).toEqual([
      "rds:db",
      "other:aws:elasticache/cluster:Cluster:cache",
    ]);
    expect(estimate.totalUsd).toBe(0);
  });

  test("cost classes", () => {
    expect([0, 49.99, 50, 249.99, 250, 1000, 1000.01].map(costClass)).toEqual([
      "$ (< $50/month)",
      "$ (< $50/month)",
      "$$ ($50-250/month)",
      "$$ ($50-250/month)",
      "$$$ ($250-1000/month)",
      "$$$ ($250-1000/month)",
      "$$$$ (> $1000/month)",
    ]);
  });
});

describe("plan:diff", () => {
  test("identical plans: No changes", () => {
    const result = planDiff("dev.json", "dev-again.json");
    expect(result.status).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("### Offline plan: `dev`\n\nNo changes.\n");
  });

  test("instanceType and allowedCidrs: exactly two changed resources, the cost change, exposure reduced", () => {
    const result = planDiff("dev.json", "dev-t3medium.json");
    expect(result.status).toBe(0);
    const md = result.stdout;
    expect(md).toContain(
      "- **Monthly cost:** $38.41 → $53.60 (+$15.19); **class $ (< $50/month) → $$ ($50-250/month)**",
    );
    expect(md).toContain("- **Resources:** 0 added, 0 removed, 2 changed (68 → 68 resources)");
    expect(section(md, "Replaced")).toEqual([]);
    expect(section(md, "Updated in place")).toEqual([
      "- `aws:ec2/instance:Instance` `mlflow-dev-server`",
      '  - `instanceType`: `"t3.small"` → `"t3.medium"`',
      "- `aws:ec2/securityGroup:SecurityGroup` `mlflow-dev-server`",
      '  - `ingress`: `[{"cidrBlocks":["0.0.0.0/0"],"description":"HTTPS to nginx","fromPort":443,"protocol":"tcp","toPort":443},' +
        '{"cidrBlocks":["0.0.0.0/0"],"description":"ACME http-01 challenge and redirect to HTTPS only","fromPort":80,"protocol":"tcp","toPort":80}]`' +
        ' → `[{"cidrBlocks":["198.51.100.0/24"],"description":"HTTPS to nginx","fromPort":443,"protocol":"tcp","toPort":443},' +
        '{"cidrBlocks":["0.0.0.0/0"],"description":"ACME http-01 challenge and redirect to HTTPS only","fromPort":80,"protocol":"tcp","toPort":80}]`',
    ]);
    expect(section(md, "Added")).toEqual([]);
    expect(section(md, "Removed")).toEqual([]);
    expect(section(md, "Outputs changed")).toEqual([]);
    expect(md).toContain(
      "> ✅ **Exposure reduced:** EC2 instance `mlflow-dev-server`: no longer 443/tcp from 0.0.0.0/0 (now: 80/tcp from 0.0.0.0/0; 443/tcp from 198.51.100.0/24)",
    );
    expect(md).not.toContain("⚠️");
    expect(md).toContain(
      "| EC2 instance mlflow-dev-server (t3.small) → EC2 instance mlflow-dev-server (t3.medium) | $15.18 | $30.37 |",
    );

    // The other way round, the wider range is newly reachable: flagged.
    const back = planDiff("dev-t3medium.json", "dev.json").stdout;
    expect(back).toContain(
      "> ⚠️ **Newly reachable from the internet:** EC2 instance `mlflow-dev-server`: 443/tcp from 0.0.0.0/0",
    );
    expect(back).toContain(
      "- **Monthly cost:** $53.60 → $38.41 (-$15.19); **class $$ ($50-250/month) → $ (< $50/month)**",
    );
  });

  test("compute ec2 -> container: the ALB newly public, the instance no longer, NAT egress, cost and outputs", () => {
    const result = planDiff("dev.json", "dev-container.json");
    expect(result.status).toBe(0);
    const md = result.stdout;
    const lines = md.split("\n");
    // Exposure comes first, before the numbers.
    expect(lines[2]).toMatch(
      /^> ⚠️ \*\*Newly public:\*\* Application Load Balancer `mlflow-dev-server`: internet-facing Application Load Balancer mlflow-dev-server in 2 public subnets; listeners 80\/HTTP -> forward; 80\/tcp from 0\.0\.0\.0\/0 \(security group mlflow-dev-alb\)$/,
    );
    expect(md).toContain(
      "> ⚠️ **New internet egress:** NAT gateway mlflow-dev-nat (Elastic IP mlflow-dev-nat-eip)",
    );
    expect(md).toContain("> ✅ **No longer public:** EC2 instance `mlflow-dev-server`");
    const total = plans["dev-container"].summary.cost.totalUsd.toFixed(2);
    expect(md).toContain(
      `- **Monthly cost:** $38.41 → $${total} (+$${(Number(total) - 38.41).toFixed(2)}); **class $ (< $50/month) → $$ ($50-250/month)**`,
    );
    expect(section(md, "Added")).toContain(
      '- `aws:lb/loadBalancer:LoadBalancer` `mlflow-dev-server`: `enableDeletionProtection=false` `internal=false` `loadBalancerType="application"` `securityGroups=["mlflow-dev-alb-id"]` `subnets=["mlflow-dev-public-0-id","mlflow-dev-public-1-id"]`',
    );
    expect(section(md, "Removed")).toContain("- `aws:ec2/instance:Instance` `mlflow-dev-server`");
    expect(section(md, "Outputs changed")).toEqual([
      '- `serverCompute`: `"ec2"` → `"container"`',
      '- `trackingUri`: `"https://203.0.113.10"` → `"http://mlflow-dev-server-0123abc-1234567890.us-east-1.elb.amazonaws.com"`',
    ]);
    // Added, removed and changed resources are exactly the plans' differences.
    const ids = (p: PlanDocument) => new Set(p.resources.map((r) => `${r.type}\` \`${r.name}`));
    const [before, after] = [ids(plans.dev), ids(plans["dev-container"])];
    // An added line ends with its flags (` (component)`: the container mode's parts) and inputs, if any.
    expect(section(md, "Added").map((l) => l.replace(/^- `|`( \([a-z, ]+\))?(:.*)?$/g, ""))).toEqual(
      [...after].filter((x) => !before.has(x)),
    );
    expect(section(md, "Removed").map((l) => l.replace(/^- `|`$/g, ""))).toEqual(
      [...before].filter((x) => !after.has(x)),
    );
  });

  test("replacements are shown apart from updates, with the inputs that force them; stateful ones flagged", () => {
    const head = JSON.parse(raw.dev) as PlanDocument;
    const find = (type: string) =>
      head.resources.find((r) => r.type === type) as PlanDocument["resources"][number];
    const group = find("aws:rds/parameterGroup:ParameterGroup");
    group.otherInputs = { ...group.otherInputs, family: "digest-of-postgres16" };
    const bucket = find("aws:s3/bucket:Bucket");
    bucket.otherInputs = { ...bucket.otherInputs, bucket: "digest-of-a-new-name" };
    const instance = find("aws:ec2/instance:Instance");
    instance.inputs = { ...instance.inputs, instanceType: "t3.medium" };
    fs.writeFileSync(path.join(dir, "dev-replacing.json"), JSON.stringify(head));
    const md = planDiff("dev.json", "dev-replacing.json").stdout;
    expect(section(md, "Replaced").filter((l) => l.startsWith("- "))).toEqual([
      `- \`aws:rds/parameterGroup:ParameterGroup\` \`${group.name}\`, replaced because of family`,
      `- \`aws:s3/bucket:Bucket\` \`${bucket.name}\`${bucket.protect ? " (protected)" : ""}, replaced because of bucket ⚠️ **stateful: its data goes with it**`,
    ]);
    expect(section(md, "Updated in place")).toEqual([
      "- `aws:ec2/instance:Instance` `mlflow-dev-server`",
      '  - `instanceType`: `"t3.small"` → `"t3.medium"`',
    ]);
  });

  test("secrets stay masked; unreadable input exits non-zero", () => {
    const admin = planDiff("dev.json", "dev-admin.json");
    expect(admin.status).toBe(0);
    expect(admin.stdout).not.toMatch(/SECRETMARKER/);

    fs.writeFileSync(path.join(dir, "not-a-plan.json"), '{"hello": 1}');
    const invalid = planDiff("dev.json", "not-a-plan.json");
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toMatch(/not-a-plan\.json is not a plan document/);
    expect(invalid.stdout).toBe("");
    // A base commit from before this format: readable, not comparable; the check does not fail.
    fs.writeFileSync(
      path.join(dir, "old.json"),
      JSON.stringify({ stack: "dev", resources: [], outputs: {} }),
    );
    const old = planDiff("old.json", "dev.json");
    expect(old.status).toBe(0);
    expect(old.stdout).toMatch(/^### Offline plan: `dev`\n\n`.*old\.json` is a plan of an older format/);
    const missing = planDiff("dev.json", "missing.json");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^error: cannot read .*missing\.json/);
  });
});

// Container compute mode (ECS Fargate behind an ALB), evaluated offline with the mock runtime for dev and prod
// with every artifact backend, plus the server image's Dockerfile and content tag.
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  CapturedResource,
  Evaluation,
  ROOT,
  SECRET_WRAPPER,
  evaluateProgram,
  readStackFile,
} from "../support/mockRuntime";
import { isDeepStrictEqual } from "util";
import {
  actionsOf,
  asList,
  descendantsOf,
  isUnder,
  ofType,
  roleStatements,
  single,
  statements,
} from "../support/inspect";
import {
  BACKENDS,
  ENVIRONMENTS,
  StackVariant,
  TEST_DOMAIN,
  TEST_ZONE,
  matrixVariant,
} from "../support/variants";
import {
  IMAGE_BUILD_FILES,
  SERVER_RUNTIME_FILES,
  dockerfileCopySources,
  goFileModeString,
  imageContentHash,
  imageTag,
  readBuildContext,
  stageBuildContext,
  BUILD_CONTEXT,
} from "../../components/compute/image";
import { loadSettings } from "../../stacks/config";
import {
  FETCHED_SERVER_FILES,
  GC_SCHEDULE,
  RDS_CA_BUNDLE_PATH,
  SECRET_VARIABLES as START_SCRIPT_SECRETS,
  pinnedMlflowVersion,
  readServerFile,
} from "../../server/render";
import {
  CONTAINER_NAME,
  DEREGISTRATION_DELAY_SECONDS,
  HEALTHY_THRESHOLD,
  HEALTH_CHECK_INTERVAL_SECONDS,
  STOP_TIMEOUT_SECONDS,
  serviceName,
} from "../../components/compute/container";
import type { IamStatement } from "../../components/iam";
import { artifactBackend } from "../../components/registry";
import { ARTIFACT_BACKENDS } from "../../components/enums";

/** The weekly gc schedule (Azure stacks also have the SAS expiry reminder, another Schedule). */
const gcSchedule = (e: Evaluation) =>
  single(
    e,
    "aws:scheduler/schedule:Schedule",
    ofType(e, "aws:scheduler/schedule:Schedule").find((s) => s.name.endsWith("-gc"))?.name,
  );

const SERVER = "mlflow-platform:index:TrackingServer";
const NETWORK = "mlflow-platform:index:Network";
const DOMAIN = TEST_DOMAIN;
const ZONE = TEST_ZONE;
const SECRET_VARIABLES = [
  "MLFLOW_BACKEND_STORE_URI",
  "MLFLOW_AUTH_ADMIN_PASSWORD",
  "MLFLOW_FLASK_SERVER_SECRET_KEY",
  "AZURE_STORAGE_CONNECTION_STRING",
  "GOOGLE_CREDENTIALS_JSON",
];
/** The artifact store's credential per backend: the server reads it itself and re-reads it while running. */
const ARTIFACT_CREDENTIAL: Record<string, string | undefined> = {
  s3: undefined,
  azureBlob: "AZURE_STORAGE_CONNECTION_STRING",
  gcs: "GOOGLE_CREDENTIALS_JSON",
};

interface ContainerDefinition {
  name: string;
  image: string;
  user?: string;
  readonlyRootFilesystem?: boolean;
  portMappings: { containerPort: number }[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  mountPoints: { sourceVolume: string; containerPath: string }[];
  logConfiguration: { logDriver: string; options: Record<string, string> };
}

const refOf = (r: CapturedResource) => `${r.type} ${r.name}`;

function withServer(variant: StackVariant, extra: Record<string, unknown>): StackVariant {
  const server = JSON.parse(variant.config["mlflow-platform:server"]);
  return {
    ...variant,
    config: { ...variant.config, "mlflow-platform:server": JSON.stringify({ ...server, ...extra }) },
  };
}

/** The one container of the task definition. */
function taskContainer(e: Evaluation): ContainerDefinition {
  const definitions = JSON.parse(
    String(single(e, "aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions),
  );
  expect(definitions).toHaveLength(1);
  return definitions[0];
}

function taskEnvironment(e: Evaluation): Record<string, string> {
  return Object.fromEntries(taskContainer(e).environment.map((v) => [v.name, v.value]));
}

/** The server's roles (under the TrackingServer) trusted by `service`. */
function rolesTrustedBy(e: Evaluation, service: string): CapturedResource[] {
  return descendantsOf(e, "aws:iam/role:Role", SERVER).filter(
    (r) => (statements(r.inputs.assumeRolePolicy)[0].Principal as { Service?: string }).Service === service,
  );
}

interface GcTarget {
  arn: string;
  roleArn: string;
  input: string;
  ecsParameters: {
    taskDefinitionArn: string;
    launchType: string;
    taskCount: number;
    networkConfiguration: { subnets: string[]; securityGroups: string[]; assignPublicIp: boolean };
  };
  retryPolicy?: { maximumRetryAttempts?: number };
}

/**
 * docker-build's context hash, reimplemented from pulumi/pulumi-docker-build provider/internal/context.go
 * (`hashBuildContext`, `hashFile`): sha256 over the Dockerfile's content, then for each file of the context
 * that .dockerignore admits, in walk (lexical) order: its content, its relative path, Go's FileMode.String().
 */
function dockerBuildContextHash(dir: string): string {
  const h = createHash("sha256");
  h.update(fs.readFileSync(path.join(dir, "Dockerfile")));
  for (const f of [...IMAGE_BUILD_FILES, ...SERVER_RUNTIME_FILES].sort()) {
    const file = path.join(dir, f);
    h.update(fs.readFileSync(file));
    h.update(f);
    h.update(goFileModeString(fs.lstatSync(file).mode));
  }
  return h.digest("hex");
}

describe("server image", () => {
  const serverDir = path.join(ROOT, "server");
  const dockerfile = fs.readFileSync(path.join(serverDir, "Dockerfile"), "utf8");

  test("the Dockerfile COPYs exactly the runtime files the EC2 mode installs", () => {
    const copied = dockerfileCopySources(dockerfile);
    expect([...new Set(copied)].sort()).toEqual([...SERVER_RUNTIME_FILES].sort());
    // The EC2 mode installs the same files from server/: in the cloud-config, or fetched by boot.sh.
    const render = fs.readFileSync(path.join(serverDir, "render.ts"), "utf8");
    for (const file of SERVER_RUNTIME_FILES) {
      expect([file, render.includes(`readServerFile("${file}")`) || file in FETCHED_SERVER_FILES]).toEqual([
        file,
        true,
      ]);
      expect(fs.existsSync(path.join(serverDir, file))).toBe(true);
    }
  });

  test("the RDS CA bundle lands where the database URI names it, readable by the server's user", () => {
    const copy = /^COPY --chown=root:root --chmod=(\d+) rds-ca-bundle\.pem (\S+)$/m.exec(dockerfile);
    expect(copy?.[1]).toBe("0644");
    expect(path.posix.join(copy?.[2] ?? "", "rds-ca-bundle.pem")).toBe(RDS_CA_BUNDLE_PATH);
  });

  test("multi-stage, pinned slim base, hash-checked install, non-root, health check, start script", () => {
    const from = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];
    expect(from).toHaveLength(2);
    expect(from[0][2]).toBe("builder");
    expect(dockerfile).toMatch(/^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$/m);
    expect(dockerfile).toMatch(
      /pip install --require-hashes --no-deps --only-binary=:all: -r \/tmp\/requirements\.txt/,
    );
    expect(dockerfile).toMatch(/^COPY --from=builder \/opt\/mlflow\/venv \/opt\/mlflow\/venv$/m);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(finalStage).not.toMatch(/apt-get|gcc|build-essential|pip install/);
    expect(finalStage).toMatch(/^USER 10001:10001$/m);
    expect(finalStage).toMatch(/^HEALTHCHECK .*\n?.*urllib\.request.*\/health/m);
    expect(finalStage).toMatch(/^ENTRYPOINT \["\/opt\/mlflow\/server\/start\.sh"\]$/m);
    expect(finalStage).toMatch(/MLFLOW_HOST=0\.0\.0\.0/);
    // Fargate makes the task's /tmp volume from the declared VOLUME: world-writable, so uid 10001 can write.
    const volumeAt = finalStage.search(/^VOLUME \["\/tmp"\]$/m);
    const chmodAt = finalStage.search(/^RUN chmod 1777 \/tmp$/m);
    expect(chmodAt).toBeGreaterThan(0);
    expect(volumeAt).toBeGreaterThan(chmodAt);
    expect(finalStage.search(/^USER 10001:10001$/m)).toBeGreaterThan(volumeAt);
  });

  test(".dockerignore admits only the hashed files", () => {
    const rules = fs
      .readFileSync(path.join(serverDir, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(rules[0]).toBe("*");
    expect(rules.slice(1).sort()).toEqual(
      [...IMAGE_BUILD_FILES, ...SERVER_RUNTIME_FILES].map((f) => `!${f}`).sort(),
    );
  });

  test("dockerfileCopySources skips stage copies and reads flags, continuations and JSON form", () => {
    const text = [
      "FROM x AS b",
      "COPY a.txt /a",
      "COPY --from=b /opt /opt",
      'COPY --chown=1:1 --chmod=0755 ["b.sh", "c.py", "/srv/"]',
      "ADD d \\",
      "  e /dst/",
    ].join("\n");
    expect(dockerfileCopySources(text)).toEqual(["a.txt", "b.sh", "c.py", "d", "e"]);
  });

  test("the image tag is a content hash: a changed server file changes it, nothing else does", () => {
    const files = { "start.sh": "#!/bin/sh\n", "requirements.txt": "mlflow==1\n", Dockerfile: "FROM x\n" };
    const hash = imageContentHash(files);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(
      imageContentHash({
        Dockerfile: "FROM x\n",
        "requirements.txt": "mlflow==1\n",
        "start.sh": "#!/bin/sh\n",
      }),
    ).toBe(hash);
    expect(imageContentHash({ ...files, "start.sh": "#!/bin/sh\necho\n" })).not.toBe(hash);
    expect(imageContentHash({ ...files, "requirements.txt": "mlflow==2\n" })).not.toBe(hash);
    // Moving content between files is a change too.
    expect(imageContentHash({ a: "xy", b: "" })).not.toBe(imageContentHash({ a: "x", b: "y" }));
    expect(imageContentHash()).toBe(imageContentHash());
    const tag = imageTag("3.17.2", hash);
    expect(tag).toBe(`3.17.2-${hash.slice(0, 16)}`);
    expect(tag).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/); // a valid OCI tag
  });

  test("file modes print as Go's FileMode.String() (what docker-build hashes)", () => {
    expect(goFileModeString(0o100644, "linux")).toBe("-rw-r--r--");
    expect(goFileModeString(0o100755, "linux")).toBe("-rwxr-xr-x");
    expect(goFileModeString(0o100664, "darwin")).toBe("-rw-rw-r--");
    expect(goFileModeString(0o120777, "linux")).toBe("Lrwxrwxrwx");
    expect(goFileModeString(0o040755, "linux")).toBe("drwxr-xr-x");
    expect(goFileModeString(0o104755, "linux")).toBe("urwxr-xr-x");
    expect(goFileModeString(0o020666, "linux")).toBe("Dcrw-rw-rw-");
    // fsutil on Windows: every file +x, at most 0755.
    expect(goFileModeString(0o100666, "win32")).toBe("-rwxr-xr-x");
  });

  test("the tag changes whenever docker-build's context hash does: a copy of server/ with other modes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "image-context-"));
    try {
      fs.cpSync(path.join(ROOT, "server"), dir, { recursive: true });
      fs.chmodSync(path.join(dir, "requirements.txt"), 0o644);
      fs.chmodSync(path.join(dir, "start.sh"), 0o755);
      const base = { ours: imageContentHash(readBuildContext(dir)), theirs: dockerBuildContextHash(dir) };
      expect(readBuildContext(dir)["start.sh"].mode).toBe("-rwxr-xr-x");
      const changes: [string, () => void][] = [
        ["requirements.txt under umask 002", () => fs.chmodSync(path.join(dir, "requirements.txt"), 0o664)],
        ["start.sh without +x", () => fs.chmodSync(path.join(dir, "start.sh"), 0o644)],
        ["start.sh content", () => fs.appendFileSync(path.join(dir, "start.sh"), "\n")],
      ];
      for (const [what, change] of changes) {
        change();
        const now = { ours: imageContentHash(readBuildContext(dir)), theirs: dockerBuildContextHash(dir) };
        expect([what, now.theirs === base.theirs, now.ours === base.ours]).toEqual([what, false, false]);
      }
      // What neither hashes: timestamps and files .dockerignore leaves out.
      const before = { ours: imageContentHash(readBuildContext(dir)), theirs: dockerBuildContextHash(dir) };
      fs.utimesSync(path.join(dir, "start.sh"), new Date(0), new Date(0));
      fs.writeFileSync(path.join(dir, "render.ts"), "// not in the context\n");
      expect({ ours: imageContentHash(readBuildContext(dir)), theirs: dockerBuildContextHash(dir) }).toEqual(
        before,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the image is built from a staged context with fixed modes: the same tag and docker-build hash from any checkout", () => {
    const umask002 = fs.mkdtempSync(path.join(os.tmpdir(), "image-umask002-"));
    const [a, b] = [
      fs.mkdtempSync(path.join(os.tmpdir(), "image-a-")),
      fs.mkdtempSync(path.join(os.tmpdir(), "image-b-")),
    ];
    try {
      fs.cpSync(path.join(ROOT, "server"), umask002, { recursive: true });
      for (const f of fs.readdirSync(umask002)) fs.chmodSync(path.join(umask002, f), 0o664); // and start.sh lost +x
      const fromThisCheckout = stageBuildContext(a);
      const fromThatCheckout = stageBuildContext(b, umask002);
      expect(fromThatCheckout["start.sh"].mode).toBe("-rwxr-xr-x");
      expect(fromThatCheckout["requirements.txt"].mode).toBe("-rw-r--r--");
      expect(dockerBuildContextHash(path.join(b, BUILD_CONTEXT))).toBe(
        dockerBuildContextHash(path.join(a, BUILD_CONTEXT)),
      );
      expect(imageContentHash(fromThatCheckout)).toBe(imageContentHash(fromThisCheckout));
      // The program's own tag is this hash, and the staged directory holds nothing else.
      expect(imageContentHash()).toBe(imageContentHash(fromThisCheckout));
      fs.writeFileSync(path.join(a, BUILD_CONTEXT, "stray.txt"), "left over\n");
      stageBuildContext(a);
      expect(fs.readdirSync(path.join(a, BUILD_CONTEXT)).sort()).toEqual(
        Object.keys(fromThisCheckout).sort(),
      );
    } finally {
      for (const d of [umask002, a, b]) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

/** Every string inside an input value, with where it is. */
function strings(value: unknown, at: string): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => strings(v, `${at}.${k}`));
  return [];
}

describe.each(ENVIRONMENTS.flatMap((env) => BACKENDS.map((backend) => [env, backend] as const)))(
  "container mode, %s stack, %s artifacts",
  (env, backend) => {
    const tls = env === "prod";
    let e: Evaluation;
    // dev: plain HTTP, explicitly (server.allowPlainHttp); prod: HTTPS on its domain, the default.
    const variant = matrixVariant(env, backend, "container", tls ? "domain" : "plain");
    const settings = JSON.parse(variant.config["mlflow-platform:server"]);

    // An explicit timeout: the first evaluation starts the worker, slow on a loaded machine.
    beforeAll(async () => {
      e = await evaluateProgram(variant);
    }, 120_000);

    test("only the load balancer is public; tasks run in private subnets without public addresses", () => {
      expect(ofType(e, "aws:ec2/instance:Instance")).toHaveLength(0);
      expect(descendantsOf(e, "aws:ec2/eip:Eip", SERVER)).toHaveLength(0);
      const alb = single(e, "aws:lb/loadBalancer:LoadBalancer");
      expect(alb.inputs.internal).toBe(false);
      expect(alb.inputs.loadBalancerType).toBe("application");
      expect(alb.inputs.dropInvalidHeaderFields).toBe(true);
      expect(alb.inputs.enableDeletionProtection).toBe(env === "prod");
      expect(alb.protect).toBe(env === "prod");
      expect(alb.inputs.idleTimeout).toBeGreaterThanOrEqual(600);
      expect((alb.inputs.subnets as string[]).every((s) => /-public-\d+-id$/.test(s))).toBe(true);

      const service = single(e, "aws:ecs/service:Service");
      const net = service.inputs.networkConfiguration as {
        subnets: string[];
        assignPublicIp: boolean;
        securityGroups: string[];
      };
      expect(net.assignPublicIp).toBe(false);
      expect(net.subnets.length).toBeGreaterThanOrEqual(2);
      expect(net.subnets.every((s) => /-private-\d+-id$/.test(s))).toBe(true);
      expect(service.inputs.launchType).toBe("FARGATE");
    });

    test("the ALB admits the allowed CIDRs on 80 (and 443 with TLS); the tasks admit only the ALB on 5000", () => {
      const groups = descendantsOf(e, "aws:ec2/securityGroup:SecurityGroup", SERVER);
      expect(groups).toHaveLength(2);
      const albGroupName = `${single(e, "aws:lb/loadBalancer:LoadBalancer").name.replace(/-server$/, "")}-alb`;
      const albGroup = single(e, "aws:ec2/securityGroup:SecurityGroup", albGroupName);
      const taskGroup = groups.find((g) => g !== albGroup) as CapturedResource;
      type Rule = {
        fromPort: number;
        toPort: number;
        protocol: string;
        cidrBlocks?: string[];
        securityGroups?: string[];
      };
      const albIngress = albGroup.inputs.ingress as Rule[];
      expect([...new Set(albIngress.map((r) => r.fromPort))].sort()).toEqual(tls ? [443, 80] : [80]);
      for (const rule of albIngress) {
        expect(rule.toPort).toBe(rule.fromPort);
        expect(rule.protocol).toBe("tcp");
        expect(settings.allowedCidrs).toEqual(expect.arrayContaining(rule.cidrBlocks as string[]));
      }
      expect((albGroup.inputs.egress as Rule[]).map((r) => [r.fromPort, r.toPort])).toEqual([[5000, 5000]]);
      const taskIngress = taskGroup.inputs.ingress as Rule[];
      expect(taskIngress).toHaveLength(1);
      expect(taskIngress[0]).toMatchObject({ fromPort: 5000, toPort: 5000, protocol: "tcp" });
      expect(taskIngress[0].securityGroups).toEqual([`${albGroup.name}-id`]);
      expect(taskIngress[0].cidrBlocks ?? []).toHaveLength(0);
      expect(
        (single(e, "aws:ecs/service:Service").inputs.networkConfiguration as { securityGroups: string[] })
          .securityGroups,
      ).toEqual([`${taskGroup.name}-id`]);
      // The database admits the tasks' group.
      const dbRule = single(e, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
      expect(dbRule.inputs.referencedSecurityGroupId).toBe(`${taskGroup.name}-id`);
    });

    test("secrets reach the task from Secrets Manager (ECS, or the server for its artifact credential), never in its environment", () => {
      const container = taskContainer(e);
      const secretArns = ofType(e, "aws:secretsmanager/secret:Secret").map((s) => String(s.state.arn));
      const credential = ARTIFACT_CREDENTIAL[backend];
      const byArn = container.environment.filter((v) => v.name.endsWith("_SECRET_ARN"));
      // Every secret exactly once: injected by ECS (valueFrom) or as <name>_SECRET_ARN for start.sh.
      expect([...container.secrets.map((s) => s.valueFrom), ...byArn.map((v) => v.value)].sort()).toEqual(
        [...secretArns].sort(),
      );
      for (const s of container.secrets) expect(SECRET_VARIABLES).toContain(s.name);
      expect(container.secrets.map((s) => s.name).sort()).toEqual(
        ["MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_BACKEND_STORE_URI", "MLFLOW_FLASK_SERVER_SECRET_KEY"].sort(),
      );
      // The artifact credential is read (and re-read while running: a renewed SAS or key needs no new
      // deployment) by start.sh, which watches exactly the variable it got as _SECRET_ARN.
      expect(byArn.map((v) => v.name)).toEqual(credential ? [`${credential}_SECRET_ARN`] : []);
      const names = container.environment.map((e) => e.name);
      for (const name of SECRET_VARIABLES) expect(names).not.toContain(name);
      // No value any mocked generator produced (passwords, keys) appears anywhere in the task definition.
      const taskDefinition = single(e, "aws:ecs/taskDefinition:TaskDefinition");
      expect(JSON.stringify(taskDefinition.wrappedInputs)).not.toMatch(/SECRETMARKER/);
      expect(JSON.stringify(taskDefinition.inputs)).not.toMatch(/SECRETMARKER|postgres(ql)?:\/\//);
    });

    test("the execution role pulls the image, writes the log group and reads exactly the server's secrets (injected or, for a rollback, once injected)", () => {
      const executionRole = rolesTrustedBy(e, "ecs-tasks.amazonaws.com");
      expect(executionRole).toHaveLength(1);
      expect(statements(executionRole[0].inputs.assumeRolePolicy)[0].Principal).toEqual({
        Service: "ecs-tasks.amazonaws.com",
      });
      const taskDefinition = single(e, "aws:ecs/taskDefinition:TaskDefinition");
      expect(taskDefinition.inputs.executionRoleArn).toBe(executionRole[0].state.arn);
      const policy = ofType(e, "aws:iam/rolePolicy:RolePolicy").find(
        (p) => p.inputs.role === executionRole[0].state.name,
      ) as CapturedResource;
      const st = statements(policy.inputs.policy);
      expect(st.every((s) => s.Effect === "Allow")).toBe(true);
      const secretStatements = st.filter((s) => actionsOf([s]).some((a) => a.startsWith("secretsmanager:")));
      expect(secretStatements).toHaveLength(1);
      expect(actionsOf(secretStatements)).toEqual(["secretsmanager:GetSecretValue"]);
      // The renewed credential's secret too: an earlier task definition injected it, and a task of that
      // revision (a circuit-breaker rollback, a replaced task during the rollout) must still start.
      const container = taskContainer(e);
      expect(asList(secretStatements[0].Resource).sort()).toEqual(
        [
          ...container.secrets.map((s) => s.valueFrom),
          ...container.environment.filter((v) => v.name.endsWith("_SECRET_ARN")).map((v) => v.value),
        ].sort(),
      );
      const repository = single(e, "aws:ecr/repository:Repository");
      const pull = st.find((s) => actionsOf([s]).includes("ecr:BatchGetImage")) as IamStatement;
      expect(pull.Resource).toBe(repository.state.arn);
      const logs = st.find((s) => actionsOf([s]).includes("logs:PutLogEvents")) as IamStatement;
      expect(String(logs.Resource)).toBe(
        `${single(e, "aws:cloudwatch/logGroup:LogGroup", `mlflow-${env}-server`).state.arn}:log-stream:*`,
      );
      // Only GetAuthorizationToken (no resource-level permissions) is on "*".
      expect(st.filter((s) => asList(s.Resource).includes("*")).flatMap((s) => asList(s.Action))).toEqual([
        "ecr:GetAuthorizationToken",
      ]);
    });

    test("weekly gc: a schedule runs the server's task definition once with `gc`, in the tasks' network", () => {
      const schedule = gcSchedule(e);
      expect(schedule.parent?.type).toBe("mlflow-platform:container:GcTask");
      expect(isUnder(schedule, SERVER)).toBe(true);
      expect(schedule.inputs.scheduleExpression).toBe(GC_SCHEDULE.schedulerExpression);
      expect(schedule.inputs.flexibleTimeWindow).toEqual({
        mode: "FLEXIBLE",
        maximumWindowInMinutes: GC_SCHEDULE.windowMinutes,
      });
      expect(schedule.inputs.state ?? "ENABLED").toBe("ENABLED");
      const target = schedule.inputs.target as GcTarget;
      expect(target.arn).toBe(single(e, "aws:ecs/cluster:Cluster").state.arn);
      expect(target.ecsParameters.taskDefinitionArn).toBe(
        single(e, "aws:ecs/taskDefinition:TaskDefinition").state.arn,
      );
      expect(target.ecsParameters).toMatchObject({ launchType: "FARGATE", taskCount: 1 });
      // Exactly the service's network: private subnets, the tasks' security group, no public address.
      const service = single(e, "aws:ecs/service:Service");
      expect(target.ecsParameters.networkConfiguration).toEqual(service.inputs.networkConfiguration);
      expect(target.ecsParameters.networkConfiguration.assignPublicIp).toBe(false);
      // The image's ENTRYPOINT is start.sh: the override makes it `start.sh gc`.
      expect(JSON.parse(target.input)).toEqual({
        containerOverrides: [{ name: CONTAINER_NAME, command: ["gc"] }],
      });
      expect(taskContainer(e).name).toBe(CONTAINER_NAME);
      // The retention comes from config (server.gcRetentionDays, default 30) through the task's environment.
      expect(taskEnvironment(e).MLFLOW_GC_OLDER_THAN).toBe(`${settings.gcRetentionDays ?? 30}d`);
    });

    test("the gc schedule's role: trusted by Scheduler in this account, may only run this family and pass its roles", () => {
      const [role] = rolesTrustedBy(e, "scheduler.amazonaws.com");
      expect((gcSchedule(e).inputs.target as GcTarget).roleArn).toBe(role.state.arn);
      expect(statements(role.inputs.assumeRolePolicy)).toEqual([
        {
          Effect: "Allow",
          Action: "sts:AssumeRole",
          Principal: { Service: "scheduler.amazonaws.com" },
          Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
        },
      ]);
      const policies = ofType(e, "aws:iam/rolePolicy:RolePolicy").filter(
        (p) => p.inputs.role === role.state.name,
      );
      expect(policies).toHaveLength(1);
      const cluster = single(e, "aws:ecs/cluster:Cluster");
      const taskDefinition = single(e, "aws:ecs/taskDefinition:TaskDefinition");
      const [executionRole] = rolesTrustedBy(e, "ecs-tasks.amazonaws.com");
      const taskRole = ofType(e, "aws:iam/role:Role").find((r) => !isUnder(r, SERVER)) as CapturedResource;
      expect(statements(policies[0].inputs.policy)).toEqual([
        {
          Sid: "RunGcTask",
          Effect: "Allow",
          Action: "ecs:RunTask",
          Resource: `arn:aws:ecs:us-east-1:123456789012:task-definition/${taskDefinition.inputs.family}:*`,
          Condition: { ArnEquals: { "ecs:cluster": cluster.state.arn } },
        },
        {
          Sid: "PassTaskRoles",
          Effect: "Allow",
          Action: "iam:PassRole",
          Resource: [executionRole.state.arn, taskRole.state.arn],
          Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        },
      ]);
      expect(taskDefinition.inputs.executionRoleArn).toBe(executionRole.state.arn);
      expect(taskDefinition.inputs.taskRoleArn).toBe(taskRole.state.arn);
      expect(
        ofType(e, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(
          (a) => a.inputs.role === role.state.name,
        ),
      ).toHaveLength(0);
    });

    test("the task role is the server role, trusted by ECS tasks, with the artifact statements only (and its credential's secret)", () => {
      const role = ofType(e, "aws:iam/role:Role").find((r) => !isUnder(r, SERVER)) as CapturedResource;
      expect(statements(role.inputs.assumeRolePolicy)[0].Principal).toEqual({
        Service: "ecs-tasks.amazonaws.com",
      });
      expect(single(e, "aws:ecs/taskDefinition:TaskDefinition").inputs.taskRoleArn).toBe(role.state.arn);
      const policies = ofType(e, "aws:iam/rolePolicy:RolePolicy").filter(
        (p) => p.inputs.role === role.state.name,
      );
      // The task policy, and the grant of an S3 store (Azure's and GCS's grant is the credential's secret).
      const grants = policies.filter((p) => isUnder(p, "mlflow-platform:index:ArtifactStore"));
      expect([policies.length - grants.length, grants.length]).toEqual([1, backend === "s3" ? 1 : 0]);
      const harmless = {
        Sid: "NoOtherAwsAccessNeeded",
        Effect: "Allow",
        Action: "sts:GetCallerIdentity",
        Resource: "*",
      };
      // Only Allows on the task role: a Deny in any of its policies would override the store's grant.
      expect(roleStatements(e, role).every((s) => s.Effect === "Allow")).toBe(true);
      const all = roleStatements(e, role).filter((s) => !isDeepStrictEqual(s, harmless));
      // A foreign cloud's credential: GetSecretValue on exactly that one secret, nothing else on secrets.
      const credential = ARTIFACT_CREDENTIAL[backend];
      const reads = all.filter((s) => actionsOf([s]).some((a) => a.startsWith("secretsmanager:")));
      if (credential) {
        const arn = taskContainer(e).environment.find((v) => v.name === `${credential}_SECRET_ARN`)!.value;
        expect(reads).toEqual([
          {
            Sid: "ReadArtifactCredential",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [arn],
          },
        ]);
      } else {
        expect(reads).toEqual([]);
      }
      const st = all.filter((s) => !reads.includes(s));
      const allowed = actionsOf(st.filter((s) => s.Effect === "Allow"));
      expect(allowed.some((a) => a.startsWith("secretsmanager:") || a.includes("*:") || a === "*")).toBe(
        false,
      );
      if (backend !== "s3") expect(allowed).toEqual([]);
      if (backend === "s3") {
        const bucket = single(e, "aws:s3/bucket:Bucket");
        expect(actionsOf(st).every((a) => a.startsWith("s3:"))).toBe(true);
        for (const s of st)
          for (const r of asList(s.Resource)) expect(r.startsWith(String(bucket.state.arn))).toBe(true);
      }
      expect(
        ofType(e, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(
          (a) => a.inputs.role === role.state.name,
        ),
      ).toHaveLength(0);
    });

    test("the container: image by content tag, read-only root with a /tmp volume, port 5000 on 0.0.0.0, logs", () => {
      const container = taskContainer(e);
      const repository = single(e, "aws:ecr/repository:Repository");
      const tag = imageTag(settings.mlflowVersion ?? pinnedMlflowVersion(), imageContentHash());
      expect(container.image).toMatch(
        new RegExp(`^${repository.state.repositoryUrl}:${tag.replace(/\./g, "\\.")}@sha256:[0-9a-f]{64}$`),
      );
      expect(container.readonlyRootFilesystem).toBe(true);
      expect(container.user).toBe("10001:10001");
      expect(container.mountPoints).toEqual([
        expect.objectContaining({ sourceVolume: "tmp", containerPath: "/tmp" }),
      ]);
      expect(container.portMappings.map((p) => p.containerPort)).toEqual([5000]);
      const environment = taskEnvironment(e);
      expect(environment.MLFLOW_HOST).toBe("0.0.0.0");
      expect(environment.MLFLOW_PORT).toBe("5000");
      const logGroup = single(e, "aws:cloudwatch/logGroup:LogGroup", `mlflow-${env}-server`);
      expect(logGroup.inputs.retentionInDays).toBe(settings.logRetentionDays ?? 30);
      expect(container.logConfiguration.logDriver).toBe("awslogs");
      expect(container.logConfiguration.options["awslogs-group"]).toBe(logGroup.state.name);

      const taskDefinition = single(e, "aws:ecs/taskDefinition:TaskDefinition").inputs;
      expect(taskDefinition.requiresCompatibilities).toEqual(["FARGATE"]);
      expect(taskDefinition.networkMode).toBe("awsvpc");
      expect(taskDefinition.cpu).toBe(String(settings.container?.cpu ?? 1024));
      expect(taskDefinition.memory).toBe(String(settings.container?.memoryMb ?? 2048));
      expect(taskDefinition.volumes).toEqual([expect.objectContaining({ name: "tmp" })]);
    });

    test("ECR repository: private, immutable tags, scan on push, encrypted, lifecycle; image pushed with auth", () => {
      const repository = single(e, "aws:ecr/repository:Repository");
      expect(repository.inputs.imageTagMutability).toBe("IMMUTABLE");
      expect(repository.inputs.imageScanningConfiguration).toEqual({ scanOnPush: true });
      expect(repository.inputs.encryptionConfigurations).toEqual([
        expect.objectContaining({ encryptionType: "KMS" }),
      ]);
      const lifecycle = JSON.parse(
        String(single(e, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs.policy),
      );
      expect(lifecycle.rules[0].selection).toMatchObject({
        countType: "imageCountMoreThan",
        countNumber: settings.container?.imageRetentionCount ?? 10,
      });
      const image = single(e, "docker-build:index:Image");
      expect(image.inputs.push).toBe(true);
      expect(image.inputs.tags).toEqual([
        `${repository.state.repositoryUrl}:${imageTag(settings.mlflowVersion ?? pinnedMlflowVersion(), imageContentHash())}`,
      ]);
      const registry = (
        image.inputs.registries as { address: string; username: string; password: string }[]
      )[0];
      expect(registry.address).toBe(String(repository.state.repositoryUrl).split("/")[0]);
      expect(registry.password).toBe("mock-ecr-password");
      // The registry password travels as a Pulumi secret (alone or with the whole registries list).
      const wrapped = image.wrappedInputs.registries as Record<string, unknown> | { password: unknown }[];
      const isWrapped = (value: unknown) =>
        typeof value === "object" && value !== null && Object.keys(value).join() === SECRET_WRAPPER;
      expect(Array.isArray(wrapped) ? isWrapped(wrapped[0].password) : isWrapped(wrapped)).toBe(true);
      expect(e.calls.map((c) => c.token)).toContain("aws:ecr/getAuthorizationToken:getAuthorizationToken");
    });

    test("the container definition states what ECS would default, so what it returns compares equal", () => {
      // terraform-provider-aws containerDefinitionsAreEquivalent normalizes essential, tcp and the awsvpc
      // host port; fields it does not normalize are sent as ECS stores them (docs/aws-operations.md).
      const container = taskContainer(e) as unknown as Record<string, unknown> & {
        mountPoints: Record<string, unknown>[];
        portMappings: Record<string, unknown>[];
      };
      expect(container.essential).toBe(true);
      for (const mount of container.mountPoints) expect(typeof mount.readOnly).toBe("boolean");
      for (const port of container.portMappings) {
        expect(port.protocol).toBe("tcp");
        expect(port.hostPort).toBeUndefined();
      }
      expect(container.linuxParameters).toEqual({ initProcessEnabled: true });
      expect(container.versionConsistency).toBeUndefined();
    });

    test("ECR lifecycle: each build pushes one image, so imageCountMoreThan counts builds", () => {
      // docker-build's embedded buildx disables default provenance (provider/internal/client.go, v0.0.22:
      // Attests {"provenance": nil}) and requests no SBOM; `exec` mode runs docker-buildx, whose default
      // adds a provenance attestation: an index plus an untagged attestation manifest the rule would count.
      const image = single(e, "docker-build:index:Image");
      expect(image.inputs.exec ?? false).toBe(false);
      expect(image.inputs.exports).toBeUndefined();
      // One platform: a plain image manifest, no index with one child per platform.
      expect(image.inputs.platforms).toEqual(["linux/amd64"]);
      const [rule] = JSON.parse(
        String(single(e, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs.policy),
      ).rules;
      expect(rule.selection.tagStatus).toBe("any");
    });

    test("target group health check is MLflow's unauthenticated /health; drains slowly for large uploads", () => {
      const targetGroup = single(e, "aws:lb/targetGroup:TargetGroup");
      expect(targetGroup.inputs.targetType).toBe("ip");
      expect(targetGroup.inputs.port).toBe(5000);
      expect(targetGroup.inputs.healthCheck).toMatchObject({
        path: "/health",
        matcher: "200",
        protocol: "HTTP",
      });
      expect(targetGroup.inputs.deregistrationDelay).toBeGreaterThanOrEqual(300);
      const service = single(e, "aws:ecs/service:Service");
      expect(service.inputs.loadBalancers).toEqual([
        { targetGroupArn: targetGroup.state.arn, containerName: "mlflow", containerPort: 5000 },
      ]);
    });

    test("alarms on unhealthy tasks and on server errors notify the platform's SNS topic", () => {
      const topic = single(e, "aws:sns/topic:Topic").state.arn;
      const alb = single(e, "aws:lb/loadBalancer:LoadBalancer");
      const targetGroup = single(e, "aws:lb/targetGroup:TargetGroup");
      const name = alb.name.replace(/-server$/, "");
      const alarms = descendantsOf(e, "aws:cloudwatch/metricAlarm:MetricAlarm", SERVER);
      expect(alarms.map((a) => a.name).sort()).toEqual([
        // A foreign cloud's credential, re-read by the server: an alarm when it cannot (below).
        ...(ARTIFACT_CREDENTIAL[backend] ? [`${name}-credential-stale`] : []),
        `${name}-gc-failed`,
        `${name}-server-5xx`,
        `${name}-server-elb-5xx`,
        `${name}-server-no-healthy-host`,
        `${name}-server-unhealthy`,
      ]);

      const unhealthy = single(e, "aws:cloudwatch/metricAlarm:MetricAlarm", `${name}-server-unhealthy`);
      expect(unhealthy.inputs).toMatchObject({
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
      });
      expect(unhealthy.inputs.dimensions).toEqual({
        LoadBalancer: alb.state.arnSuffix,
        TargetGroup: targetGroup.state.arnSuffix,
      });

      const errors = single(e, "aws:cloudwatch/metricAlarm:MetricAlarm", `${name}-server-5xx`);
      expect(errors.inputs).toMatchObject({
        namespace: "AWS/ApplicationELB",
        metricName: "HTTPCode_Target_5XX_Count",
        statistic: "Sum",
        comparisonOperator: "GreaterThanThreshold",
      });
      expect(errors.inputs.dimensions).toEqual({ LoadBalancer: alb.state.arnSuffix });

      expect(String(alb.state.arnSuffix)).toMatch(/^app\//);
      expect(String(targetGroup.state.arnSuffix)).toMatch(/^targetgroup\//);
      expect(topic).toMatch(/^arn:aws:sns:/);
      for (const alarm of [unhealthy, errors]) {
        expect(alarm.inputs.alarmActions).toEqual([topic]);
        expect(alarm.inputs.okActions).toEqual([topic]);
      }
    });

    test("a full outage alarms: no healthy host (no data is breaching) and the load balancer's own 5xx", () => {
      const topic = single(e, "aws:sns/topic:Topic").state.arn;
      const alb = single(e, "aws:lb/loadBalancer:LoadBalancer");
      const targetGroup = single(e, "aws:lb/targetGroup:TargetGroup");
      const name = alb.name.replace(/-server$/, "");
      const noHealthy = single(e, "aws:cloudwatch/metricAlarm:MetricAlarm", `${name}-server-no-healthy-host`);
      expect(noHealthy.inputs).toMatchObject({
        namespace: "AWS/ApplicationELB",
        metricName: "HealthyHostCount",
        statistic: "Minimum",
        comparisonOperator: "LessThanThreshold",
        threshold: 1,
        // With every task gone the target group reports nothing at all.
        treatMissingData: "breaching",
        alarmActions: [topic],
        okActions: [topic],
      });
      expect(noHealthy.inputs.dimensions).toEqual({
        LoadBalancer: alb.state.arnSuffix,
        TargetGroup: targetGroup.state.arnSuffix,
      });
      // Created once the service is steady: a first deployment does not page.
      expect(noHealthy.dependsOn).toContainEqual({ type: "aws:ecs/service:Service", name: `${name}-server` });

      const elb5xx = single(e, "aws:cloudwatch/metricAlarm:MetricAlarm", `${name}-server-elb-5xx`);
      expect(elb5xx.inputs).toMatchObject({
        namespace: "AWS/ApplicationELB",
        metricName: "HTTPCode_ELB_5XX_Count",
        statistic: "Sum",
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [topic],
        okActions: [topic],
      });
      expect(elb5xx.inputs.dimensions).toEqual({ LoadBalancer: alb.state.arnSuffix });
    });

    test("the image inputs hold no absolute path: the context and Dockerfile are relative to the project", () => {
      const image = single(e, "docker-build:index:Image");
      expect(image.inputs.context).toEqual({ location: ".build/server-image" });
      expect(image.inputs.dockerfile).toEqual({ location: ".build/server-image/Dockerfile" });
      // The evaluation staged the context there (stageBuildContext), with server/'s Dockerfile.
      expect(fs.readFileSync(path.join(ROOT, ".build", "server-image", "Dockerfile"), "utf8")).toBe(
        fs.readFileSync(path.join(ROOT, "server", "Dockerfile"), "utf8"),
      );
      const absolute = strings(image.inputs, "image").filter(
        ([, v]) => path.isAbsolute(v) || path.win32.isAbsolute(v) || v.includes(ROOT),
      );
      expect(absolute).toEqual([]);
      const checkoutPaths = e.resources.flatMap((r) =>
        strings(r.inputs, refOf(r)).filter(([, v]) => v.includes(ROOT)),
      );
      expect(checkoutPaths).toEqual([]);
    });

    test("a failed weekly gc run raises an alarm from its log lines", () => {
      const topic = single(e, "aws:sns/topic:Topic").state.arn;
      const logGroup = single(e, "aws:cloudwatch/logGroup:LogGroup", `mlflow-${env}-server`);
      const filter = single(e, "aws:cloudwatch/logMetricFilter:LogMetricFilter", `mlflow-${env}-gc-failures`);
      expect(filter.inputs.logGroupName).toBe(logGroup.state.name);
      expect(filter.inputs.pattern).toBe('"mlflow-gc: ERROR"');
      const metric = filter.inputs.metricTransformation as { name: string; namespace: string; value: string };
      expect(metric.value).toBe("1");
      const alarm = descendantsOf(e, "aws:cloudwatch/metricAlarm:MetricAlarm", SERVER).find((a) =>
        a.name.endsWith("-gc-failed"),
      )!;
      expect(alarm.inputs).toMatchObject({
        namespace: metric.namespace,
        metricName: metric.name,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        alarmActions: [topic],
      });
      // The pattern matches what the gc writes when it fails.
      expect(readServerFile("runtime_helper.py")).toMatch(/LOG_PREFIX = "mlflow-gc"/);
      expect(readServerFile("runtime_helper.py")).toMatch(/log\(f"ERROR: gc failed/);
      expect(readServerFile("runtime_helper.py")).toMatch(/print\(f"\{LOG_PREFIX\}: \{message\}"/);
    });

    test("a server that cannot re-read its artifact credential raises an alarm from its log lines", () => {
      const filters = ofType(e, "aws:cloudwatch/logMetricFilter:LogMetricFilter");
      const filter = filters.find((f) => f.name === `mlflow-${env}-credential-failures`);
      if (!ARTIFACT_CREDENTIAL[backend]) {
        expect(filter).toBeUndefined(); // S3: the task role, nothing to re-read
        return;
      }
      expect(filter?.inputs.logGroupName).toBe(
        single(e, "aws:cloudwatch/logGroup:LogGroup", `mlflow-${env}-server`).state.name,
      );
      const metric = filter!.inputs.metricTransformation as {
        name: string;
        namespace: string;
        value: string;
      };
      const alarm = single(e, "aws:cloudwatch/metricAlarm:MetricAlarm", `mlflow-${env}-credential-stale`);
      expect(alarm.inputs).toMatchObject({
        namespace: metric.namespace,
        metricName: metric.name,
        statistic: "Sum",
        period: 3600,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [single(e, "aws:sns/topic:Topic").state.arn],
      });
      // More than half of an hour's re-reads (every MLFLOW_CREDENTIAL_REFRESH_SECONDS, 300 s) failing.
      expect(alarm.inputs.threshold).toBeLessThan(3600 / 300);
      // The pattern is the line the watcher writes when a re-read fails, under start.sh's prefix.
      const phrase = String(filter!.inputs.pattern).replace(/^"|"$/g, "");
      const [prefix, message] = phrase.split(": ");
      expect(readServerFile("runtime_helper.py")).toMatch(new RegExp(`LOG_PREFIX = "${prefix}"`));
      expect(readServerFile("runtime_helper.py")).toContain(`log(f"${message}`);
      expect(readServerFile("runtime_helper.py")).toMatch(/"MLFLOW_CREDENTIAL_REFRESH_SECONDS", "300"/);
    });

    test(
      tls
        ? "TLS: DNS-validated certificate, HTTPS listener, HTTP redirect, alias record"
        : "allowPlainHttp: plain HTTP on the ALB",
      () => {
        const alb = single(e, "aws:lb/loadBalancer:LoadBalancer");
        const listeners = ofType(e, "aws:lb/listener:Listener");
        const hosts = taskEnvironment(e).MLFLOW_SERVER_ALLOWED_HOSTS.split(",");
        expect(hosts).toContain(String(alb.state.dnsName));
        if (!tls) {
          expect(ofType(e, "aws:acm/certificate:Certificate")).toHaveLength(0);
          expect(listeners).toHaveLength(1);
          expect(listeners[0].inputs).toMatchObject({ port: 80, protocol: "HTTP" });
          expect((listeners[0].inputs.defaultActions as { type: string }[])[0].type).toBe("forward");
          expect(e.outputs.trackingUri.value).toBe(`http://${alb.state.dnsName}`);
          return;
        }
        const certificate = single(e, "aws:acm/certificate:Certificate");
        expect(certificate.inputs).toMatchObject({ domainName: DOMAIN, validationMethod: "DNS" });
        const records = ofType(e, "aws:route53/record:Record");
        const validationRecord = records.find((r) => r.inputs.type === "CNAME") as CapturedResource;
        expect(validationRecord.inputs.zoneId).toBe(ZONE);
        const validation = single(e, "aws:acm/certificateValidation:CertificateValidation");
        expect(validation.inputs.validationRecordFqdns).toEqual([validationRecord.state.fqdn]);
        const https = listeners.find((l) => l.inputs.port === 443) as CapturedResource;
        expect(https.inputs).toMatchObject({ protocol: "HTTPS", certificateArn: certificate.state.arn });
        expect(String(https.inputs.sslPolicy)).toMatch(/^ELBSecurityPolicy-TLS13-1-2-/);
        const http = listeners.find((l) => l.inputs.port === 80) as CapturedResource;
        expect(http.inputs.defaultActions).toEqual([
          expect.objectContaining({
            type: "redirect",
            redirect: expect.objectContaining({ protocol: "HTTPS", port: "443", statusCode: "HTTP_301" }),
          }),
        ]);
        const alias = records.find((r) => r.inputs.type === "A") as CapturedResource;
        expect(alias.inputs).toMatchObject({ zoneId: ZONE, name: DOMAIN });
        expect(alias.inputs.aliases).toEqual([
          { name: alb.state.dnsName, zoneId: alb.state.zoneId, evaluateTargetHealth: true },
        ]);
        expect(hosts).toContain(DOMAIN);
        expect(e.outputs.trackingUri.value).toBe(`https://${DOMAIN}`);
      },
    );

    test("service: desired count, circuit breaker with rollback, never two MLflow versions on one schema; CPU autoscaling", () => {
      const c = {
        desiredCount: 2,
        minCount: 2,
        maxCount: 4,
        targetCpuPercent: 60,
        ...(settings.container ?? {}),
      };
      const service = single(e, "aws:ecs/service:Service");
      expect(service.inputs.desiredCount).toBe(c.desiredCount);
      expect(service.inputs.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
      // Same MLflow version: rolling. Another version: a new service name, replaced delete-before-create.
      expect(service.inputs.name).toBe(
        serviceName(service.name.replace(/-server$/, ""), settings.mlflowVersion ?? pinnedMlflowVersion()),
      );
      expect(serviceName("x", "3.17.2")).not.toBe(serviceName("x", "3.18.0"));
      expect(service.inputs.deploymentMinimumHealthyPercent).toBe(100);
      expect(service.inputs.deploymentMaximumPercent).toBe(200);
      expect(Number(service.inputs.healthCheckGracePeriodSeconds)).toBeGreaterThanOrEqual(300);
      const cluster = single(e, "aws:ecs/cluster:Cluster");
      expect(cluster.inputs.settings).toEqual([{ name: "containerInsights", value: "enabled" }]);
      const target = single(e, "aws:appautoscaling/target:Target");
      expect(target.inputs).toMatchObject({
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        minCapacity: c.minCount,
        maxCapacity: c.maxCount,
        resourceId: `service/${cluster.state.name}/${service.state.name}`,
      });
      const policy = single(e, "aws:appautoscaling/policy:Policy");
      expect(policy.inputs.policyType).toBe("TargetTrackingScaling");
      expect(policy.inputs.targetTrackingScalingPolicyConfiguration).toMatchObject({
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
        targetValue: c.targetCpuPercent,
      });
    });

    test("the private subnets egress through one NAT gateway and a free S3 gateway endpoint", () => {
      expect(ofType(e, "aws:ec2/natGateway:NatGateway")).toHaveLength(1);
      const endpoint = single(e, "aws:ec2/vpcEndpoint:VpcEndpoint");
      expect(endpoint.inputs).toMatchObject({
        vpcEndpointType: "Gateway",
        serviceName: "com.amazonaws.us-east-1.s3",
      });
      const privateRoutes = ofType(e, "aws:ec2/routeTable:RouteTable").find((r) =>
        /private/.test(r.name),
      ) as CapturedResource;
      expect(endpoint.inputs.routeTableIds).toEqual([`${privateRoutes.name}-id`]);
    });
  },
);

describe.each(ENVIRONMENTS)("switching server.compute on the %s stack", (env) => {
  test("changes only what is under the TrackingServer, the NAT egress and the server role's trust", async () => {
    // One program at a time: the mock runtime is global.
    const ec2 = await evaluateProgram(matrixVariant(env, "s3", "ec2"));
    const container = await evaluateProgram(matrixVariant(env, "s3", "container"));
    const key = (r: CapturedResource) => `${r.type}::${r.name}`;
    const outside = (e: Evaluation) =>
      new Map(e.resources.filter((r) => !isUnder(r, SERVER)).map((r) => [key(r), r]));
    const a = outside(ec2);
    const b = outside(container);
    const added = [...b.keys()].filter((k) => !a.has(k));
    const removed = [...a.keys()].filter((k) => !b.has(k));
    expect(removed).toEqual([]);
    // Private-subnet egress, created in the Network only for container mode.
    for (const k of added) expect(b.get(k)?.parent?.type).toBe(NETWORK);
    expect(added.map((k) => k.split("::")[0]).sort()).toEqual([
      "aws:ec2/eip:Eip",
      "aws:ec2/natGateway:NatGateway",
      "aws:ec2/vpcEndpoint:VpcEndpoint",
    ]);
    const changed = [...a.keys()].filter(
      (k) => b.has(k) && JSON.stringify(a.get(k)?.inputs) !== JSON.stringify(b.get(k)?.inputs),
    );
    for (const k of changed) {
      const [before, after] = [a.get(k) as CapturedResource, b.get(k) as CapturedResource];
      const fields = Object.keys({ ...before.inputs, ...after.inputs }).filter(
        (f) => JSON.stringify(before.inputs[f]) !== JSON.stringify(after.inputs[f]),
      );
      if (before.type === "aws:iam/role:Role")
        expect(fields.sort()).toEqual(["assumeRolePolicy", "description"]);
      else if (before.type === "aws:ec2/routeTable:RouteTable") expect(fields).toEqual(["routes"]);
      else throw new Error(`${k} changed (${fields.join(", ")}) when only the compute mode did`);
    }
    // Unique names within the server component in both modes.
    for (const e of [ec2, container]) {
      const keys = e.resources.map(key);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });
});

test("server.gcRetentionDays reaches the gc task's environment as MLFLOW_GC_OLDER_THAN", async () => {
  const e = await evaluateProgram(
    withServer(matrixVariant("dev", "s3", "container"), { gcRetentionDays: 7 }),
  );
  expect(taskEnvironment(e).MLFLOW_GC_OLDER_THAN).toBe("7d");
  expect(String(single(e, "aws:scheduler/schedule:Schedule").inputs.description)).toMatch(/7 days/);
});

test("docs/container.md states the MLflow upgrade outage computed from the values the code uses", () => {
  const doc = fs.readFileSync(path.join(ROOT, "docs", "container.md"), "utf8");
  expect(doc).toContain(`up to ${DEREGISTRATION_DELAY_SECONDS} s (\`DEREGISTRATION_DELAY_SECONDS\`)`);
  expect(doc).toContain(`up to ${STOP_TIMEOUT_SECONDS} s (\`STOP_TIMEOUT_SECONDS\`)`);
  expect(doc).toContain(
    `\`HEALTHY_THRESHOLD\` x \`HEALTH_CHECK_INTERVAL_SECONDS\` = ${HEALTHY_THRESHOLD * HEALTH_CHECK_INTERVAL_SECONDS} s`,
  );
  const stopping = (DEREGISTRATION_DELAY_SECONDS + STOP_TIMEOUT_SECONDS) / 60;
  // The new service: 2-3 minutes to place, pull and pass the health checks (plus the migration).
  const [low, high] = [stopping + 1, stopping + 3];
  expect(doc).toContain(
    `about **${stopping} minutes of draining and stopping (${DEREGISTRATION_DELAY_SECONDS} s + up to ${STOP_TIMEOUT_SECONDS} s)`,
  );
  expect(doc).toContain(`an outage of about **${low} to ${high} minutes**`);
  expect(doc).toContain(`${low}-${high} minutes and more for a long migration`);
  expect(doc).not.toMatch(/typically 2-5 minutes/);
});

describe("examples/Pulumi.container-prod.yaml", () => {
  test("validates and deploys a protected container stack with TLS on its domain", async () => {
    const { config, secretKeys } = readStackFile(path.join(ROOT, "examples", "Pulumi.container-prod.yaml"));
    const settings = loadSettings(config, "mlflow-platform", "container-prod");
    expect(settings.protect).toBe(true);
    expect(settings.server).toMatchObject({
      compute: "container",
      domain: expect.any(String),
      hostedZoneId: expect.any(String),
    });
    const e = await evaluateProgram({ stack: "container-prod", config, secretKeys });
    expect(e.outputs.trackingUri.value).toBe(`https://${settings.server.domain}`);
    expect(single(e, "aws:lb/loadBalancer:LoadBalancer").inputs.enableDeletionProtection).toBe(true);
    expect(single(e, "aws:ecs/service:Service").inputs.desiredCount).toBe(
      settings.server.container.desiredCount,
    );
  });
});

test("start.sh resolves and watches exactly the backends' credentials (a task gets them by ARN), so a renewal needs no restart", () => {
  const watched = [...readServerFile("start.sh").matchAll(/\) credential_var=([A-Z_]+) ;;/g)].map(
    (m) => m[1],
  );
  const credentials = ARTIFACT_BACKENDS.flatMap((b) => artifactBackend(b).credentialVariable ?? []);
  expect(watched.sort()).toEqual([...credentials].sort());
  expect(Object.values(ARTIFACT_CREDENTIAL).filter(Boolean).sort()).toEqual([...credentials].sort());
  expect([...START_SCRIPT_SECRETS].sort()).toEqual([...SECRET_VARIABLES].sort());
  // gc mode reads the database URI and the store's credential only.
  const gc = /^ {4}SECRET_NAMES="([A-Z0-9_ ]+)"$/m.exec(readServerFile("start.sh"))?.[1].split(" ");
  expect(gc?.sort()).toEqual(["MLFLOW_BACKEND_STORE_URI", ...credentials].sort());
});

// GCS artifact store under mocks: the matrix (dev/prod x ec2/container) and examples/Pulumi.gcs-prod.yaml.
/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read untyped mocked inputs (nested provider args, IAM JSON). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ACCOUNT_ID,
  CapturedResource,
  Evaluation,
  ROOT,
  SECRET_WRAPPER,
  evaluateProgram,
  markerFor,
} from "../support/mockRuntime";
import { cloudInitFiles, plainStrings } from "../support/inspect";
import { StackVariant, fileVariants, matrixVariant } from "../support/variants";

const KEY_MARKER = markerFor("gcp-key");
const BUCKET = "gcp:storage/bucket:Bucket";
const SA = "gcp:serviceaccount/account:Account";
const SA_KEY = "gcp:serviceaccount/key:Key";
const SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember";
const BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember";
const POOL = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool";
const POOL_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider";
const SECRET = "aws:secretsmanager/secret:Secret";
const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
/** The artifact store alone, for a compute mode the program cannot build yet. */
function standaloneProgram(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "artifact-store-")), "program.ts");
  const at = (p: string) => JSON.stringify(path.join(ROOT, p));
  fs.writeFileSync(
    file,
    `import { ArtifactStore } from ${at("components/artifactStore")};
import { createServerRole } from ${at("components/trackingServer")};
import { loadStackSettings } from ${at("stacks/config")};
const settings = loadStackSettings();
const name = "mlflow-" + settings.stack;
const role = createServerRole(name, settings.server.compute, {}, {});
const store = new ArtifactStore(name, {
  settings: settings.artifactStore, protect: settings.protect, awsRegion: settings.awsRegion, tags: {},
  compute: settings.server.compute,
  server: { roleName: role.name, roleArn: role.arn, awsAccountId: role.arn.apply((a) => a.split(":")[4]) },
});
export const artifactRoot = store.artifactRoot;
export const serverEnvironment = store.serverEnvironment;
export const secretVariables = store.serverSecrets.map((s) => s.variable);
`,
  );
  return file;
}

interface Run {
  variant: StackVariant;
  evaluation: Evaluation;
  /** False when only the artifact store could be evaluated (container compute not available yet). */
  fullProgram: boolean;
}

/**
 * Container variants evaluate the whole program (components/compute/container.ts). Set this to false to
 * evaluate the artifact store alone, with the container-mode server role, if the container compute breaks.
 */
const CONTAINER_FULL_PROGRAM = true;

async function evaluate(variant: StackVariant): Promise<Run> {
  const container = JSON.parse(variant.config["mlflow-platform:server"] ?? "{}").compute === "container";
  if (container && !CONTAINER_FULL_PROGRAM) {
    const evaluation = await evaluateProgram({ ...variant, program: standaloneProgram() });
    return { variant, evaluation, fullProgram: false };
  }
  return { variant, evaluation: await evaluateProgram(variant), fullProgram: true };
}

const all = (e: Evaluation, type: string) => e.resources.filter((r) => r.type === type);
function one(e: Evaluation, type: string): CapturedResource {
  const found = all(e, type);
  expect(found.map((r) => r.name)).toHaveLength(1);
  return found[0];
}

const variants: StackVariant[] = [
  ...(["dev", "prod"] as const).flatMap((env) =>
    (["ec2", "container"] as const).map((compute) => matrixVariant(env, "gcs", compute)),
  ),
  ...fileVariants().filter((v) => v.id === "examples/Pulumi.gcs-prod.yaml"),
];

test("examples/Pulumi.gcs-prod.yaml exists and is evaluated", () => {
  expect(variants.map((v) => v.id)).toContain("examples/Pulumi.gcs-prod.yaml");
});

describe.each(variants.map((v) => [v.id, v] as const))("gcs %s", (_id, variant) => {
  let run: Run;
  let e: Evaluation;
  const protect = JSON.parse(variant.config["mlflow-platform:protect"] ?? "false") === true;
  const store = JSON.parse(variant.config["mlflow-platform:artifactStore"]);
  const compute = JSON.parse(variant.config["mlflow-platform:server"]).compute ?? "ec2";
  const days = store.noncurrentVersionExpirationDays ?? 30;
  const project = store.gcs.project;

  beforeAll(async () => {
    run = await evaluate(variant);
    e = run.evaluation;
  });

  const credentialSecret = () => {
    const secret = all(e, SECRET).find((r) => r.name.endsWith("-gcs"))!;
    expect(secret).toBeDefined();
    const version = all(e, SECRET_VERSION).find((r) => r.name === secret.name)!;
    const value = (version.wrappedInputs.secretString as Record<string, string>)[SECRET_WRAPPER];
    expect(typeof value).toBe("string");
    return { secret, value };
  };

  test("one explicit gcp provider with the configured project", () => {
    const provider = one(e, "pulumi:providers:gcp");
    expect(provider.inputs.project).toBe(project);
    expect(one(e, BUCKET).parent?.type).toBe("mlflow-platform:index:ArtifactStore");
  });

  test("bucket: uniform access, public access prevention, versioning, lifecycle", () => {
    const bucket = one(e, BUCKET).inputs as Record<string, any>;
    expect(bucket.name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    expect(bucket.location).toBe(store.gcs.location.toUpperCase());
    expect(bucket.uniformBucketLevelAccess).toBe(true);
    expect(bucket.publicAccessPrevention).toBe("enforced");
    expect(bucket.versioning).toEqual({ enabled: true });
    expect(bucket.softDeletePolicy.retentionDurationSeconds).toBeGreaterThanOrEqual(7 * 86400);
    expect(bucket.lifecycleRules).toEqual(
      expect.arrayContaining([
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: days, withState: "ARCHIVED" } },
        {
          action: { type: "AbortIncompleteMultipartUpload" },
          condition: { age: store.abortIncompleteUploadDays ?? 7 },
        },
      ]),
    );
    for (const [k, v] of Object.entries(bucket.labels ?? {}))
      expect(`${k}=${v}`).toMatch(/^[a-z][a-z0-9_-]*=[a-z0-9_-]*$/);
  });

  test(`protection ${protect ? "on" : "off"}: protect, retainOnDelete, forceDestroy`, () => {
    const bucket = one(e, BUCKET);
    expect([bucket.protect, bucket.retainOnDelete, bucket.inputs.forceDestroy]).toEqual([
      protect,
      protect,
      !protect,
    ]);
  });

  test("bucket-scoped access for a dedicated service account; no project-wide IAM", () => {
    const sa = one(e, SA);
    expect(sa.inputs.accountId).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    const member = one(e, BUCKET_MEMBER).inputs;
    expect(member.bucket).toBe(one(e, BUCKET).inputs.name);
    expect(member.role).toBe("roles/storage.objectUser");
    expect(member.member).toBe(`serviceAccount:${sa.state.email}`);
    expect(
      e.resources.filter(
        (r) => r.type.startsWith("gcp:projects/") || r.type.startsWith("gcp:organizations/"),
      ),
    ).toEqual([]);
    expect(
      e.resources.filter((r) => /allUsers|allAuthenticatedUsers/.test(JSON.stringify(r.inputs))),
    ).toEqual([]);
  });

  test("artifact root is gs://<bucket>/<prefix>", () => {
    const root = e.outputs.artifactRoot;
    expect(root.secret).toBe(false);
    expect(root.value).toBe(`gs://${one(e, BUCKET).inputs.name}/${store.prefix ?? "mlflow"}`);
  });

  test("credential: keyless workload identity federation on EC2, a bucket-scoped key in a container", () => {
    const { value } = credentialSecret();
    const sa = one(e, SA);
    if (compute === "ec2") {
      expect(all(e, SA_KEY)).toEqual([]);
      const pool = one(e, POOL);
      const provider = one(e, POOL_PROVIDER).inputs as Record<string, any>;
      const role = all(e, "aws:iam/role:Role").find((r) => r.name.endsWith("-server"))!;
      const assumedRole = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${role.state.name}`;
      expect(provider.aws).toEqual({ accountId: ACCOUNT_ID });
      expect(provider.attributeCondition).toBe(`attribute.aws_role == '${assumedRole}'`);
      const binding = one(e, SA_MEMBER).inputs;
      expect(binding.serviceAccountId).toBe(sa.state.name);
      expect(binding.role).toBe("roles/iam.workloadIdentityUser");
      expect(binding.member).toBe(
        `principalSet://iam.googleapis.com/${pool.state.name}/attribute.aws_role/${assumedRole}`,
      );
      const config = JSON.parse(value);
      expect(config.type).toBe("external_account");
      expect(config.audience).toBe(`//iam.googleapis.com/${one(e, POOL_PROVIDER).state.name}`);
      expect(config.subject_token_type).toBe("urn:ietf:params:aws:token-type:aws4_request");
      expect(config.service_account_impersonation_url).toContain(
        `/serviceAccounts/${sa.state.email}:generateAccessToken`,
      );
      expect(config.credential_source.environment_id).toBe("aws1");
      expect(config.credential_source.imdsv2_session_token_url).toBe(
        "http://169.254.169.254/latest/api/token",
      );
      expect(value).not.toMatch(/private_key/);
    } else {
      expect(all(e, POOL)).toEqual([]);
      expect(all(e, SA_MEMBER)).toEqual([]);
      expect(one(e, SA_KEY).inputs.serviceAccountId).toBe(sa.state.name);
      expect(JSON.parse(value).private_key).toBe(KEY_MARKER);
    }
  });

  test("no key value in any plain input or output", () => {
    for (const r of e.resources) {
      const leaks = plainStrings(r.wrappedInputs).filter((s) => s.value.includes(KEY_MARKER));
      expect([r.type, r.name, leaks]).toEqual([r.type, r.name, []]);
    }
    for (const [name, output] of Object.entries(e.outputs)) {
      if (!output.secret)
        expect([name, JSON.stringify(output.value ?? null).includes(KEY_MARKER)]).toEqual([name, false]);
    }
  });

  test("server wiring: GetSecretValue on exactly the server's secrets; env names the credential secret", () => {
    if (!run.fullProgram) {
      expect(e.outputs.secretVariables.value).toEqual(["GOOGLE_CREDENTIALS_JSON"]);
      expect(e.outputs.serverEnvironment.value).toEqual({ GOOGLE_CLOUD_PROJECT: project });
      return;
    }
    const arnOf = (r: CapturedResource) => String(r.state.arn);
    const secretArns = all(e, SECRET).map(arnOf).sort();
    const gcsArn = arnOf(credentialSecret().secret);
    const granted = all(e, "aws:iam/rolePolicy:RolePolicy")
      .flatMap((r) => JSON.parse(String(r.inputs.policy)).Statement)
      .filter((s: any) => [s.Action].flat().includes("secretsmanager:GetSecretValue"))
      .flatMap((s: any) => [s.Resource].flat());
    expect(granted).toContain(gcsArn);
    for (const arn of granted) expect(secretArns).toContain(arn);
    if (!all(e, "aws:ec2/instance:Instance").length) return;
    expect([...granted].sort()).toEqual(secretArns);
    const userData = Object.values(
      cloudInitFiles(String(one(e, "aws:ec2/instance:Instance").inputs.userData)),
    ).join("\n");
    expect(userData).toContain(`GOOGLE_CREDENTIALS_JSON_SECRET_ARN="${gcsArn}"`);
    expect(userData).toContain(`GOOGLE_CLOUD_PROJECT="${project}"`);
    expect(userData).not.toMatch(/external_account|GOOGLE_CREDENTIALS_JSON="/);
  });

  test("resource names are unique per type", () => {
    const keys = e.resources.map((r) => `${r.type}::${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

// GCS artifact store under mocks: the matrix (dev/prod x ec2/container) and examples/Pulumi.gcs-prod.yaml.
/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read untyped mocked inputs (nested provider args, IAM JSON). */
import { ACCOUNT_ID, Evaluation, evaluateProgram, markerFor } from "../support/mockRuntime";
import {
  cloudInitFiles,
  userDataOf,
  ofType,
  plainStrings,
  policyResourcesFor,
  single,
  storedSecret,
} from "../support/inspect";
import { StackVariant, fileVariants, matrixVariants } from "../support/variants";
import {
  assumedRoleArn,
  gcpBaseName,
  gcsBucketName,
  workloadIdentityPoolId,
} from "../../components/artifact-backends/gcs";

const KEY_MARKER = markerFor("gcp-key");
const BUCKET = "gcp:storage/bucket:Bucket";
const SA = "gcp:serviceaccount/account:Account";
const SA_KEY = "gcp:serviceaccount/key:Key";
const SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember";
const BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember";
const POOL = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool";
const POOL_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider";
const SECRET = "aws:secretsmanager/secret:Secret";
const variants: StackVariant[] = [
  ...matrixVariants({ backend: "gcs" }),
  ...fileVariants().filter((v) => v.id === "examples/Pulumi.gcs-prod.yaml"),
];

test("examples/Pulumi.gcs-prod.yaml exists and is evaluated", () => {
  expect(variants.map((v) => v.id)).toContain("examples/Pulumi.gcs-prod.yaml");
});

describe.each(variants.map((v) => [v.id, v] as const))("gcs %s", (_id, variant) => {
  let e: Evaluation;
  const protect = JSON.parse(variant.config["mlflow-platform:protect"] ?? "false") === true;
  const store = JSON.parse(variant.config["mlflow-platform:artifactStore"]);
  const compute = JSON.parse(variant.config["mlflow-platform:server"]).compute ?? "ec2";
  const days = store.noncurrentVersionExpirationDays ?? 30;
  const project = store.gcs.project;

  beforeAll(async () => {
    e = await evaluateProgram(variant);
  });

  const credentialSecret = () => {
    const stored = storedSecret(e, "-gcs");
    expect(typeof stored.value).toBe("string");
    return { secret: stored.secret, value: stored.value as string };
  };

  test("one explicit gcp provider with the configured project", () => {
    const provider = single(e, "pulumi:providers:gcp");
    expect(provider.inputs.project).toBe(project);
    expect(single(e, BUCKET).parent?.type).toBe("mlflow-platform:index:ArtifactStore");
  });

  test("bucket: uniform access, public access prevention, versioning, lifecycle", () => {
    const bucket = single(e, BUCKET).inputs as Record<string, any>;
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
    const bucket = single(e, BUCKET);
    expect([bucket.protect, bucket.retainOnDelete, bucket.inputs.forceDestroy]).toEqual([
      protect,
      protect,
      !protect,
    ]);
  });

  test("the APIs it uses are enabled first and stay enabled on destroy", () => {
    const services = ofType(e, "gcp:projects/service:Service");
    expect(services.map((s) => s.inputs.service).sort()).toEqual([
      "iam.googleapis.com",
      "iamcredentials.googleapis.com",
      "storage.googleapis.com",
      "sts.googleapis.com",
    ]);
    for (const s of services)
      expect(s.inputs).toMatchObject({ project: variantProject(variant), disableOnDestroy: false });
    const apis = services.map((s) => ({ type: s.type, name: s.name }));
    for (const r of e.resources.filter(
      (r) => r.custom && r.type.startsWith("gcp:") && r.type !== "gcp:projects/service:Service",
    )) {
      expect(r.dependsOn).toEqual(expect.arrayContaining(apis));
    }
  });

  test("bucket-scoped access for a dedicated service account; no project-wide IAM", () => {
    const sa = single(e, SA);
    expect(sa.inputs.accountId).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    const member = single(e, BUCKET_MEMBER).inputs;
    expect(member.bucket).toBe(single(e, BUCKET).inputs.name);
    expect(member.role).toBe("roles/storage.objectUser");
    expect(member.member).toBe(`serviceAccount:${sa.state.email}`);
    // No IAM binding above the bucket: none on the project or the organisation.
    expect(e.resources.filter((r) => /^gcp:(projects|organizations)\/iAM/.test(r.type))).toEqual([]);
    expect(
      e.resources.filter((r) => /allUsers|allAuthenticatedUsers/.test(JSON.stringify(r.inputs))),
    ).toEqual([]);
  });

  test("artifact root is gs://<bucket>/<prefix>", () => {
    const root = e.outputs.artifactRoot;
    expect(root.secret).toBe(false);
    expect(root.value).toBe(`gs://${single(e, BUCKET).inputs.name}/${store.prefix ?? "mlflow"}`);
  });

  test("credential: keyless workload identity federation on EC2, a bucket-scoped key in a container", () => {
    const { value } = credentialSecret();
    const sa = single(e, SA);
    if (compute === "ec2") {
      expect(ofType(e, SA_KEY)).toEqual([]);
      const pool = single(e, POOL);
      const provider = single(e, POOL_PROVIDER).inputs as Record<string, any>;
      const role = ofType(e, "aws:iam/role:Role").find((r) => r.name.endsWith("-server"))!;
      const partition = String(role.state.arn).split(":")[1];
      const assumedRole = `arn:${partition}:sts::${ACCOUNT_ID}:assumed-role/${role.state.name}`;
      expect(provider.aws).toEqual({ accountId: ACCOUNT_ID });
      expect(provider.attributeCondition).toBe(`attribute.aws_role == '${assumedRole}'`);
      const binding = single(e, SA_MEMBER).inputs;
      expect(binding.serviceAccountId).toBe(sa.state.name);
      expect(binding.role).toBe("roles/iam.workloadIdentityUser");
      expect(binding.member).toBe(
        `principalSet://iam.googleapis.com/${pool.state.name}/attribute.aws_role/${assumedRole}`,
      );
      const config = JSON.parse(value);
      expect(config.type).toBe("external_account");
      expect(config.audience).toBe(`//iam.googleapis.com/${single(e, POOL_PROVIDER).state.name}`);
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
      expect(ofType(e, POOL)).toEqual([]);
      expect(ofType(e, SA_MEMBER)).toEqual([]);
      expect(single(e, SA_KEY).inputs.serviceAccountId).toBe(sa.state.name);
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
    const secretArns = ofType(e, SECRET)
      .map((r) => String(r.state.arn))
      .sort();
    const gcsArn = String(credentialSecret().secret.state.arn);
    const granted = policyResourcesFor(e, "secretsmanager:GetSecretValue");
    expect(granted).toContain(gcsArn);
    for (const arn of granted) expect(secretArns).toContain(arn);
    // Container mode: compute-container.test.ts checks the execution role's grant.
    if (compute !== "ec2") return;
    expect([...granted].sort()).toEqual(secretArns);
    const userData = Object.values(cloudInitFiles(userDataOf(single(e, "aws:ec2/instance:Instance")))).join(
      "\n",
    );
    expect(userData).toContain(`GOOGLE_CREDENTIALS_JSON_SECRET_ARN="${gcsArn}"`);
    expect(userData).toContain(`GOOGLE_CLOUD_PROJECT="${project}"`);
    expect(userData).not.toMatch(/external_account|GOOGLE_CREDENTIALS_JSON="/);
  });

  test("the identity pool has its own random id (not the bucket's); provider ids follow it", () => {
    if (compute !== "ec2") return;
    const ids = ofType(e, "random:index/randomId:RandomId");
    const poolId = ids.find((r) => r.name.endsWith("-gcp-pool"));
    expect(poolId).toBeDefined();
    expect(poolId!.inputs.keepers).toEqual({ project, awsAccountId: ACCOUNT_ID });
    const hex = String(poolId!.state.hex);
    const pool = single(e, POOL).inputs;
    expect(pool.workloadIdentityPoolId).toMatch(/^[a-z][a-z0-9-]{2,30}[a-z0-9]$/);
    expect(pool.workloadIdentityPoolId).not.toMatch(/^gcp-/);
    expect(String(pool.workloadIdentityPoolId).endsWith(`-${hex}`)).toBe(true);
    const provider = single(e, POOL_PROVIDER).inputs;
    expect(provider.workloadIdentityPoolProviderId).toBe(`aws-${hex}`);
    expect(String(provider.displayName).length).toBeLessThanOrEqual(32);
  });

  test("resource names are unique per type", () => {
    const keys = e.resources.map((r) => `${r.type}::${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

function variantProject(variant: StackVariant): string {
  return JSON.parse(variant.config["mlflow-platform:artifactStore"]).gcs.project;
}

test("the assumed-role ARN takes the partition of the role's ARN (GovCloud, China)", () => {
  expect(assumedRoleArn("arn:aws-us-gov:iam::123456789012:role/path/srv", "srv")).toBe(
    "arn:aws-us-gov:sts::123456789012:assumed-role/srv",
  );
  expect(assumedRoleArn("arn:aws-cn:iam::123456789012:role/srv", "srv")).toBe(
    "arn:aws-cn:sts::123456789012:assumed-role/srv",
  );
  expect(assumedRoleArn("arn:aws:iam::123456789012:role/srv", "srv")).toBe(
    "arn:aws:sts::123456789012:assumed-role/srv",
  );
});

test.each(["mlflow", "gcp-ml", "a-very-long-component-name-for-a-stack-0123456789", "my-google-stack"])(
  "ids for component %s fit GCP's rules",
  (name) => {
    const pool = workloadIdentityPoolId(name, "0a1b2c3d");
    expect(pool).toMatch(/^[a-z][a-z0-9-]{2,30}[a-z0-9]$/);
    expect(pool).not.toMatch(/^gcp-/);
    const bucket = gcsBucketName(gcpBaseName(name), "0a1b2c3d");
    expect(bucket).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    expect(bucket).not.toMatch(/g[o0]{2}gle|^goog/);
  },
);

import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Provider as GcpProvider } from "@pulumi/gcp/provider";
import * as gcpIam from "@pulumi/gcp/iam";
import * as projects from "@pulumi/gcp/projects";
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import * as storage from "@pulumi/gcp/storage";
import type * as iam from "@pulumi/aws/iam";
import type { GcsOptions } from "../args";
import type {
  ArtifactBackendContext,
  ArtifactBackendModule,
  ArtifactGrantee,
  ArtifactStorage,
  ArtifactStoreConfig,
  BackendStackConfig,
} from "../contracts";
import { Raw, optionalString, requiredString } from "../configReader";
import { storeSecret } from "../secret";
import { checkPatterns, refuser } from "../validate";

/** The Google APIs the backend uses; enabled by the program so a fresh project works. */
export const GCP_APIS = [
  "storage.googleapis.com",
  "iam.googleapis.com",
  "sts.googleapis.com",
  "iamcredentials.googleapis.com",
];

/** Read, create, overwrite, delete and list objects (and multipart uploads); no bucket or IAM changes. */
export const GCS_SERVER_ROLE = "roles/storage.objectUser";
const IMDS = "http://169.254.169.254";
/** The server's credential (federation config or key JSON); start.sh writes it to a file for ADC. */
const CREDENTIAL_VARIABLE = "GOOGLE_CREDENTIALS_JSON";
/** Where the bucket lives unless `location` says otherwise. */
export const GCS_DEFAULT_LOCATION = "US";

/**
 * GCS: a bucket with uniform bucket-level access, public access prevention enforced, versioning, soft delete
 * and lifecycle rules (old versions, stalled multipart uploads). A dedicated service account gets
 * `roles/storage.objectUser` on this bucket only. The server on AWS acts as that account:
 * - EC2: keyless, through Workload Identity Federation trusting the server's IAM role (a credential
 *   configuration that holds no secret; google-auth signs a GetCallerIdentity request with the instance
 *   role's credentials from IMDSv2);
 * - container (ECS Fargate): google-auth's AWS source reads only AWS_* variables or the EC2 metadata
 *   service, not the ECS credentials endpoint, so the task gets a key of the bucket-scoped account instead.
 * Either way the credential reaches the server as `GOOGLE_CREDENTIALS_JSON` from Secrets Manager; start.sh
 * writes it to a 0600 file for Application Default Credentials. Details: examples/README.md.
 */
export function createGcsBackend({ name, args, parent }: ArtifactBackendContext): ArtifactStorage {
  const { settings, protect, tags } = args;
  const gcs = gcsSettings(args);
  const project = gcs.project;

  // Every GCP setting comes from the stack config, through this one provider.
  const provider = new GcpProvider(
    `${name}-gcp`,
    { project, ...(isRegion(gcs.location) ? { region: gcs.location.toLowerCase() } : {}) },
    { parent },
  );
  // A new project has these APIs off: storage for the bucket, IAM for the service account and the identity
  // pool, STS and IAM Credentials for the server's token exchange. They stay enabled on destroy (other
  // workloads in the project may use them).
  const apis = GCP_APIS.map(
    (api) =>
      new projects.Service(
        `${name}-${api.split(".")[0]}-api`,
        { project, service: api, disableOnDestroy: false },
        { parent, provider },
      ),
  );
  const opts = { parent, provider, dependsOn: apis };

  const suffix = new random.RandomId(`${name}-gcp-names`, { byteLength: 4 }, { parent });
  const base = gcpBaseName(name);
  const retentionDays = Math.min(Math.max(settings.noncurrentVersionExpirationDays, 7), 90);

  const bucket = new storage.Bucket(
    `${name}-artifacts`,
    {
      name: suffix.hex.apply((hex) => gcsBucketName(base, hex)),
      project,
      location: gcs.location,
      storageClass: "STANDARD",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      // Deleted and overwritten objects stay restorable for a while (7-90 days), on top of versioning.
      softDeletePolicy: { retentionDurationSeconds: retentionDays * 86400 },
      lifecycleRules: [
        {
          action: { type: "Delete" },
          condition: {
            daysSinceNoncurrentTime: settings.noncurrentVersionExpirationDays,
            withState: "ARCHIVED",
          },
        },
        {
          action: { type: "AbortIncompleteMultipartUpload" },
          condition: { age: settings.abortIncompleteUploadDays },
        },
      ],
      // A protected bucket survives `pulumi destroy`; an unprotected one may be emptied and removed.
      forceDestroy: !protect,
      labels: gcpLabels(tags),
    },
    { ...opts, protect, retainOnDelete: protect },
  );

  const account = new serviceaccount.Account(
    `${name}-artifacts`,
    {
      accountId: suffix.hex.apply((hex) => `${base.slice(0, 21)}-${hex}`),
      project,
      displayName: "MLflow tracking server (artifacts)",
      description: "Reads and writes the MLflow artifact bucket; no other permission.",
    },
    opts,
  );
  // On this bucket only: never a project-wide role.
  new storage.BucketIAMMember(
    `${name}-artifacts-server`,
    {
      bucket: bucket.name,
      role: GCS_SERVER_ROLE,
      member: pulumi.interpolate`serviceAccount:${account.email}`,
    },
    opts,
  );

  let granted = false;
  return {
    artifactRoot: pulumi.interpolate`gs://${bucket.name}/${settings.prefix}`,
    grantReadWrite: (grantee) => {
      // Each grant would create the same federation resources again: one server per store.
      if (granted) throw new Error(`ArtifactStore ${name}: the gcs backend grants access to one server only`);
      granted = true;
      const secret = serverCredential(name, grantee, account, project, { protect, tags, opts });
      // No AWS permissions beyond the secret, which the compute grants for every server secret.
      return {
        environment: pulumi.output<Record<string, string>>({ GOOGLE_CLOUD_PROJECT: project }),
        secrets: [{ variable: CREDENTIAL_VARIABLE, ...secret }],
      };
    },
  };
}

/** The server's credential, in a secret: keyless federation on EC2, a key of the account in a container. */
function serverCredential(
  name: string,
  { role, compute }: ArtifactGrantee,
  account: serviceaccount.Account,
  project: string,
  {
    protect,
    tags,
    opts,
  }: { protect: boolean; tags: Record<string, string>; opts: pulumi.CustomResourceOptions },
) {
  const credentials: pulumi.Output<string> =
    compute === "ec2"
      ? workloadIdentityCredentials(name, role, account, project, opts)
      : serviceAccountKeyCredentials(name, account, opts);
  return storeSecret(
    `${name}-gcs`,
    {
      description:
        compute === "ec2"
          ? "MLflow artifact store: GCP workload identity federation credential configuration (no key)"
          : "MLflow artifact store: key of the bucket-scoped GCP service account",
      value: credentials,
      protect,
      tags,
    },
    { parent: opts.parent },
  );
}

/**
 * EC2: a workload identity pool with an AWS provider that accepts only the server's role, allowed to act as
 * the bucket-scoped service account. Returns the credential configuration (no secret in it).
 */
function workloadIdentityCredentials(
  name: string,
  role: iam.Role,
  account: serviceaccount.Account,
  project: string,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  const { name: roleName, arn: roleArn } = role;
  const awsAccountId = roleArn.apply((arn) => arn.split(":")[4]);
  // STS reports an instance role's calls as this assumed-role ARN; the provider maps it to attribute.aws_role.
  const assumedRole = pulumi.all([roleArn, roleName]).apply(([arn, role]) => assumedRoleArn(arn, role));
  // Deleted pools and providers linger 30 days and block their ids. The pool has its own random id (not the
  // bucket's): a new pool (compute toggled back to ec2, another AWS account) never meets its deleted
  // predecessor, and renaming it never renames the bucket. Replacing a pool (this change, on stacks made
  // before it) is create-before-delete: see docs/artifact-backends.md.
  const poolSuffix = new random.RandomId(
    `${name}-gcp-pool`,
    { byteLength: 4, keepers: { project, awsAccountId } },
    { parent: opts.parent },
  );
  const pool = new gcpIam.WorkloadIdentityPool(
    `${name}-aws`,
    {
      workloadIdentityPoolId: poolSuffix.hex.apply((h) => workloadIdentityPoolId(name, h)),
      project,
      displayName: "MLflow server on AWS",
      description: "The MLflow tracking server's AWS IAM role",
    },
    opts,
  );
  const awsProvider = new gcpIam.WorkloadIdentityPoolProvider(
    `${name}-aws`,
    {
      workloadIdentityPoolId: pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: poolSuffix.hex.apply((h) => `aws-${h}`),
      project,
      // At most 32 characters.
      displayName: "MLflow server's AWS account",
      aws: { accountId: pulumi.output(awsAccountId) },
      attributeMapping: {
        "google.subject": "assertion.arn",
        "attribute.aws_role":
          "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
      },
      // Only the server's role may exchange tokens, not any principal of the AWS account.
      attributeCondition: pulumi.interpolate`attribute.aws_role == '${assumedRole}'`,
    },
    opts,
  );
  // `pool.name` is projects/<project number>/locations/global/workloadIdentityPools/<id>.
  new serviceaccount.IAMMember(
    `${name}-aws-workload-identity`,
    {
      serviceAccountId: account.name,
      role: "roles/iam.workloadIdentityUser",
      member: pulumi.interpolate`principalSet://iam.googleapis.com/${pool.name}/attribute.aws_role/${assumedRole}`,
    },
    opts,
  );
  return pulumi
    .all([awsProvider.name, account.email])
    .apply(([providerName, email]) => JSON.stringify(workloadIdentityConfig(providerName, email)));
}

/** `arn:<partition>:sts::<account>:assumed-role/<role>` for a role ARN of any partition (GovCloud, China). */
export function assumedRoleArn(roleArn: string, roleName: string): string {
  const [, partition, , , account] = roleArn.split(":");
  return `arn:${partition}:sts::${account}:assumed-role/${roleName}`;
}

/** 4-32 of [a-z0-9-], starting with a letter and not with "gcp-" (reserved by Google). */
export function workloadIdentityPoolId(componentName: string, hex: string): string {
  const base = gcpBaseName(componentName).replace(/^gcp-/, "mlflow-gcp-").slice(0, 23).replace(/-+$/, "");
  return `${base}-${hex}`;
}

/** The external_account credential configuration google-auth reads (AWS source over IMDSv2). */
export function workloadIdentityConfig(
  providerName: string,
  serviceAccountEmail: string,
): Record<string, unknown> {
  return {
    universe_domain: "googleapis.com",
    type: "external_account",
    audience: `//iam.googleapis.com/${providerName}`,
    subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
    token_url: "https://sts.googleapis.com/v1/token",
    service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${serviceAccountEmail}:generateAccessToken`,
    credential_source: {
      environment_id: "aws1",
      region_url: `${IMDS}/latest/meta-data/placement/availability-zone`,
      url: `${IMDS}/latest/meta-data/iam/security-credentials`,
      regional_cred_verification_url:
        "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
      // The instance requires IMDSv2 (session tokens).
      imdsv2_session_token_url: `${IMDS}/latest/api/token`,
    },
  };
}

/** Container: a key of the bucket-scoped account, as the JSON key file (a Pulumi secret). */
function serviceAccountKeyCredentials(
  name: string,
  account: serviceaccount.Account,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  const key = new serviceaccount.Key(`${name}-artifacts`, { serviceAccountId: account.name }, opts);
  return pulumi.secret(key.privateKey.apply((b64) => Buffer.from(b64, "base64").toString("utf8")));
}

/** A multi-region (US, EU, ASIA) or dual-region name has no dash; a region such as europe-west1 has. */
function isRegion(location: string): boolean {
  return location.includes("-");
}

/** Lower-case letters, digits and dashes, starting with a letter; used for the bucket, account and pool ids. */
export function gcpBaseName(componentName: string): string {
  const cleaned = componentName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .replace(/-+$/, "");
  return (cleaned || "mlflow").slice(0, 40);
}

/** `<base>-artifacts-<hex>`; bucket names may not contain "google" (nor "g00gle") or start with "goog". */
export function gcsBucketName(base: string, hex: string): string {
  return `${base.replace(/g[o0]{2}g/g, "gcs")}-artifacts-${hex}`;
}

/** AWS-style tags as GCP labels: lower-case keys and values of letters, digits, `_` and `-`, at most 63. */
export function gcpLabels(tags: Record<string, string>): Record<string, string> {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, "_")
      .slice(0, 63);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    const key = clean(k).replace(/^[^a-z]+/, "");
    if (key) labels[key] = clean(v);
  }
  return labels;
}

/** The options with their default: the location upper-case, as GCS reports it (no diff on the next plan). */
function withDefaults(options: GcsOptions): Required<GcsOptions> {
  return { ...options, location: (options.location ?? GCS_DEFAULT_LOCATION).toUpperCase() };
}

/** What only this backend needs: its settings, refused before anything is registered. */
function gcsSettings(args: ArtifactStoreConfig): Required<GcsOptions> {
  if (!args.settings.gcs)
    throw new Error('ArtifactStore: gcs is missing; the "gcs" backend needs { project }');
  const s = withDefaults(args.settings.gcs);
  checkPatterns(refuser("ArtifactStore"), [
    // The id's length is GCP's to check (6-30); its characters are checked here.
    ["gcs.project", s.project, /^[a-z][a-z0-9-]*$/, "a GCP project id (lowercase letters, digits, hyphens)"],
    ["gcs.location", s.location, /^[A-Z][A-Z0-9-]{1,30}$/, "a GCS location such as US or EUROPE-WEST1"],
  ]);
  return s;
}

/** `artifactStore.gcs` in the stack config. */
const stackConfig: BackendStackConfig = {
  title: "GCS",
  reference: [
    {
      key: "project",
      type: "GCP project id",
      defaultText: "required for `gcs`",
      meaning: "project of the bucket and service account",
    },
    {
      key: "location",
      type: "GCS location",
      default: GCS_DEFAULT_LOCATION,
      meaning: "multi-region (`US`, `EU`) or region",
    },
  ],
  shape: "{ project: <GCP project id>, location?: <US, EU or a region> }",
  // The stack config checks the id's length too (6-30); the library leaves that to GCP (its examples use "p").
  read: (key: string, raw: Raw) =>
    withDefaults({
      project: requiredString(
        `${key}.project`,
        raw.project,
        /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
        "a GCP project id",
      ),
      location: optionalString(
        `${key}.location`,
        raw.location,
        /^[A-Za-z][A-Za-z0-9-]{1,30}$/,
        "a GCS location such as US or europe-west1",
      ),
    }),
};

export const artifactBackend: ArtifactBackendModule = {
  name: "gcs",
  credentialVariable: CREDENTIAL_VARIABLE,
  withDefaults: (options) => withDefaults(options as GcsOptions),
  stackConfig,
  checkArgs: (args) => void gcsSettings(args),
  create: createGcsBackend,
};

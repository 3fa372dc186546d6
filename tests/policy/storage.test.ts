import type * as storage from "@pulumi/azure-native/storage";
import type * as gcs from "@pulumi/gcp/storage";
import type * as projects from "@pulumi/gcp/projects";
import { azurePolicies, gcpPolicies } from "../../policy/rules";
import { azureSasStartPinned } from "../../policy/rules/azure-storage";
import { inputs, policyNames, runPolicies, TestResource, UNKNOWN_STRING } from "./support";

const AZ = {
  account: "azure-native:storage:StorageAccount",
  container: "azure-native:storage:BlobContainer",
  service: "azure-native:storage:BlobServiceProperties",
};

function azureStore(): TestResource[] {
  return [
    {
      type: AZ.account,
      name: "artifacts",
      props: inputs<storage.StorageAccountArgs>({
        resourceGroupName: "rg",
        accountName: "mlflowartifacts123",
        kind: "StorageV2",
        sku: { name: "Standard_ZRS" },
        enableHttpsTrafficOnly: true,
        minimumTlsVersion: "TLS1_2",
        allowBlobPublicAccess: false,
        encryption: { keySource: "Microsoft.Storage", services: { blob: { enabled: true } } },
      }),
    },
    {
      type: AZ.service,
      name: "artifacts",
      props: inputs<storage.BlobServicePropertiesArgs>({
        resourceGroupName: "rg",
        accountName: "mlflowartifacts123",
        blobServicesName: "default",
        isVersioningEnabled: true,
        deleteRetentionPolicy: { enabled: true, days: 7 },
      }),
    },
    {
      type: AZ.container,
      name: "artifacts",
      props: inputs<storage.BlobContainerArgs>({
        resourceGroupName: "rg",
        accountName: "mlflowartifacts123",
        publicAccess: "None",
      }),
    },
  ];
}

const patch = (rs: TestResource[], type: string, props: Record<string, unknown>) =>
  rs.map((r) => (r.type === type ? { ...r, props: { ...r.props, ...props } } : r));

describe("Azure storage policies", () => {
  it("accept a private, TLS-only, versioned account", async () => {
    expect(await runPolicies(azurePolicies, azureStore())).toEqual([]);
  });

  it.each([
    ["azure-storage-https-only", { enableHttpsTrafficOnly: false }, /enableHttpsTrafficOnly: true/],
    ["azure-storage-minimum-tls-1-2", { minimumTlsVersion: "TLS1_0" }, /TLS1_2/],
    [
      "azure-storage-no-blob-public-access",
      { allowBlobPublicAccess: undefined },
      /allowBlobPublicAccess: false/,
    ],
    [
      "azure-storage-encryption-not-disabled",
      { encryption: { services: { blob: { enabled: false } } } },
      /blob/,
    ],
  ])("%s", async (policy, props, message) => {
    const v = await runPolicies(azurePolicies, patch(azureStore(), AZ.account, props));
    expect(policyNames(v)).toEqual([policy]);
    expect(v[0].message).toMatch(message);
  });

  it("azure-storage-* also match versioned azure-native tokens", async () => {
    const versioned = patch(azureStore(), AZ.account, { enableHttpsTrafficOnly: false }).map((r) =>
      r.type === AZ.account ? { ...r, type: "azure-native:storage/v20230101:StorageAccount" } : r,
    );
    expect(policyNames(await runPolicies(azurePolicies, versioned))).toContain("azure-storage-https-only");
  });

  it("azure-blob-container-private", async () => {
    expect(
      policyNames(
        await runPolicies(azurePolicies, patch(azureStore(), AZ.container, { publicAccess: "Blob" })),
      ),
    ).toEqual(["azure-blob-container-private"]);
    // Unset defaults to None.
    expect(
      await runPolicies(azurePolicies, patch(azureStore(), AZ.container, { publicAccess: undefined })),
    ).toEqual([]);
  });

  it("azure-blob-versioning-and-soft-delete and azure-storage-account-has-blob-protection", async () => {
    const off = await runPolicies(
      azurePolicies,
      patch(azureStore(), AZ.service, { deleteRetentionPolicy: { enabled: false } }),
    );
    expect(policyNames(off)).toEqual([
      "azure-blob-versioning-and-soft-delete",
      "azure-storage-account-has-blob-protection",
    ]);
    expect(off[0].message).toMatch(/deleteRetentionPolicy/);
    const missing = await runPolicies(
      azurePolicies,
      azureStore().filter((r) => r.type !== AZ.service),
    );
    expect(policyNames(missing)).toEqual(["azure-storage-account-has-blob-protection"]);
    expect(missing[0].message).toMatch(/isVersioningEnabled: true/);
  });
});

describe("azure-sas-start-pinned", () => {
  const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
  const ENDPOINT = "BlobEndpoint=https://mlflowartifacts123.blob.core.windows.net/;SharedAccessSignature=";
  /** The shape ARM's listServiceSas returns; `st` as ARM stamps it when the request has no start time. */
  const token = (st?: string) =>
    `sv=2015-04-05&sr=c${st === undefined ? "" : `&st=${st}`}&se=2028-06-30T00%3A00%3A00.0000000Z&sp=rl&sig=c2lnbmF0dXJlc2lnbmF0dXJlc2ln`;
  const secret = (value: string): TestResource => ({
    type: SECRET_VERSION,
    name: "mlflow-dev-azure-blob",
    props: { secretId: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", secretString: value },
  });
  const run = (r: TestResource, preview = false) => runPolicies([azureSasStartPinned], [r], { preview });

  it.each([
    [
      "a start pinned from config (as azureBlob.ts requests it)",
      `${ENDPOINT}${token("2026-06-30T00:00:00Z")}`,
    ],
    ["the same, URL-encoded", `${ENDPOINT}${token("2026-06-30T00%3A00%3A00Z")}`],
    [
      "the same, echoed by ARM with a zero fraction as it formats the expiry",
      `${ENDPOINT}${token("2026-06-30T00%3A00%3A00.0000000Z")}`,
    ],
    ["a date-only start", `${ENDPOINT}${token("2026-06-30")}`],
    ["no SAS at all (an account-key connection string)", "DefaultEndpointsProtocol=https;AccountName=a"],
  ])("accepts %s", async (_name, value) => {
    expect(await run(secret(value))).toEqual([]);
  });

  it.each([
    ["ARM's stamp when no start was requested", `${ENDPOINT}${token("2026-01-02T14%3A41%3A14.3632132Z")}`],
    ["a program's new Date()", `${ENDPOINT}${token("2026-12-01T12:00:00.417Z")}`],
    ["no start at all", `${ENDPOINT}${token()}`],
    [
      "a SAS URL",
      `https://mlflowartifacts123.blob.core.windows.net/c?${token("2026-01-02T14:41:14.3632132Z")}`,
    ],
  ])("refuses %s", async (_name, value) => {
    const v = await run(secret(value));
    expect(policyNames(v)).toEqual(["azure-sas-start-pinned"]);
    expect(v[0].message).toMatch(
      /SecretVersion "mlflow-dev-azure-blob" holds an Azure SAS .* sharedAccessStartTime/,
    );
  });

  it("finds a SAS in any input, e.g. a container's environment", async () => {
    const task: TestResource = {
      type: "aws:ecs/taskDefinition:TaskDefinition",
      name: "server",
      props: {
        containerDefinitions: JSON.stringify([
          { environment: [{ name: "AZURE_STORAGE_CONNECTION_STRING", value: `${ENDPOINT}${token()}` }] },
        ]),
      },
    };
    expect(policyNames(await runPolicies([azureSasStartPinned], [task]))).toEqual(["azure-sas-start-pinned"]);
  });

  it("skips a token that is not known yet (first preview) instead of failing the resource", async () => {
    expect(await run(secret(UNKNOWN_STRING), true)).toEqual([]);
  });
});

const G = {
  bucket: "gcp:storage/bucket:Bucket",
  member: "gcp:storage/bucketIAMMember:BucketIAMMember",
  binding: "gcp:storage/bucketIAMBinding:BucketIAMBinding",
  bucketPolicy: "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
  acl: "gcp:storage/bucketACL:BucketACL",
  projectMember: "gcp:projects/iAMMember:IAMMember",
  projectBinding: "gcp:projects/iAMBinding:IAMBinding",
  projectPolicy: "gcp:projects/iAMPolicy:IAMPolicy",
};

function gcsStore(): TestResource[] {
  return [
    {
      type: G.bucket,
      name: "artifacts",
      props: inputs<gcs.BucketArgs>({
        location: "US",
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
      }),
    },
    {
      type: G.member,
      name: "server",
      props: inputs<gcs.BucketIAMMemberArgs>({
        bucket: "artifacts",
        role: "roles/storage.objectUser",
        member: "serviceAccount:mlflow@p.iam.gserviceaccount.com",
      }),
    },
    {
      type: G.projectMember,
      name: "logs",
      props: inputs<projects.IAMMemberArgs>({
        project: "p",
        role: "roles/logging.logWriter",
        member: "serviceAccount:mlflow@p.iam.gserviceaccount.com",
      }),
    },
  ];
}

describe("GCP storage policies", () => {
  it("accept a private, versioned bucket with a bucket-scoped grant", async () => {
    expect(await runPolicies(gcpPolicies, gcsStore())).toEqual([]);
  });

  it.each([
    [
      "gcs-uniform-bucket-level-access",
      { uniformBucketLevelAccess: false },
      /uniformBucketLevelAccess: true/,
    ],
    ["gcs-public-access-prevention-enforced", { publicAccessPrevention: "inherited" }, /"enforced"/],
    ["gcs-versioning-enabled", { versioning: undefined }, /versioning: \{enabled: true\}/],
  ])("%s", async (policy, props, message) => {
    const v = await runPolicies(gcpPolicies, patch(gcsStore(), G.bucket, props));
    expect(policyNames(v)).toEqual([policy]);
    expect(v[0].message).toMatch(message);
  });

  it("gcs-no-public-members: allUsers/allAuthenticatedUsers in members, bindings, policies and ACLs", async () => {
    const v = await runPolicies(gcpPolicies, [
      {
        type: G.member,
        name: "m",
        props: inputs<gcs.BucketIAMMemberArgs>({
          bucket: "b",
          role: "roles/storage.objectViewer",
          member: "allUsers",
        }),
      },
      {
        type: G.binding,
        name: "b",
        props: inputs<gcs.BucketIAMBindingArgs>({
          bucket: "b",
          role: "roles/storage.objectViewer",
          members: ["allAuthenticatedUsers"],
        }),
      },
      {
        type: G.bucketPolicy,
        name: "p",
        props: inputs<gcs.BucketIAMPolicyArgs>({
          bucket: "b",
          policyData: JSON.stringify({
            bindings: [{ role: "roles/storage.objectViewer", members: ["allUsers"] }],
          }),
        }),
      },
      {
        type: G.acl,
        name: "acl",
        props: inputs<gcs.BucketACLArgs>({ bucket: "b", roleEntities: ["READER:allUsers"] }),
      },
      {
        type: G.acl,
        name: "predefined",
        props: inputs<gcs.BucketACLArgs>({ bucket: "b", predefinedAcl: "publicRead" }),
      },
      {
        type: G.acl,
        name: "private",
        props: inputs<gcs.BucketACLArgs>({ bucket: "b", roleEntities: ["OWNER:project-owners-1"] }),
      },
    ]);
    expect(
      v.filter((x) => x.policy === "gcs-no-public-members").map((x) => x.urn?.split("::").pop()),
    ).toEqual(["m", "b", "p", "acl", "predefined"]);
  });

  it("gcp-no-project-level-storage-roles", async () => {
    const v = await runPolicies(gcpPolicies, [
      {
        type: G.projectMember,
        name: "member",
        props: inputs<projects.IAMMemberArgs>({
          project: "p",
          role: "roles/storage.admin",
          member: "serviceAccount:x@p.iam.gserviceaccount.com",
        }),
      },
      {
        type: G.projectBinding,
        name: "binding",
        props: inputs<projects.IAMBindingArgs>({
          project: "p",
          role: "roles/storage.objectAdmin",
          members: ["user:a@example.com"],
        }),
      },
      {
        type: G.projectPolicy,
        name: "policy",
        props: inputs<projects.IAMPolicyArgs>({
          project: "p",
          policyData: JSON.stringify({
            bindings: [{ role: "roles/storage.objectViewer", members: ["group:g@example.com"] }],
          }),
        }),
      },
      {
        type: G.projectPolicy,
        name: "broken",
        props: inputs<projects.IAMPolicyArgs>({ project: "p", policyData: "{" }),
      },
    ]);
    const hits = v.filter((x) => x.policy === "gcp-no-project-level-storage-roles");
    expect(hits.map((x) => x.urn?.split("::").pop())).toEqual(["member", "binding", "policy", "broken"]);
    expect(hits[0].message).toMatch(/BucketIAMMember/);
    expect(hits[3].message).toMatch(/not valid JSON/);
  });
});

// Azure Blob artifact store under mocks: the matrix (dev/prod x ec2/container) and examples/Pulumi.azure-dev.yaml.
/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read untyped mocked inputs (nested provider args, IAM JSON). */
import { Evaluation, evaluateProgram, markerFor } from "../support/mockRuntime";
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

const SAS_MARKER = markerFor("azure-sas");
const ACCOUNT = "azure-native:storage:StorageAccount";
const CONTAINER = "azure-native:storage:BlobContainer";
const SERVICE = "azure-native:storage:BlobServiceProperties";
const POLICY = "azure-native:storage:ManagementPolicy";
const GROUP = "azure-native:resources:ResourceGroup";
const SECRET = "aws:secretsmanager/secret:Secret";

const variants: StackVariant[] = [
  ...matrixVariants({ backend: "azureBlob" }),
  ...fileVariants().filter((v) => v.id === "examples/Pulumi.azure-dev.yaml"),
];

test("examples/Pulumi.azure-dev.yaml exists and is evaluated", () => {
  expect(variants.map((v) => v.id)).toContain("examples/Pulumi.azure-dev.yaml");
});

describe.each(variants.map((v) => [v.id, v] as const))("azure blob %s", (_id, variant) => {
  let e: Evaluation;
  const protect = JSON.parse(variant.config["mlflow-platform:protect"] ?? "false") === true;
  const store = JSON.parse(variant.config["mlflow-platform:artifactStore"]);
  const compute = JSON.parse(variant.config["mlflow-platform:server"] ?? "{}").compute ?? "ec2";
  const days = store.noncurrentVersionExpirationDays ?? 30;

  beforeAll(async () => {
    e = await evaluateProgram(variant);
  });

  test("one explicit azure-native provider from the stack settings", () => {
    const provider = single(e, "pulumi:providers:azure-native");
    expect(provider.inputs.location).toBe(store.azureBlob.location);
    for (const type of [ACCOUNT, CONTAINER, SERVICE, POLICY]) {
      expect(single(e, type).parent?.type).toBe("mlflow-platform:index:ArtifactStore");
    }
  });

  test("storage account: StorageV2, HTTPS only, TLS 1.2, no public blobs, infrastructure encryption", () => {
    const account = single(e, ACCOUNT).inputs;
    expect(account.accountName).toMatch(/^[a-z0-9]{3,24}$/);
    expect(account.kind).toBe("StorageV2");
    expect(account.enableHttpsTrafficOnly).toBe(true);
    expect(account.minimumTlsVersion).toBe("TLS1_2");
    expect(account.allowBlobPublicAccess).toBe(false);
    expect(account.allowCrossTenantReplication).toBe(false);
    const encryption = account.encryption as Record<string, any>;
    expect(encryption.requireInfrastructureEncryption).toBe(true);
    expect(encryption.services.blob.enabled).toBe(true);
  });

  test("versioning, blob and container soft delete", () => {
    const service = single(e, SERVICE).inputs as Record<string, any>;
    expect(service.blobServicesName).toBe("default");
    expect(service.isVersioningEnabled).toBe(true);
    expect(service.deleteRetentionPolicy).toEqual({ enabled: true, days: Math.min(days, 365) });
    expect(service.containerDeleteRetentionPolicy).toEqual({ enabled: true, days: Math.min(days, 365) });
  });

  test("private container; lifecycle deletes old versions", () => {
    expect(single(e, CONTAINER).inputs.publicAccess).toBe("None");
    const rules = (single(e, POLICY).inputs.policy as Record<string, any>).rules;
    expect(rules).toHaveLength(1);
    expect(rules[0].enabled).toBe(true);
    expect(rules[0].definition.actions.version.delete.daysAfterCreationGreaterThan).toBe(days);
  });

  test(`protection ${protect ? "on" : "off"} for account, container and resource group`, () => {
    const guarded = [single(e, ACCOUNT), single(e, CONTAINER), ...ofType(e, GROUP)];
    for (const r of guarded) {
      expect([r.name, r.protect, r.retainOnDelete]).toEqual([r.name, protect, protect]);
    }
  });

  test("artifact root is wasbs://<container>@<account>.blob.core.windows.net/<prefix>", () => {
    const account = single(e, ACCOUNT).inputs.accountName;
    const root = e.outputs.artifactRoot;
    expect(root.secret).toBe(false);
    expect(root.value).toBe(
      `wasbs://mlflow-artifacts@${account}.blob.core.windows.net/${store.prefix ?? "mlflow"}`,
    );
    // The same check server/render.ts applies.
    expect(root.value).toMatch(/^wasbs:\/\/[a-z0-9$-]+@[a-z0-9]+\.blob\.core\.windows\.net(\/.*)?$/);
  });

  test("container SAS: one container, HTTPS only, future expiry, every input mocked", () => {
    const calls = e.calls.filter((c) => c.token === "azure-native:storage:listStorageAccountServiceSAS");
    expect(calls).toHaveLength(1);
    const sas = calls[0].inputs;
    const account = single(e, ACCOUNT).inputs.accountName;
    expect(sas.canonicalizedResource).toBe(`/blob/${account}/mlflow-artifacts`);
    expect(sas.resource).toBe("c");
    expect(sas.permissions).toBe("racwdl");
    expect(sas.protocols).toBe("https");
    expect(Date.parse(String(sas.sharedAccessExpiryTime))).toBeGreaterThan(Date.parse(variant.now)); // the program's clock
    if (store.azureBlob.sasExpiresOn)
      expect(sas.sharedAccessExpiryTime).toBe(`${store.azureBlob.sasExpiresOn}T00:00:00Z`);
  });

  test("the connection string is stored only as a secret in Secrets Manager", () => {
    const { value } = storedSecret(e, "-azure-blob");
    const account = single(e, ACCOUNT).inputs.accountName;
    expect(value).toMatch(
      new RegExp(
        `^BlobEndpoint=https://${account}\\.blob\\.core\\.windows\\.net/;SharedAccessSignature=sv=[^;]*&sr=c&`,
      ),
    );
    expect(value).toContain(`sig=${SAS_MARKER}`);
  });

  test("no SAS value in any plain input or output", () => {
    for (const r of e.resources) {
      const leaks = plainStrings(r.wrappedInputs).filter((s) => s.value.includes(SAS_MARKER));
      expect([r.type, r.name, leaks]).toEqual([r.type, r.name, []]);
    }
    for (const [name, output] of Object.entries(e.outputs)) {
      if (!output.secret)
        expect([name, JSON.stringify(output.value ?? null).includes(SAS_MARKER)]).toEqual([name, false]);
    }
  });

  test("server wiring: GetSecretValue on exactly the server's secrets; user data names the SAS secret", () => {
    const secretArns = ofType(e, SECRET)
      .map((r) => String(r.state.arn))
      .sort();
    const azureArn = String(storedSecret(e, "-azure-blob").secret.state.arn);
    const granted = policyResourcesFor(e, "secretsmanager:GetSecretValue");
    expect(granted).toContain(azureArn);
    for (const arn of granted) expect(secretArns).toContain(arn);
    // Container mode: compute-container.test.ts checks the execution role's grant.
    if (compute !== "ec2") return;
    // EC2: the one server policy grants exactly the server's secrets.
    expect([...granted].sort()).toEqual(secretArns);
    const userData = Object.values(cloudInitFiles(userDataOf(single(e, "aws:ec2/instance:Instance")))).join(
      "\n",
    );
    expect(userData).toContain(`AZURE_STORAGE_CONNECTION_STRING_SECRET_ARN="${azureArn}"`);
    expect(userData).not.toContain(SAS_MARKER);
    expect(userData).not.toMatch(/AZURE_STORAGE_CONNECTION_STRING="/);
  });

  test("resource names are unique per type", () => {
    const keys = e.resources.map((r) => `${r.type}::${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

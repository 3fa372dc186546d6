import * as pulumi from "@pulumi/pulumi";
import { getCallerIdentityOutput } from "@pulumi/aws/getCallerIdentity";
import * as iam from "@pulumi/aws/iam";
import * as scheduler from "@pulumi/aws/scheduler";
import * as random from "@pulumi/random";
import { Provider as AzureProvider } from "@pulumi/azure-native/provider";
import * as resources from "@pulumi/azure-native/resources";
import * as storage from "@pulumi/azure-native/storage";
import type { AzureBlobOptions } from "../args";
import type {
  ArtifactStorage,
  ArtifactBackendContext,
  ArtifactBackendModule,
  ArtifactStoreConfig,
  BackendStackConfig,
  TagNameRule,
} from "../contracts";
import { ConfigError, Raw, optionalString, requiredString } from "../configReader";
import { policyDocument } from "../iam";
import { storeSecret } from "../secret";
import { checkPatterns, dateWithinYears, refuser } from "../validate";

/** The server's credential: the SAS, in the form MLflow's Azure repository reads. */
const CREDENTIAL_VARIABLE = "AZURE_STORAGE_CONNECTION_STRING";
/** The one container MLflow writes to. */
export const AZURE_CONTAINER_NAME = "mlflow-artifacts";
/** What the server may do in its container: read, add, create, write, delete, list. Nothing account-wide. */
export const AZURE_SAS_PERMISSIONS = "racwdl";

/**
 * Azure Blob: a StorageV2 account (HTTPS only, TLS 1.2+, no anonymous access, infrastructure encryption),
 * blob versioning with blob and container soft delete, one private container, and a lifecycle policy that
 * deletes old versions. The server (on AWS) gets a service SAS for that one container only, over HTTPS, as
 * `AZURE_STORAGE_CONNECTION_STRING` in Secrets Manager. Why a SAS and how to rotate it: examples/README.md.
 */
export function createAzureBlobBackend({ name, args, parent }: ArtifactBackendContext): ArtifactStorage {
  const { settings, protect, tags } = args;
  const azure = azureSettings(args);

  // Every Azure setting comes from the stack config, through this one provider.
  const provider = new AzureProvider(
    `${name}-azure`,
    { location: azure.location, ...(azure.subscriptionId ? { subscriptionId: azure.subscriptionId } : {}) },
    { parent },
  );
  const opts = { parent, provider };
  const keep = { ...opts, protect, retainOnDelete: protect };

  const resourceGroupName: pulumi.Output<string> = azure.resourceGroupName
    ? pulumi.output(azure.resourceGroupName)
    : // Deleting a group deletes what is in it: a protected stack keeps the group too.
      new resources.ResourceGroup(`${name}-artifacts`, { location: azure.location, tags }, keep).name;

  // Storage account names are global: 3-24 lower-case letters and digits.
  const suffix = new random.RandomId(`${name}-azure-account`, { byteLength: 4 }, { parent });
  const accountName = suffix.hex.apply((hex) => storageAccountName(name, hex));

  const account = new storage.StorageAccount(
    `${name}-artifacts`,
    {
      accountName,
      resourceGroupName,
      location: azure.location,
      kind: storage.Kind.StorageV2,
      sku: { name: protect ? storage.SkuName.Standard_GRS : storage.SkuName.Standard_LRS },
      accessTier: storage.AccessTier.Hot,
      enableHttpsTrafficOnly: true,
      minimumTlsVersion: storage.MinimumTlsVersion.TLS1_2,
      allowBlobPublicAccess: false,
      // The service SAS is signed with an account key: shared-key access must stay on (see examples/README.md).
      allowSharedKeyAccess: true,
      // Any SAS valid longer than the server's (start to expiry, at most two years) shows in Azure Monitor.
      sasPolicy: {
        sasExpirationPeriod: `${SAS_LIFETIME_YEARS * 366 - 1}.00:00:00`,
        expirationAction: storage.ExpirationAction.Log,
      },
      allowCrossTenantReplication: false,
      isLocalUserEnabled: false,
      isSftpEnabled: false,
      encryption: {
        keySource: storage.KeySource.Microsoft_Storage,
        // A second, platform-managed layer of encryption at rest (only settable at creation).
        requireInfrastructureEncryption: true,
        services: {
          blob: { enabled: true, keyType: storage.KeyType.Account },
          file: { enabled: true, keyType: storage.KeyType.Account },
        },
      },
      tags,
    },
    keep,
  );

  const retentionDays = Math.min(settings.noncurrentVersionExpirationDays, 365);
  const blobService = new storage.BlobServiceProperties(
    `${name}-artifacts`,
    {
      accountName: account.name,
      resourceGroupName,
      blobServicesName: "default",
      isVersioningEnabled: true,
      deleteRetentionPolicy: { enabled: true, days: retentionDays },
      containerDeleteRetentionPolicy: { enabled: true, days: retentionDays },
    },
    opts,
  );

  const container = new storage.BlobContainer(
    `${name}-artifacts`,
    {
      accountName: account.name,
      resourceGroupName,
      containerName: AZURE_CONTAINER_NAME,
      publicAccess: storage.PublicAccess.None,
    },
    { ...keep, dependsOn: [blobService] },
  );

  expireNoncurrentVersions(name, account.name, resourceGroupName, settings.noncurrentVersionExpirationDays, {
    ...opts,
    dependsOn: [blobService],
  });

  // A service SAS for the one container, HTTPS only, signed by ARM with key1. Both ends of its validity come
  // from the config: without a start time ARM stamps st=<now> into the token (and signs it), so every
  // preview and up would mint a new token and a new secret version.
  const window = sasWindow(azure.sasExpiresOn);
  const expiry = window.expiry;
  const sas = storage.listStorageAccountServiceSASOutput(
    {
      accountName: account.name,
      resourceGroupName,
      canonicalizedResource: pulumi.interpolate`/blob/${account.name}/${container.name}`,
      resource: storage.SignedResource.C,
      permissions: AZURE_SAS_PERMISSIONS,
      protocols: storage.HttpProtocol.Https,
      sharedAccessStartTime: window.start,
      sharedAccessExpiryTime: window.expiry,
      keyToSign: "key1",
    },
    opts,
  );
  const connectionString = pulumi.secret(
    pulumi.interpolate`BlobEndpoint=https://${account.name}.blob.core.windows.net/;SharedAccessSignature=${sas.serviceSasToken}`,
  );
  const secret = storeSecret(
    `${name}-azure-blob`,
    {
      description: `MLflow artifact store: service SAS for container ${AZURE_CONTAINER_NAME} (expires ${expiry})`,
      value: connectionString,
      protect,
      tags,
    },
    { parent },
  );

  // Inside the last SAS_REMINDER_DAYS the reminder is due already (and may have fired): the deploy's
  // config warning takes its place, and no schedule is created with a time in the past.
  if (args.alarmTopicArn && Date.parse(`${sasReminderTime(window.expiry)}Z`) > Date.now()) {
    sasExpiryReminder(name, args.alarmTopicArn, account.name, window.expiry, tags, parent);
  }

  return {
    artifactRoot: pulumi.interpolate`wasbs://${container.name}@${account.name}.blob.core.windows.net/${settings.prefix}`,
    // The SAS is the grant; it needs no AWS permission beyond reading its secret, which the compute grants
    // for every server secret.
    grantReadWrite: () => ({
      environment: pulumi.output<Record<string, string>>({}),
      secrets: [{ variable: CREDENTIAL_VARIABLE, ...secret }],
    }),
  };
}

/**
 * The lifecycle rule: noncurrent versions and snapshots are deleted `days` after they were written (Azure
 * ages them from creation; docs/artifact-backends.md). Version rules need versioning in place first: `opts`
 * carries the dependency on the blob service properties.
 */
function expireNoncurrentVersions(
  name: string,
  accountName: pulumi.Input<string>,
  resourceGroupName: pulumi.Input<string>,
  days: number,
  opts: pulumi.CustomResourceOptions,
): storage.ManagementPolicy {
  return new storage.ManagementPolicy(
    `${name}-artifacts`,
    {
      accountName,
      resourceGroupName,
      managementPolicyName: "default",
      policy: {
        rules: [
          {
            name: "expire-noncurrent-versions",
            enabled: true,
            type: storage.RuleType.Lifecycle,
            definition: {
              filters: { blobTypes: ["blockBlob"] },
              actions: {
                version: {
                  delete: { daysAfterCreationGreaterThan: days },
                },
                snapshot: {
                  delete: { daysAfterCreationGreaterThan: days },
                },
              },
            },
          },
        ],
      },
    },
    opts,
  );
}

/** Days before the SAS expiry when the reminder reaches the alarm topic (stacks/config.ts keeps it ahead). */
export const SAS_REMINDER_DAYS = 30;

/**
 * A one-time EventBridge schedule that publishes to the alarm topic SAS_REMINDER_DAYS before the SAS expires.
 * The expiry is config, known at deploy time, so the reminder needs no metric and no running server; every
 * `pulumi up` that moves the date moves it too. (A regenerated key1 is caught by start.sh's preflight.)
 */
function sasExpiryReminder(
  name: string,
  topicArn: pulumi.Input<string>,
  accountName: pulumi.Output<string>,
  expiry: string,
  tags: Record<string, string>,
  parent: pulumi.Resource,
): void {
  const topic = pulumi.output(topicArn);
  // The deploying account, not the topic's: an alarm topic may live in another (central) account.
  const account = getCallerIdentityOutput({}, { parent }).accountId;
  const role = new iam.Role(
    `${name}-sas-reminder`,
    {
      description: "EventBridge Scheduler: remind the alarm topic of the Azure SAS expiry",
      assumeRolePolicy: account.apply((accountId) =>
        policyDocument([
          {
            Effect: "Allow",
            Action: "sts:AssumeRole",
            Principal: { Service: "scheduler.amazonaws.com" },
            // Only schedules of this account (confused deputy).
            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
          },
        ]),
      ),
      tags,
    },
    { parent },
  );
  const policy = new iam.RolePolicy(
    `${name}-sas-reminder`,
    {
      role: role.name,
      policy: topic.apply((arn) =>
        policyDocument([{ Effect: "Allow", Action: "sns:Publish", Resource: arn }]),
      ),
    },
    { parent },
  );
  new scheduler.Schedule(
    `${name}-sas-reminder`,
    {
      description: `MLflow: the Azure SAS of the artifact store expires on ${expiry.slice(0, 10)}`,
      scheduleExpression: `at(${sasReminderTime(expiry)})`,
      scheduleExpressionTimezone: "UTC",
      flexibleTimeWindow: { mode: "OFF" },
      // Kept after it fired: deleting it would make the next `pulumi up` create it again.
      actionAfterCompletion: "NONE",
      target: {
        arn: topic,
        roleArn: role.arn,
        input: pulumi.interpolate`MLflow artifact store: the server's Azure SAS for storage account ${accountName} expires on ${expiry.slice(0, 10)} (in ${SAS_REMINDER_DAYS} days); after that every artifact upload and download fails. Set a later mlflow-platform:artifactStore.azureBlob.sasExpiresOn and run pulumi up (examples/README.md, "Rotating the Azure SAS").`,
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 86400 },
      },
    },
    { parent, dependsOn: [policy] },
  );
}

/** `yyyy-mm-ddThh:mm:ss` (Scheduler's at() format), SAS_REMINDER_DAYS before the expiry. */
export function sasReminderTime(expiry: string): string {
  return new Date(Date.parse(expiry) - SAS_REMINDER_DAYS * 86_400_000).toISOString().slice(0, 19);
}

/** `<component name, letters and digits only, at most 16>` + 8 hex characters: 3-24 lower-case alphanumerics. */
export function storageAccountName(componentName: string, hex: string): string {
  const base =
    componentName
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")
      .slice(0, 16) || "mlflow";
  return `${base}${hex.toLowerCase()}`.slice(0, 24);
}

/** The longest SAS validity (start to expiry); stacks/config.ts caps `sasExpiresOn` to match. */
export const SAS_LIFETIME_YEARS = 2;

/**
 * The SAS validity window, from the config alone: expiry on the configured date (or 1 January of the year
 * after next, which changes once a year), start SAS_LIFETIME_YEARS before it, so never after today.
 */
export function sasWindow(
  configured: string | undefined,
  now = new Date(),
): { start: string; expiry: string } {
  const expiry = sasExpiry(configured, now);
  const start = new Date(expiry);
  start.setUTCFullYear(start.getUTCFullYear() - SAS_LIFETIME_YEARS);
  return { start: start.toISOString().replace(".000Z", "Z"), expiry };
}

/** The SAS expiry: the configured date, or 1 January of the year after next (changes once a year). */
export function sasExpiry(configured: string | undefined, now = new Date()): string {
  const date = configured ?? `${now.getUTCFullYear() + 2}-01-01`;
  return `${date}T00:00:00Z`;
}

/** Azure Resource Manager rejects tag names with any of <>%&\\?/ (the tags reach the storage account). */
const AZURE_TAG_NAMES: TagNameRule = {
  cloud: "Azure",
  refused: /[<>%&\\?/]/,
  allowed: "tag names without any of < > % & \\ ? /",
};

/** What each option allows, as a pattern and in words: the library's check and the stack config's reader. */
const ALLOWED = {
  location: [/^[a-z][a-z0-9]{2,30}$/, "an Azure region name such as westeurope"],
  subscriptionId: [/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i, "a subscription GUID"],
  resourceGroupName: [
    /^[-\w.()]{1,89}[-\w()]$/,
    "an existing resource group name (1-90 letters, digits, -_.())",
  ],
  sasExpiresOn: [/^\d{4}-\d{2}-\d{2}$/, "a date YYYY-MM-DD"],
} satisfies Record<keyof AzureBlobOptions, [RegExp, string]>;

/** The backend's own settings, refused before anything is registered (the stack config: stackConfig.read). */
function azureSettings(args: ArtifactStoreConfig, now = new Date()): AzureBlobOptions {
  const s = args.settings.azureBlob;
  if (!s) throw new Error('ArtifactStore: settings.azureBlob is missing; the "azureBlob" backend needs it');
  const refuse = refuser("ArtifactStore");
  // location is required; the others are checked when given.
  const given = (Object.keys(ALLOWED) as (keyof AzureBlobOptions)[]).filter(
    (key) => key === "location" || s[key] !== undefined,
  );
  checkPatterns(
    refuse,
    given.map((key) => [`azureBlob.${key}`, s[key], ...ALLOWED[key]]),
  );
  if (s.sasExpiresOn !== undefined && !dateWithinYears(s.sasExpiresOn, now, SAS_LIFETIME_YEARS))
    refuse(
      "azureBlob.sasExpiresOn",
      s.sasExpiresOn,
      `a valid date after today and at most ${SAS_LIFETIME_YEARS} years from today`,
    );
  const badTag = Object.keys(args.tags).find((tagName) => AZURE_TAG_NAMES.refused.test(tagName));
  if (badTag !== undefined) refuse("tags", badTag, AZURE_TAG_NAMES.allowed);
  return s;
}

/**
 * The server's container SAS expiry: after today and at most two years ahead, stable across plans. Within
 * 30 days of it a deploy still runs (an emergency fix must not wait for the rotation) with a warning.
 */
function readSasExpiry(key: string, value: unknown, now: Date): string | undefined {
  const date = optionalString(key, value, ...ALLOWED.sasExpiresOn);
  if (date === undefined) return undefined;
  if (!dateWithinYears(date, now, SAS_LIFETIME_YEARS)) {
    throw new ConfigError(
      `${key}: got "${date}"; allowed: a valid date YYYY-MM-DD after today and at most ${SAS_LIFETIME_YEARS} years from today (the container SAS expires then; rotate it by setting a later date and running pulumi up)`,
    );
  }
  const daysLeft = Math.ceil((Date.parse(`${date}T00:00:00Z`) - now.getTime()) / 86_400_000);
  // This close to the expiry the reminder has fired or is about to: the deploy says it too.
  if (daysLeft <= SAS_REMINDER_DAYS) {
    pulumi.log.warn(
      `${key}: the server's Azure SAS expires on ${date} (in ${daysLeft} days); after that every artifact upload and download fails. Rotate it: set a date more than ${SAS_REMINDER_DAYS} days ahead and run pulumi up (examples/README.md, "Rotating the Azure SAS").`,
    );
  }
  return date;
}

/** `artifactStore.azureBlob` in the stack config. */
const stackConfig: BackendStackConfig = {
  title: "Azure Blob",
  reference: [
    {
      key: "location",
      type: "Azure region",
      defaultText: "required for `azureBlob`",
      meaning: "storage account region, e.g. `westeurope`",
    },
    {
      key: "subscriptionId",
      type: "GUID",
      defaultText: "the provider's",
      meaning: "subscription to deploy into (`ARM_SUBSCRIPTION_ID`, `az login`)",
    },
    {
      key: "resourceGroupName",
      type: "string",
      defaultText: "a new group",
      meaning: "use an existing resource group",
    },
    {
      key: "sasExpiresOn",
      type: "YYYY-MM-DD (future)",
      defaultText: "1 January of the year after next",
      meaning: "expiry of the server's container SAS (rotate by moving it)",
    },
  ],
  shape: "{ location: <Azure region such as westeurope>, subscriptionId?, resourceGroupName? }",
  read: (key: string, raw: Raw, now: Date) => ({
    location: requiredString(`${key}.location`, raw.location, ...ALLOWED.location),
    subscriptionId: optionalString(`${key}.subscriptionId`, raw.subscriptionId, ...ALLOWED.subscriptionId),
    resourceGroupName: optionalString(
      `${key}.resourceGroupName`,
      raw.resourceGroupName,
      ...ALLOWED.resourceGroupName,
    ),
    sasExpiresOn: readSasExpiry(`${key}.sasExpiresOn`, raw.sasExpiresOn, now),
  }),
};

export const artifactBackend: ArtifactBackendModule = {
  name: "azureBlob",
  credentialVariable: CREDENTIAL_VARIABLE,
  stackConfig,
  tagNames: AZURE_TAG_NAMES,
  checkArgs: (args) => void azureSettings(args),
  create: createAzureBlobBackend,
};

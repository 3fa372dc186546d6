// Azure and GCP API constraints the provider types cannot express: names and ids, display names and
// descriptions, tags and labels. Each limit cites the provider documentation it comes from.
import { ResourceValidationPolicy } from "@pulumi/policy";
import {
  checkNames,
  checkTexts,
  NameSpec,
  noDoubleHyphen,
  noLeadingOrTrailingHyphen,
  reservedPrefix,
  TagRule,
  tagMap,
  tagViolations,
  TextRule,
  TextSpec,
} from "./limits";
import { canonicalType, describe } from "./util";

// ---------------------------------------------------------------------------------------------------
// Azure (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).

/** Microsoft.Storage/storageAccounts: 3-24, lowercase letters and numbers only. */
const AZURE_STORAGE_ACCOUNT: TextRule = {
  label: "Azure storage account name",
  min: 3,
  max: 24,
  pattern: /^[a-z0-9]+$/,
  allowed: "a-z0-9",
};
/**
 * Blob containers ("Naming and Referencing Containers, Blobs, and Metadata"): 3-63, lowercase letters,
 * numbers and hyphens, begin with a letter or number, every hyphen preceded and followed by a letter or number.
 */
const AZURE_BLOB_CONTAINER: TextRule = {
  label: "Azure blob container name",
  min: 3,
  max: 63,
  pattern: /^[a-z0-9-]+$/,
  allowed: "a-z0-9-",
  extra: [noLeadingOrTrailingHyphen, noDoubleHyphen],
};
/** Microsoft.Resources/resourceGroups: 1-90, letters, digits, underscores, parentheses, hyphens, periods; not ending in a period. */
const AZURE_RESOURCE_GROUP: TextRule = {
  label: "Azure resource group name",
  min: 1,
  max: 90,
  pattern: /^[\p{L}\p{N}_().-]+$/u,
  allowed: "letters, digits and _().-",
  extra: [(v) => (v.endsWith(".") ? "ends with a period" : undefined)],
};

// ---------------------------------------------------------------------------------------------------
// GCP.

/**
 * IAM REST projects.locations.workloadIdentityPools.create workloadIdentityPoolId, and
 * ...providers.create workloadIdentityPoolProviderId: "4-32 characters, and may contain the characters
 * [a-z0-9-]. The prefix gcp- is reserved for use by Google, and may not be specified."
 */
const gcpWorkloadIdentityId = (label: string): TextRule => ({
  label,
  min: 4,
  max: 32,
  pattern: /^[a-z0-9-]+$/,
  allowed: "a-z0-9-",
  extra: [reservedPrefix("gcp-")],
});
/** IAM serviceAccounts.create accountId: 6-30, `^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$`. */
const GCP_SERVICE_ACCOUNT_ID: TextRule = {
  label: "GCP service account id",
  min: 6,
  max: 30,
  pattern: /^[a-z][-a-z0-9]*[a-z0-9]$/,
  allowed: "a-z0-9- beginning with a letter and ending with a letter or digit",
};
/**
 * Cloud Storage bucket naming (cloud.google.com/storage/docs/buckets#naming): 3-63 characters (names
 * with dots up to 222, each dot-separated part at most 63) of a-z0-9-_. beginning and ending with a
 * letter or digit; not an IP address; cannot begin with "goog" or contain "google" (or close misspellings).
 */
const GCS_BUCKET: TextRule = {
  label: "GCS bucket name",
  min: 3,
  max: 222,
  pattern: /^[a-z0-9][a-z0-9._-]*[a-z0-9]$/,
  allowed: "a-z0-9-_. beginning and ending with a letter or digit",
  extra: [
    (v) =>
      !v.includes(".") && v.length > 63 ? `is ${v.length} characters without dots, more than 63` : undefined,
    (v) =>
      v.split(".").some((part) => part.length > 63)
        ? "has a dot-separated part over 63 characters"
        : undefined,
    (v) => (/^\d+\.\d+\.\d+\.\d+$/.test(v) ? "is formatted as an IP address" : undefined),
    reservedPrefix("goog"),
    (v) => (/g[o0]{2}g[l1]e/.test(v) ? 'contains "google" or a close misspelling' : undefined),
  ],
};

export const AZURE_GCP_NAME_SPECS: readonly NameSpec[] = [
  {
    type: "azure-native:storage:StorageAccount",
    fields: [{ key: "accountName", autoname: "as-is", rule: AZURE_STORAGE_ACCOUNT }],
  },
  {
    type: "azure-native:storage:BlobContainer",
    fields: [{ key: "containerName", autoname: "as-is", rule: AZURE_BLOB_CONTAINER }],
  },
  {
    type: "azure-native:resources:ResourceGroup",
    fields: [{ key: "resourceGroupName", autoname: "as-is", rule: AZURE_RESOURCE_GROUP }],
  },
  {
    // Both ids are required inputs (no autoname).
    type: "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
    fields: [{ key: "workloadIdentityPoolId", rule: gcpWorkloadIdentityId("workload identity pool id") }],
  },
  {
    type: "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
    fields: [
      { key: "workloadIdentityPoolId", rule: gcpWorkloadIdentityId("workload identity pool id") },
      {
        key: "workloadIdentityPoolProviderId",
        rule: gcpWorkloadIdentityId("workload identity pool provider id"),
      },
    ],
  },
  {
    type: "gcp:serviceaccount/account:Account",
    fields: [{ key: "accountId", rule: GCP_SERVICE_ACCOUNT_ID }],
  },
  { type: "gcp:storage/bucket:Bucket", fields: [{ key: "name", autoname: "as-is", rule: GCS_BUCKET }] },
];

export const azureGcpNameLimits: ResourceValidationPolicy = {
  name: "azure-gcp-name-limits",
  description:
    "Azure storage account (3-24 lowercase alphanumerics), blob container and resource group names, and GCP workload identity pool and provider ids (4-32, no gcp- prefix), service account ids (6-30) and bucket names fit the API's rules.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => checkNames(AZURE_GCP_NAME_SPECS, args, report),
};

/** GCP IAM: pool and provider displayName "Cannot exceed 32 characters", description "Cannot exceed 256 characters". */
const gcpText = (label: string, max: number): TextRule => ({ label, max });

export const GCP_TEXT_SPECS: readonly TextSpec[] = [
  ...[
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
  ].flatMap((type) => [
    { type, key: "displayName", rule: gcpText("IAM workload identity displayName: at most 32", 32) },
    { type, key: "description", rule: gcpText("IAM workload identity description: at most 256", 256) },
  ]),
  // IAM serviceAccounts.create: displayName "must be 100 characters or less", description "must be less than or equal to 256 UTF-8 bytes".
  {
    type: "gcp:serviceaccount/account:Account",
    key: "displayName",
    rule: gcpText("service account displayName: at most 100", 100),
  },
  {
    type: "gcp:serviceaccount/account:Account",
    key: "description",
    rule: gcpText("service account description: at most 256", 256),
  },
];

export const gcpTextLimits: ResourceValidationPolicy = {
  name: "gcp-text-limits",
  description:
    "GCP workload identity pool/provider and service account display names and descriptions fit the IAM API's length limits (pool and provider displayName 32).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => checkTexts(GCP_TEXT_SPECS, args, report),
};

// ---------------------------------------------------------------------------------------------------
// Tags and labels.

/**
 * Azure tag limitations (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations):
 * at most 50 tag name-value pairs per resource; names up to 512 characters (storage accounts 128), values
 * up to 256; tag names can't contain < > % & \ ? /.
 */
export function azureTagRule(type: string): TagRule {
  const storage = canonicalType(type) === "azure-native:storage:StorageAccount";
  return {
    noun: "tags",
    maxCount: 50,
    key: {
      label: "Azure tag name",
      min: 1,
      max: storage ? 128 : 512,
      pattern: /^[^<>%&\\?/]+$/,
      allowed: "any character but <>%&\\?/",
    },
    value: { label: "Azure tag value", max: 256 },
  };
}

/**
 * GCP labels (cloud.google.com/resource-manager/docs/labels-overview#requirements): at most 64 per
 * resource; keys 1-63 lowercase letters, digits, underscores and dashes, beginning with a lowercase
 * letter (international characters allowed); values 0-63 of the same characters.
 */
export const GCP_LABELS: TagRule = {
  noun: "labels",
  maxCount: 64,
  key: {
    label: "GCP label key",
    min: 1,
    max: 63,
    pattern: /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]*$/u,
    allowed: "lowercase letters, digits, _ and -, beginning with a lowercase letter",
  },
  value: {
    label: "GCP label value",
    max: 63,
    pattern: /^[\p{Ll}\p{Lo}\p{N}_-]*$/u,
    allowed: "lowercase letters, digits, _ and -",
  },
};

export const azureTagLimits: ResourceValidationPolicy = {
  name: "azure-tag-limits",
  description:
    "Azure resources carry at most 50 tags, names of at most 512 characters (storage accounts 128) without <>%&\\?/ and values of at most 256.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => {
    if (!args.type.startsWith("azure-native:")) return;
    const tags = tagMap(args.props.tags);
    const reasons = tags ? tagViolations(tags, azureTagRule(args.type)) : [];
    if (reasons.length > 0) report(`${describe(args)}: tags ${reasons.join("; ")} (Azure tag limitations).`);
  },
};

export const gcpLabelLimits: ResourceValidationPolicy = {
  name: "gcp-label-limits",
  description:
    "GCP resources carry at most 64 labels whose keys (1-63, beginning with a lowercase letter) and values (at most 63) use lowercase letters, digits, _ and - only.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => {
    // Only GCP resources: docker-build image `labels` are OCI labels with their own rules.
    if (!args.type.startsWith("gcp:")) return;
    const labels = tagMap(args.props.labels);
    const reasons = labels ? tagViolations(labels, GCP_LABELS) : [];
    if (reasons.length > 0)
      report(`${describe(args)}: labels ${reasons.join("; ")} (GCP label requirements).`);
  },
};

export const azureGcpLimitPolicies = [azureGcpNameLimits, gcpTextLimits, azureTagLimits, gcpLabelLimits];

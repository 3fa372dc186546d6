// Azure Blob artifact store: HTTPS only with TLS 1.2+, no public blob access, encryption never disabled,
// blob versioning and soft delete on (DESIGN.md "Buckets/containers").
import { ResourceValidationPolicy } from "@pulumi/policy";
import {
  asObject,
  describe,
  dig,
  known,
  requireCompanion,
  resourcePolicy,
  stackPolicy,
  UNKNOWN,
} from "./util";

export const AZURE_STORAGE_ACCOUNT = "azure-native:storage:StorageAccount";
export const AZURE_BLOB_CONTAINER = "azure-native:storage:BlobContainer";
export const AZURE_BLOB_SERVICE_PROPERTIES = "azure-native:storage:BlobServiceProperties";

const MODERN_TLS = ["TLS1_2", "TLS1_3"];

export const azureStorageHttpsOnly = resourcePolicy(
  {
    name: "azure-storage-https-only",
    description: "Azure storage accounts accept HTTPS only (enableHttpsTrafficOnly: true).",
    types: [AZURE_STORAGE_ACCOUNT],
  },
  (props, args, report) => {
    if (props.enableHttpsTrafficOnly !== true) {
      report(`${describe(args)} does not require HTTPS: set enableHttpsTrafficOnly: true.`);
    }
  },
);

export const azureStorageMinimumTls12 = resourcePolicy(
  {
    name: "azure-storage-minimum-tls-1-2",
    description: "Azure storage accounts refuse TLS older than 1.2 (minimumTlsVersion TLS1_2).",
    types: [AZURE_STORAGE_ACCOUNT],
  },
  (props, args, report) => {
    if (!MODERN_TLS.includes(String(props.minimumTlsVersion))) {
      report(
        `${describe(args)} has minimumTlsVersion "${String(props.minimumTlsVersion)}": set minimumTlsVersion: "TLS1_2".`,
      );
    }
  },
);

export const azureStorageNoBlobPublicAccess = resourcePolicy(
  {
    name: "azure-storage-no-blob-public-access",
    description: "Azure storage accounts forbid anonymous blob access (allowBlobPublicAccess: false).",
    types: [AZURE_STORAGE_ACCOUNT],
  },
  (props, args, report) => {
    if (props.allowBlobPublicAccess !== false) {
      report(`${describe(args)} may allow anonymous blob access: set allowBlobPublicAccess: false.`);
    }
  },
);

export const azureStorageEncryptionNotDisabled = resourcePolicy(
  {
    name: "azure-storage-encryption-not-disabled",
    description: "Azure storage accounts never disable encryption at rest for any service.",
    types: [AZURE_STORAGE_ACCOUNT],
  },
  (props, args, report) => {
    const services = asObject(dig(props.encryption, "services")) ?? {};
    const disabled = Object.keys(services).filter((s) => dig(services[s], "enabled") === false);
    if (disabled.length > 0) {
      report(
        `${describe(args)} disables encryption for ${disabled.join(", ")}: remove encryption.services.<service>.enabled: false.`,
      );
    }
  },
);

export const azureBlobContainerPrivate = resourcePolicy(
  {
    name: "azure-blob-container-private",
    description: "Azure blob containers are private (publicAccess None or unset, which defaults to None).",
    types: [AZURE_BLOB_CONTAINER],
  },
  (props, args, report) => {
    if (props.publicAccess !== undefined && props.publicAccess !== "None") {
      report(`${describe(args)} has publicAccess "${String(props.publicAccess)}": set publicAccess: "None".`);
    }
  },
);

/** Why blob service properties do not protect blobs (undefined when they do). */
function blobProtectionProblem(props: Record<string, unknown>): string | undefined {
  const problems: string[] = [];
  if (props.isVersioningEnabled !== true) {
    problems.push("set isVersioningEnabled: true");
  }
  const retention = props.deleteRetentionPolicy;
  const days = dig(retention, "days");
  if (dig(retention, "enabled") !== true || (typeof days === "number" && days < 1)) {
    problems.push("set deleteRetentionPolicy: {enabled: true, days: >= 1}");
  }
  return problems.length > 0 ? problems.join(" and ") : undefined;
}

export const azureBlobVersioningAndSoftDelete = resourcePolicy(
  {
    name: "azure-blob-versioning-and-soft-delete",
    description: "Azure blob service properties enable blob versioning and a delete retention policy.",
    types: [AZURE_BLOB_SERVICE_PROPERTIES],
  },
  (props, args, report) => {
    const problem = blobProtectionProblem(props);
    if (problem) {
      report(`${describe(args)} does not protect blobs from overwrite/deletion: ${problem}.`);
    }
  },
);

export const azureStorageAccountHasBlobProtection = stackPolicy(
  {
    name: "azure-storage-account-has-blob-protection",
    description:
      "Every Azure storage account has BlobServiceProperties with versioning and delete retention enabled.",
  },
  (args, report) =>
    requireCompanion(
      args.resources,
      {
        parentTypes: [AZURE_STORAGE_ACCOUNT],
        companionTypes: [AZURE_BLOB_SERVICE_PROPERTIES],
        companionKey: "accountName",
        parentKeys: ["accountName", "name"],
        accept: (c) => blobProtectionProblem(c.props),
        message: (account, reasons) =>
          `${account.type} "${account.name}" has no blob versioning/soft delete${reasons.length ? ` (${reasons.join("; ")})` : ""}: ` +
          `add an azure-native storage.BlobServiceProperties for it (blobServicesName "default") with isVersioningEnabled: true ` +
          `and deleteRetentionPolicy: {enabled: true, days: 7}.`,
      },
      report,
    ),
);

/**
 * The Azure SAS tokens in `text`: connection strings (`SharedAccessSignature=<token>`), SAS URLs
 * (`https://…?<token>`) or bare tokens, i.e. query strings with a version (sv), an expiry (se) and a
 * signature (sig).
 */
export function azureSasTokens(text: string): URLSearchParams[] {
  return text
    .split(/[;?\s"'<>]/)
    .map((part) => part.replace(/^SharedAccessSignature=/i, ""))
    .filter((part) => part.includes("sig="))
    .map((part) => new URLSearchParams(part))
    .filter((q) => q.has("sv") && q.has("se") && q.has("sig"));
}

/** Why a SAS token's start is not pinned (undefined when it is): none, or one read from a clock. */
export function unpinnedSasStart(token: URLSearchParams): string | undefined {
  const start = token.get("st");
  if (start === null) return "has no start time (st)";
  // A configured start is a date or a whole-second time, which ARM may echo with a zero fraction as it does the
  // expiry (se=…T00:00:00.0000000Z). A non-zero fraction of a second means a clock reading: ARM's own stamp
  // (st=2026-01-02T14:41:14.3632132Z) or a program's new Date(). A clock read at a whole second (or rounded to
  // one) is not caught: the rule sees the value, not where it came from.
  if (/T\d{2}:\d{2}:\d{2}\.\d*[1-9]/.test(start)) return `starts at "${start}", a clock reading`;
  return undefined;
}

/** Every known string in `value`, at any depth (values unknown during preview are skipped). */
function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      const child = known(() => o[key]);
      if (child !== UNKNOWN) stringsIn(child, out);
    }
  }
  return out;
}

/**
 * CrossGuard sees resources, not provider functions: the `listStorageAccountServiceSAS`/`listStorageAccountSAS`
 * invoke itself is invisible to a policy pack, but the token it returned is visible wherever the program
 * stores it (here: the Secrets Manager secret version's secretString; policies get secret values in plain,
 * see tags.ts). A request without `sharedAccessStartTime` comes back with ARM's `st=<now>`.
 */
export const azureSasStartPinned: ResourceValidationPolicy = {
  name: "azure-sas-start-pinned",
  description:
    "Azure SAS tokens stored by the stack have a pinned start time: without sharedAccessStartTime ARM stamps st=<now> into the token, so every preview and up mints a new token (and a new secret version).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => {
    for (const text of stringsIn(args.props)) {
      for (const token of azureSasTokens(text)) {
        const problem = unpinnedSasStart(token);
        if (problem) {
          report(
            `${describe(args)} holds an Azure SAS (se=${token.get("se")}) that ${problem}: pass a fixed sharedAccessStartTime (whole seconds, from config, never now) to the SAS request.`,
          );
        }
      }
    }
  },
};

export const azurePolicies = [
  azureStorageHttpsOnly,
  azureStorageMinimumTls12,
  azureStorageNoBlobPublicAccess,
  azureStorageEncryptionNotDisabled,
  azureBlobContainerPrivate,
  azureBlobVersioningAndSoftDelete,
  azureStorageAccountHasBlobProtection,
  azureSasStartPinned,
];

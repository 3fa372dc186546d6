// Metadata database: not publicly accessible, encrypted, backed up; in prod, deletion protection and a
// final snapshot (DESIGN.md "Database").
import { ResourceValidationArgs } from "@pulumi/policy";
import { describe, resourcePolicy } from "./util";

export const RDS_INSTANCE = "aws:rds/instance:Instance";

export const rdsNotPubliclyAccessible = resourcePolicy(
  {
    name: "rds-not-publicly-accessible",
    description: "RDS instances are not publicly accessible.",
    types: [RDS_INSTANCE],
  },
  (props, args, report) => {
    // Unset means false (the provider's default), so only an explicit true is a violation.
    if (props.publiclyAccessible === true) {
      report(
        `${describe(args)} is publicly accessible: set publiclyAccessible: false and keep it in private subnets.`,
      );
    }
  },
);

export const rdsStorageEncrypted = resourcePolicy(
  {
    name: "rds-storage-encrypted",
    description: "RDS instances encrypt their storage (storageEncrypted: true).",
    types: [RDS_INSTANCE],
  },
  (props, args, report) => {
    if (props.storageEncrypted !== true) {
      report(`${describe(args)} does not encrypt its storage: set storageEncrypted: true.`);
    }
  },
);

export const rdsBackupsEnabled = resourcePolicy(
  {
    name: "rds-backups-enabled",
    description: "RDS instances keep automated backups (backupRetentionPeriod >= 1).",
    types: [RDS_INSTANCE],
  },
  (props, args, report) => {
    const days = props.backupRetentionPeriod;
    if (typeof days !== "number" || days < 1) {
      report(
        `${describe(args)} has backupRetentionPeriod ${String(days)}: set backupRetentionPeriod to 1 or more (7 recommended).`,
      );
    }
  },
);

export interface ProtectionConfig {
  /** Enforce deletion protection and a final snapshot on every stack. */
  requireDeletionProtection?: boolean;
  /** Stack names (from the resource URN) on which protection is enforced regardless of the flag above. */
  protectedStacks?: string[];
}

export const DEFAULT_PROTECTED_STACKS = ["prod", "production"];

/** The stack name in `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string | undefined {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn);
  return m ? m[1] : undefined;
}

function protectionRequired(args: ResourceValidationArgs): boolean {
  const config = args.getConfig<ProtectionConfig>();
  if (config.requireDeletionProtection === true) {
    return true;
  }
  const stack = stackOfUrn(args.urn);
  return stack !== undefined && (config.protectedStacks ?? DEFAULT_PROTECTED_STACKS).includes(stack);
}

export const rdsProdDeletionProtection = resourcePolicy(
  {
    name: "rds-prod-deletion-protection",
    description:
      "On protected stacks (pack config requireDeletionProtection, or a stack named in protectedStacks), RDS " +
      "instances have deletion protection and take a final snapshot on delete.",
    types: [RDS_INSTANCE],
    configSchema: {
      properties: {
        requireDeletionProtection: { type: "boolean", default: false },
        protectedStacks: { type: "array", items: { type: "string" }, default: DEFAULT_PROTECTED_STACKS },
      },
    },
  },
  (props, args, report) => {
    if (!protectionRequired(args)) {
      return;
    }
    const fixes: string[] = [];
    if (props.deletionProtection !== true) {
      fixes.push("deletionProtection: true");
    }
    if (props.skipFinalSnapshot !== false) {
      fixes.push("skipFinalSnapshot: false");
    }
    if (typeof props.finalSnapshotIdentifier !== "string" || props.finalSnapshotIdentifier === "") {
      fixes.push("a finalSnapshotIdentifier");
    }
    if (fixes.length > 0) {
      report(
        `${describe(args)} is not protected on a protected stack: set ${fixes.join(", ")} (mlflow-platform:protect: true).`,
      );
    }
  },
);

export const rdsPolicies = [
  rdsNotPubliclyAccessible,
  rdsStorageEncrypted,
  rdsBackupsEnabled,
  rdsProdDeletionProtection,
];

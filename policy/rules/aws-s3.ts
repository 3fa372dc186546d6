// S3 buckets: no public access, encryption at rest, versioning on, TLS-only access (DESIGN.md).
import { PolicyResource } from "@pulumi/policy";
import { isEveryone, isTlsOnlyDeny, parsePolicyDocument } from "./policy-document";
import {
  asArray,
  asString,
  describe,
  dig,
  known,
  requireCompanion,
  resourcePolicy,
  stackPolicy,
  UNKNOWN,
} from "./util";

export const S3_BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"] as const;
export const S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
export const S3_ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock";
export const S3_ENCRYPTION_TYPES = [
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
] as const;
export const S3_VERSIONING_TYPES = [
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketVersioningV2:BucketVersioningV2",
] as const;
export const S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";
export const S3_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls";
export const S3_ACL_TYPES = ["aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"] as const;
export const S3_OBJECT_TYPES = [
  "aws:s3/bucketObject:BucketObject",
  "aws:s3/bucketObjectv2:BucketObjectv2",
] as const;

const PUBLIC_ACCESS_FLAGS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
];
const PUBLIC_CANNED_ACLS = ["public-read", "public-read-write", "authenticated-read"];
const PUBLIC_GRANTEE_URIS = /acs\.amazonaws\.com\/groups\/global\/(AllUsers|AuthenticatedUsers)/;
const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];

export const s3PublicAccessBlockAllTrue = resourcePolicy(
  {
    name: "s3-public-access-block-all-true",
    description: "S3 public access blocks (bucket and account) set all four flags to true.",
    types: [S3_PUBLIC_ACCESS_BLOCK, S3_ACCOUNT_PUBLIC_ACCESS_BLOCK],
  },
  (props, args, report) => {
    const off = PUBLIC_ACCESS_FLAGS.filter((flag) => props[flag] !== true);
    if (off.length > 0) {
      report(`${describe(args)} leaves public access open: set ${off.map((f) => `${f}: true`).join(", ")}.`);
    }
  },
);

function publicGrants(grants: unknown): string[] {
  return asArray(grants)
    .map((g) => asString(dig(g, "uri")) ?? asString(dig(g, "grantee", "uri")) ?? "")
    .filter((uri) => PUBLIC_GRANTEE_URIS.test(uri));
}

export const s3NoPublicAcl = resourcePolicy(
  {
    name: "s3-no-public-acl",
    description:
      "S3 buckets and objects have no public canned ACL and no grant to AllUsers/AuthenticatedUsers.",
    types: [...S3_BUCKET_TYPES, ...S3_ACL_TYPES, ...S3_OBJECT_TYPES],
  },
  (props, args, report) => {
    const acl = asString(props.acl);
    if (acl && PUBLIC_CANNED_ACLS.includes(acl)) {
      report(
        `${describe(args)} has the public ACL "${acl}": remove acl (ACLs stay disabled with BucketOwnerEnforced).`,
      );
    }
    const grants = [...publicGrants(props.grants), ...publicGrants(dig(props.accessControlPolicy, "grants"))];
    if (grants.length > 0) {
      report(`${describe(args)} grants access to ${grants.join(", ")}: remove these grants.`);
    }
  },
);

export const s3OwnershipBucketOwnerEnforced = resourcePolicy(
  {
    name: "s3-ownership-bucket-owner-enforced",
    description: "S3 ownership controls use BucketOwnerEnforced, which disables ACLs.",
    types: [S3_OWNERSHIP],
  },
  (props, args, report) => {
    const ownership = dig(props.rule, "objectOwnership");
    if (ownership !== "BucketOwnerEnforced") {
      report(
        `${describe(args)} sets objectOwnership "${String(ownership)}": set rule.objectOwnership to "BucketOwnerEnforced".`,
      );
    }
  },
);

export const s3VersioningEnabled = resourcePolicy(
  {
    name: "s3-versioning-enabled",
    description: "S3 versioning configurations (and inline bucket versioning) are Enabled.",
    types: [...S3_VERSIONING_TYPES, ...S3_BUCKET_TYPES],
  },
  (props, args, report) => {
    if (S3_VERSIONING_TYPES.some((t) => t === args.type)) {
      const status = dig(props.versioningConfiguration, "status");
      if (status !== "Enabled") {
        report(
          `${describe(args)} sets versioning "${String(status)}": set versioningConfiguration.status to "Enabled".`,
        );
      }
      return;
    }
    // Buckets: only an explicit inline "off" is wrong here; a missing configuration is a stack-level check.
    const inline = [props.versioning, ...asArray(props.versionings)].filter((v) => v !== undefined);
    if (inline.some((v) => dig(v, "enabled") === false)) {
      report(
        `${describe(args)} disables versioning inline: remove it and add an aws.s3.BucketVersioning with status "Enabled".`,
      );
    }
  },
);

function encryptionRuleOk(rule: unknown): boolean {
  const byDefault = dig(rule, "applyServerSideEncryptionByDefault");
  const defaults =
    byDefault !== undefined ? [byDefault] : asArray(dig(rule, "applyServerSideEncryptionByDefaults"));
  return defaults.some((d) => SSE_ALGORITHMS.includes(asString(dig(d, "sseAlgorithm")) ?? ""));
}

export const s3EncryptionConfigured = resourcePolicy(
  {
    name: "s3-encryption-configured",
    description: "S3 server-side encryption configurations set a default algorithm (AES256 or aws:kms).",
    types: [...S3_ENCRYPTION_TYPES],
  },
  (props, args, report) => {
    const rules = asArray(props.rules);
    if (rules.length === 0 || !rules.every(encryptionRuleOk)) {
      report(
        `${describe(args)} has no default encryption: give every rule applyServerSideEncryptionByDefault.sseAlgorithm "aws:kms" or "AES256".`,
      );
    }
  },
);

export const s3BucketPolicyTlsOnly = resourcePolicy(
  {
    name: "s3-bucket-policy-tls-only",
    description:
      "S3 bucket policies deny every request without TLS (aws:SecureTransport=false) and allow nothing to everyone.",
    types: [S3_BUCKET_POLICY, ...S3_BUCKET_TYPES],
  },
  (props, args, report) => {
    const isBucket = S3_BUCKET_TYPES.some((t) => t === args.type);
    const value = props.policy;
    if (isBucket && (value === undefined || value === "")) {
      return; // No inline policy: the aws.s3.BucketPolicy is checked instead (stack policy).
    }
    const doc = parsePolicyDocument(value);
    if (!doc.ok) {
      report(`${describe(args)}: ${doc.error}; give it a JSON policy that denies aws:SecureTransport=false.`);
      return;
    }
    if (!doc.statements.some(isTlsOnlyDeny)) {
      report(
        `${describe(args)} does not enforce TLS: add a statement {Effect: "Deny", Principal: {AWS: "*"}, Action: "s3:*", ` +
          `Resource: [bucketArn, bucketArn + "/*"], Condition: {Bool: {"aws:SecureTransport": "false"}}}.`,
      );
    }
    const open = doc.statements.filter(
      (s) => s.effect === "Allow" && isEveryone(s.principal) && !s.condition,
    );
    if (open.length > 0) {
      report(
        `${describe(args)} allows access to everyone (Principal "*" without a condition): name the principals.`,
      );
    }
  },
);

// Stack policies: every bucket has each companion resource.

const bucketKeys = { companionKey: "bucket", parentKeys: ["bucket", "id"] };
const bucketDesc = (b: PolicyResource) => `${b.type} "${b.name}"`;

export const s3BucketHasPublicAccessBlock = stackPolicy(
  {
    name: "s3-bucket-has-public-access-block",
    description: "Every S3 bucket has an aws.s3.BucketPublicAccessBlock with all four flags true.",
  },
  (args, report) =>
    requireCompanion(
      args.resources,
      {
        parentTypes: S3_BUCKET_TYPES,
        companionTypes: [S3_PUBLIC_ACCESS_BLOCK],
        ...bucketKeys,
        accept: (c) =>
          PUBLIC_ACCESS_FLAGS.every((f) => c.props[f] === true)
            ? undefined
            : `public access block "${c.name}" is incomplete`,
        message: (b, reasons) =>
          `${bucketDesc(b)} has no complete public access block${reasons.length ? ` (${reasons.join("; ")})` : ""}: ` +
          `add an aws.s3.BucketPublicAccessBlock for it with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true.`,
      },
      report,
    ),
);

export const s3BucketHasEncryption = stackPolicy(
  {
    name: "s3-bucket-has-encryption",
    description: "Every S3 bucket has a server-side encryption configuration (aws:kms or AES256).",
  },
  (args, report) =>
    requireCompanion(
      args.resources,
      {
        parentTypes: S3_BUCKET_TYPES,
        companionTypes: S3_ENCRYPTION_TYPES,
        ...bucketKeys,
        accept: (c) => {
          const rules = asArray(c.props.rules);
          return rules.length > 0 && rules.every(encryptionRuleOk)
            ? undefined
            : `"${c.name}" sets no algorithm`;
        },
        satisfiedInline: (b) => {
          const inline = b.props.serverSideEncryptionConfiguration;
          const inlineV2 = asArray(b.props.serverSideEncryptionConfigurations);
          return (
            (inline !== undefined && encryptionRuleOk(dig(inline, "rule"))) ||
            inlineV2.some((c) => asArray(dig(c, "rules")).some(encryptionRuleOk))
          );
        },
        message: (b, reasons) =>
          `${bucketDesc(b)} has no default encryption${reasons.length ? ` (${reasons.join("; ")})` : ""}: add an ` +
          `aws.s3.BucketServerSideEncryptionConfiguration for it with applyServerSideEncryptionByDefault.sseAlgorithm "aws:kms".`,
      },
      report,
    ),
);

export const s3BucketHasVersioning = stackPolicy(
  {
    name: "s3-bucket-has-versioning",
    description: "Every S3 bucket has versioning Enabled.",
  },
  (args, report) =>
    requireCompanion(
      args.resources,
      {
        parentTypes: S3_BUCKET_TYPES,
        companionTypes: S3_VERSIONING_TYPES,
        ...bucketKeys,
        accept: (c) =>
          dig(c.props.versioningConfiguration, "status") === "Enabled"
            ? undefined
            : `"${c.name}" is not Enabled`,
        satisfiedInline: (b) =>
          dig(b.props.versioning, "enabled") === true ||
          asArray(b.props.versionings).some((v) => dig(v, "enabled") === true),
        message: (b, reasons) =>
          `${bucketDesc(b)} is not versioned${reasons.length ? ` (${reasons.join("; ")})` : ""}: add an ` +
          `aws.s3.BucketVersioning for it with versioningConfiguration.status "Enabled".`,
      },
      report,
    ),
);

export const s3BucketHasTlsOnlyPolicy = stackPolicy(
  {
    name: "s3-bucket-has-tls-only-policy",
    description:
      "Every S3 bucket has a bucket policy that denies requests without TLS (aws:SecureTransport=false).",
  },
  (args, report) =>
    requireCompanion(
      args.resources,
      {
        parentTypes: S3_BUCKET_TYPES,
        companionTypes: [S3_BUCKET_POLICY],
        ...bucketKeys,
        accept: (c) => {
          const policy = known(() => c.props.policy);
          if (policy === UNKNOWN) {
            return UNKNOWN; // e.g. built from the bucket ARN during preview
          }
          const doc = parsePolicyDocument(policy);
          return doc.ok && doc.statements.some(isTlsOnlyDeny)
            ? undefined
            : `policy "${c.name}" does not deny non-TLS access`;
        },
        satisfiedInline: (b) => {
          const policy = b.props.policy;
          if (policy === undefined || policy === "") {
            return false;
          }
          const doc = parsePolicyDocument(policy);
          return doc.ok && doc.statements.some(isTlsOnlyDeny);
        },
        message: (b, reasons) =>
          `${bucketDesc(b)} accepts plain-HTTP requests${reasons.length ? ` (${reasons.join("; ")})` : ""}: add an ` +
          `aws.s3.BucketPolicy for it with a Deny statement on s3:* when {Bool: {"aws:SecureTransport": "false"}}.`,
      },
      report,
    ),
);

export const s3Policies = [
  s3PublicAccessBlockAllTrue,
  s3NoPublicAcl,
  s3OwnershipBucketOwnerEnforced,
  s3VersioningEnabled,
  s3EncryptionConfigured,
  s3BucketPolicyTlsOnly,
  s3BucketHasPublicAccessBlock,
  s3BucketHasEncryption,
  s3BucketHasVersioning,
  s3BucketHasTlsOnlyPolicy,
];

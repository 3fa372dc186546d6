// GCS artifact store: uniform bucket-level access, public access prevention, versioning; no public members;
// storage roles granted on the bucket, never on the project (DESIGN.md "Buckets/containers", "IAM scoped").
// Encryption at rest and TLS are always on in GCS (Google-managed keys, HTTPS-only authenticated APIs).
import { asArray, asString, describe, parseJson, resourcePolicy } from "./util";

export const GCS_BUCKET = "gcp:storage/bucket:Bucket";
export const GCS_BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember";
export const GCS_BUCKET_IAM_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding";
export const GCS_BUCKET_IAM_POLICY = "gcp:storage/bucketIAMPolicy:BucketIAMPolicy";
export const GCS_ACL_TYPES = [
  "gcp:storage/bucketACL:BucketACL",
  "gcp:storage/bucketAccessControl:BucketAccessControl",
  "gcp:storage/defaultObjectACL:DefaultObjectACL",
  "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
  "gcp:storage/objectACL:ObjectACL",
  "gcp:storage/objectAccessControl:ObjectAccessControl",
] as const;
export const GCP_PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember";
export const GCP_PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding";
export const GCP_PROJECT_IAM_POLICY = "gcp:projects/iAMPolicy:IAMPolicy";

const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"];
const PUBLIC_PREDEFINED_ACLS = ["publicRead", "publicReadWrite", "authenticatedRead"];

export const gcsUniformBucketLevelAccess = resourcePolicy(
  {
    name: "gcs-uniform-bucket-level-access",
    description: "GCS buckets use uniform bucket-level access (IAM only, no object ACLs).",
    types: [GCS_BUCKET],
  },
  (props, args, report) => {
    if (props.uniformBucketLevelAccess !== true) {
      report(`${describe(args)} allows object ACLs: set uniformBucketLevelAccess: true.`);
    }
  },
);

export const gcsPublicAccessPrevention = resourcePolicy(
  {
    name: "gcs-public-access-prevention-enforced",
    description: 'GCS buckets enforce public access prevention (publicAccessPrevention "enforced").',
    types: [GCS_BUCKET],
  },
  (props, args, report) => {
    if (props.publicAccessPrevention !== "enforced") {
      report(
        `${describe(args)} has publicAccessPrevention "${String(props.publicAccessPrevention)}": set publicAccessPrevention: "enforced".`,
      );
    }
  },
);

export const gcsVersioningEnabled = resourcePolicy(
  {
    name: "gcs-versioning-enabled",
    description: "GCS buckets keep object versions (versioning.enabled true).",
    types: [GCS_BUCKET],
  },
  (props, args, report) => {
    const versioning = props.versioning as { enabled?: unknown } | undefined;
    if (versioning?.enabled !== true) {
      report(`${describe(args)} is not versioned: set versioning: {enabled: true}.`);
    }
  },
);

/** IAM bindings of a policyData JSON document (`{bindings: [{role, members}]}`). */
function bindingsOf(policyData: unknown): { role: string; members: string[] }[] | string {
  const parsed = parseJson(policyData);
  if (!parsed.ok) {
    return `policyData is not valid JSON (${parsed.error})`;
  }
  const bindings = asArray((parsed.value as { bindings?: unknown } | undefined)?.bindings);
  return bindings.map((b) => {
    const binding = b as { role?: unknown; members?: unknown };
    return {
      role: asString(binding.role) ?? "",
      members: asArray(binding.members).filter((m): m is string => typeof m === "string"),
    };
  });
}

/** Role/member pairs granted by any of the IAM resource shapes (member, binding, policy). */
function grantsOf(props: Record<string, unknown>): { role: string; members: string[] }[] | string {
  if (props.policyData !== undefined) {
    return bindingsOf(props.policyData);
  }
  const members = [...asArray(props.member), ...asArray(props.members)].filter(
    (m): m is string => typeof m === "string",
  );
  return [{ role: asString(props.role) ?? "", members }];
}

export const gcsNoPublicMembers = resourcePolicy(
  {
    name: "gcs-no-public-members",
    description: "No GCS IAM grant or ACL and no project IAM grant names allUsers or allAuthenticatedUsers.",
    types: [
      GCS_BUCKET_IAM_MEMBER,
      GCS_BUCKET_IAM_BINDING,
      GCS_BUCKET_IAM_POLICY,
      GCP_PROJECT_IAM_MEMBER,
      GCP_PROJECT_IAM_BINDING,
      GCP_PROJECT_IAM_POLICY,
      ...GCS_ACL_TYPES,
    ],
  },
  (props, args, report) => {
    if (GCS_ACL_TYPES.some((t) => t === args.type)) {
      const entities = [
        ...asArray(props.roleEntities).map((e) => String(e).split(":").pop() ?? ""),
        asString(props.entity) ?? "",
      ];
      const publicAcl = [props.predefinedAcl, props.defaultAcl].find((a) =>
        PUBLIC_PREDEFINED_ACLS.includes(String(a)),
      );
      if (entities.some((e) => PUBLIC_MEMBERS.includes(e)) || publicAcl !== undefined) {
        report(
          `${describe(args)} makes data public: remove allUsers/allAuthenticatedUsers entities and public predefined ACLs.`,
        );
      }
      return;
    }
    const grants = grantsOf(props);
    if (typeof grants === "string") {
      report(`${describe(args)}: ${grants}; fix the document.`);
      return;
    }
    const open = grants.filter((g) => g.members.some((m) => PUBLIC_MEMBERS.includes(m)));
    if (open.length > 0) {
      report(
        `${describe(args)} grants ${open.map((g) => g.role).join(", ")} to allUsers/allAuthenticatedUsers: grant it to the server's service account only.`,
      );
    }
  },
);

export const gcpNoProjectLevelStorageRoles = resourcePolicy(
  {
    name: "gcp-no-project-level-storage-roles",
    description: "Storage roles (roles/storage.*) are granted on the bucket, never on the whole project.",
    types: [GCP_PROJECT_IAM_MEMBER, GCP_PROJECT_IAM_BINDING, GCP_PROJECT_IAM_POLICY],
  },
  (props, args, report) => {
    const grants = grantsOf(props);
    if (typeof grants === "string") {
      report(`${describe(args)}: ${grants}; fix the document.`);
      return;
    }
    const storage = grants.filter((g) => g.role.startsWith("roles/storage."));
    if (storage.length > 0) {
      report(
        `${describe(args)} grants ${storage.map((g) => g.role).join(", ")} on the project: use a gcp.storage.BucketIAMMember on the artifact bucket instead.`,
      );
    }
  },
);

export const gcpPolicies = [
  gcsUniformBucketLevelAccess,
  gcsPublicAccessPrevention,
  gcsVersioningEnabled,
  gcsNoPublicMembers,
  gcpNoProjectLevelStorageRoles,
];

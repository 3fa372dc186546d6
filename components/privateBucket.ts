import * as pulumi from "@pulumi/pulumi";
import * as awsS3 from "@pulumi/aws/s3";
import { policyDocument } from "./iam";

export interface PrivateBucketArgs {
  /** Protected buckets survive `pulumi destroy` and cannot be deleted by Pulumi. */
  protect: boolean;
  /** Days after which noncurrent (overwritten or deleted) object versions are removed. */
  noncurrentVersionExpirationDays: number;
  /** Days after which incomplete multipart uploads are aborted. */
  abortIncompleteUploadDays: number;
  tags: Record<string, string>;
}

/**
 * An S3 bucket as DESIGN.md requires every bucket to be: all public access blocked, ACLs disabled
 * (owner-enforced), SSE-KMS with a bucket key, versioning, a TLS-only bucket policy, and lifecycle rules
 * for old versions and stalled uploads. Every child is named `name` and parented to `parent`.
 */
export function createPrivateBucket(
  name: string,
  args: PrivateBucketArgs,
  parent: pulumi.Resource,
): awsS3.Bucket {
  const opts = { parent };
  const bucket = new awsS3.Bucket(
    name,
    // An unprotected bucket may be emptied and removed by `pulumi destroy`.
    { forceDestroy: !args.protect, tags: { ...args.tags, Name: name } },
    { parent, protect: args.protect, retainOnDelete: args.protect },
  );
  const ownership = new awsS3.BucketOwnershipControls(
    name,
    { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    opts,
  );
  const publicAccess = new awsS3.BucketPublicAccessBlock(
    name,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new awsS3.BucketServerSideEncryptionConfiguration(
    name,
    {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
    },
    opts,
  );
  const versioning = new awsS3.BucketVersioning(
    name,
    { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
    opts,
  );
  new awsS3.BucketPolicy(
    name,
    {
      bucket: bucket.id,
      policy: bucket.arn.apply((arn) =>
        policyDocument([
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "s3:*",
            Resource: [arn, `${arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ]),
      ),
    },
    // A bucket policy is refused while the public access block is still being applied.
    { parent, dependsOn: [publicAccess, ownership] },
  );
  new awsS3.BucketLifecycleConfiguration(
    name,
    {
      bucket: bucket.id,
      rules: [
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: { prefix: "" },
          noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays },
          expiration: { expiredObjectDeleteMarker: true },
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: { prefix: "" },
          abortIncompleteMultipartUpload: { daysAfterInitiation: args.abortIncompleteUploadDays },
        },
      ],
    },
    // Lifecycle rules on noncurrent versions need versioning in place first.
    { parent, dependsOn: [versioning] },
  );
  return bucket;
}

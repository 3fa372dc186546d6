import * as pulumi from "@pulumi/pulumi";
import * as s3 from "@pulumi/aws/s3";
import type { ArtifactBackend, ArtifactBackendContext } from "../artifactStore";
import { IamStatement, policyDocument } from "../iam";

/**
 * S3: a private bucket (all public access blocked, owner-enforced ACLs), SSE encryption, versioning,
 * TLS-only bucket policy, lifecycle for old versions and stalled multipart uploads. The server's role gets
 * object access under the prefix only; credentials come from the role, so no secret is needed.
 */
export function createS3Backend({ name, args, parent }: ArtifactBackendContext): ArtifactBackend {
  const { settings, protect, tags } = args;
  const opts = { parent };
  const bucket = new s3.Bucket(
    `${name}-artifacts`,
    // A protected bucket survives `pulumi destroy`; an unprotected one may be emptied and removed.
    { forceDestroy: !protect, tags: { ...tags, Name: `${name}-artifacts` } },
    { parent, protect, retainOnDelete: protect },
  );
  const ownership = new s3.BucketOwnershipControls(
    `${name}-artifacts`,
    { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    opts,
  );
  const publicAccess = new s3.BucketPublicAccessBlock(
    `${name}-artifacts`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new s3.BucketServerSideEncryptionConfiguration(
    `${name}-artifacts`,
    {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
    },
    opts,
  );
  const versioning = new s3.BucketVersioning(
    `${name}-artifacts`,
    { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
    opts,
  );
  new s3.BucketPolicy(
    `${name}-artifacts`,
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
  new s3.BucketLifecycleConfiguration(
    `${name}-artifacts`,
    {
      bucket: bucket.id,
      rules: [
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: { prefix: "" },
          noncurrentVersionExpiration: { noncurrentDays: settings.noncurrentVersionExpirationDays },
          expiration: { expiredObjectDeleteMarker: true },
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: { prefix: "" },
          abortIncompleteMultipartUpload: { daysAfterInitiation: settings.abortIncompleteUploadDays },
        },
      ],
    },
    // Lifecycle rules on noncurrent versions need versioning in place first.
    { parent, dependsOn: [versioning] },
  );

  const prefix = settings.prefix;
  return {
    artifactRoot: pulumi.interpolate`s3://${bucket.bucket}/${prefix}`,
    serverPolicyStatements: bucket.arn.apply((arn) => s3ServerStatements(arn, prefix)),
    serverEnvironment: pulumi.output<Record<string, string>>({ AWS_DEFAULT_REGION: args.awsRegion }),
    serverSecrets: [],
  };
}

/** Least privilege for the MLflow server: list and read/write objects under the prefix, nothing else. */
export function s3ServerStatements(bucketArn: string, prefix: string): IamStatement[] {
  return [
    {
      Sid: "ListArtifactPrefix",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}/*`] } },
    },
    {
      Sid: "ReadWriteArtifacts",
      Effect: "Allow",
      Action: [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
      ],
      Resource: `${bucketArn}/${prefix}/*`,
    },
  ];
}

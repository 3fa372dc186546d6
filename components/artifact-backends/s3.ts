import * as pulumi from "@pulumi/pulumi";
import * as iam from "@pulumi/aws/iam";
import type {
  ArtifactBackendContext,
  ArtifactBackendModule,
  ArtifactStorage,
  ArtifactStoreConfig,
} from "../contracts";
import { IamStatement, policyDocument } from "../iam";
import { createPrivateBucket } from "../privateBucket";

/**
 * S3: a private bucket (all public access blocked, owner-enforced ACLs), SSE encryption, versioning,
 * TLS-only bucket policy, lifecycle for old versions and stalled multipart uploads. The server's role gets
 * object access under the prefix only; credentials come from the role, so no secret is needed.
 */
export function createS3Backend({ name, args, parent }: ArtifactBackendContext): ArtifactStorage {
  const { settings, protect, tags, awsRegion } = args;
  const bucket = createPrivateBucket(
    `${name}-artifacts`,
    {
      protect,
      noncurrentVersionExpirationDays: settings.noncurrentVersionExpirationDays,
      abortIncompleteUploadDays: settings.abortIncompleteUploadDays,
      tags,
    },
    parent,
  );

  const prefix = settings.prefix;
  const region = requireRegion(awsRegion);
  let granted = false;
  return {
    artifactRoot: pulumi.interpolate`s3://${bucket.bucket}/${prefix}`,
    grantReadWrite: ({ role }) => {
      // The policy is named after the store: one server per store, as for the other backends.
      if (granted) throw new Error(`ArtifactStore ${name}: the s3 backend grants access to one server only`);
      granted = true;
      const access = new iam.RolePolicy(
        `${name}-artifacts-access`,
        {
          role: role.name,
          policy: bucket.arn.apply((arn) => policyDocument(s3ServerStatements(arn, prefix))),
        },
        { parent },
      );
      // The environment carries the policy as a dependency: whatever starts the server with it (the
      // instance's user data, the task definition) waits for the access it needs. From the URN, which a
      // preview knows, so a preview does not show the server replaced for an unknown environment.
      const environment = access.urn.apply((): Record<string, string> => ({ AWS_DEFAULT_REGION: region }));
      return { environment, secrets: [] };
    },
  };
}

/** The bucket's region is the server's S3 endpoint region: the one argument only this backend needs. */
function requireRegion(awsRegion: string | undefined): string {
  if (!awsRegion)
    throw new Error('ArtifactStore: awsRegion is missing; the "s3" backend needs the bucket\'s AWS region');
  return awsRegion;
}

export const artifactBackend: ArtifactBackendModule = {
  name: "s3",
  inAwsRegion: true,
  checkArgs: (args: ArtifactStoreConfig) => void requireRegion(args.awsRegion),
  create: createS3Backend,
};

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

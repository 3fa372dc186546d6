import type * as s3 from "@pulumi/aws/s3";
import { s3Policies } from "../../policy/rules";
import { inputs, mandatory, policyNames, runPolicies, TestResource, UNKNOWN_STRING } from "./support";

const T = {
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  accountPab: "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  sseV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  versioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  acl: "aws:s3/bucketAcl:BucketAcl",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
};

const ARN = "arn:aws:s3:::artifacts-1234";
const tlsPolicy = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "s3:*",
      Resource: [ARN, `${ARN}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ],
});

/** A bucket with every companion, linked the way the program links them (`bucket: bucket.id`). */
function compliantBucket(name = "artifacts", id = "artifacts-1234", type = T.bucket): TestResource[] {
  return [
    { type, name, id, props: inputs<s3.BucketArgs>({ forceDestroy: true, tags: { Name: name } }) },
    {
      type: T.ownership,
      name,
      props: inputs<s3.BucketOwnershipControlsArgs>({
        bucket: id,
        rule: { objectOwnership: "BucketOwnerEnforced" },
      }),
    },
    {
      type: T.pab,
      name,
      props: inputs<s3.BucketPublicAccessBlockArgs>({
        bucket: id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      }),
    },
    {
      type: T.sse,
      name,
      props: inputs<s3.BucketServerSideEncryptionConfigurationArgs>({
        bucket: id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
      }),
    },
    {
      type: T.versioning,
      name,
      props: inputs<s3.BucketVersioningArgs>({ bucket: id, versioningConfiguration: { status: "Enabled" } }),
    },
    { type: T.policy, name, props: inputs<s3.BucketPolicyArgs>({ bucket: id, policy: tlsPolicy }) },
  ];
}

function without(resources: TestResource[], type: string): TestResource[] {
  return resources.filter((r) => r.type !== type);
}

function replace(resources: TestResource[], type: string, props: Record<string, unknown>): TestResource[] {
  return resources.map((r) => (r.type === type ? { ...r, props: { ...r.props, ...props } } : r));
}

describe("S3 policies", () => {
  it("accept the program's bucket shape (and its V2 equivalent)", async () => {
    expect(await runPolicies(s3Policies, compliantBucket())).toEqual([]);
    const v2 = compliantBucket("v2", "v2-1", T.bucketV2).map((r) =>
      r.type === T.sse
        ? { ...r, type: T.sseV2 }
        : r.type === T.versioning
          ? { ...r, type: T.versioningV2 }
          : r,
    );
    expect(await runPolicies(s3Policies, v2)).toEqual([]);
  });

  it("s3-public-access-block-all-true: every flag must be true, also on the account block", async () => {
    const v = await runPolicies(
      s3Policies,
      replace(compliantBucket(), T.pab, { restrictPublicBuckets: false }),
    );
    expect(policyNames(v)).toEqual(["s3-bucket-has-public-access-block", "s3-public-access-block-all-true"]);
    expect(v.find((x) => x.policy === "s3-public-access-block-all-true")?.message).toMatch(
      /restrictPublicBuckets: true/,
    );
    const account = await runPolicies(s3Policies, [
      {
        type: T.accountPab,
        name: "account",
        props: inputs<s3.AccountPublicAccessBlockArgs>({ blockPublicAcls: true }),
      },
    ]);
    expect(policyNames(account)).toEqual(["s3-public-access-block-all-true"]);
  });

  it("s3-no-public-acl: public canned ACLs and AllUsers grants are refused", async () => {
    const bucket = await runPolicies(
      s3Policies,
      replace(compliantBucket(), T.bucket, { acl: "public-read" }),
    );
    expect(policyNames(bucket)).toEqual(["s3-no-public-acl"]);
    const acl = await runPolicies(s3Policies, [
      {
        type: T.acl,
        name: "acl",
        props: inputs<s3.BucketAclArgs>({
          bucket: "b",
          accessControlPolicy: {
            owner: { id: "owner" },
            grants: [
              {
                permission: "READ",
                grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" },
              },
            ],
          },
        }),
      },
      {
        type: T.object,
        name: "obj",
        props: inputs<s3.BucketObjectv2Args>({ bucket: "b", key: "k", acl: "public-read-write" }),
      },
      { type: T.acl, name: "private", props: inputs<s3.BucketAclArgs>({ bucket: "b", acl: "private" }) },
    ]);
    expect(acl.map((x) => x.urn?.split("::").pop())).toEqual(["acl", "obj"]);
  });

  it("s3-ownership-bucket-owner-enforced", async () => {
    const v = await runPolicies(
      s3Policies,
      replace(compliantBucket(), T.ownership, { rule: { objectOwnership: "ObjectWriter" } }),
    );
    expect(policyNames(v)).toEqual(["s3-ownership-bucket-owner-enforced"]);
    expect(v[0].message).toMatch(/BucketOwnerEnforced/);
  });

  it("s3-versioning-enabled and s3-bucket-has-versioning: Suspended or missing versioning is refused", async () => {
    const suspended = await runPolicies(
      s3Policies,
      replace(compliantBucket(), T.versioning, { versioningConfiguration: { status: "Suspended" } }),
    );
    expect(policyNames(suspended)).toEqual(["s3-bucket-has-versioning", "s3-versioning-enabled"]);
    const missing = await runPolicies(s3Policies, without(compliantBucket(), T.versioning));
    expect(policyNames(missing)).toEqual(["s3-bucket-has-versioning"]);
    expect(missing[0].message).toMatch(/aws\.s3\.BucketVersioning .*"Enabled"/);
    const inlineOff = await runPolicies(
      s3Policies,
      replace(compliantBucket(), T.bucket, { versioning: { enabled: false } }),
    );
    expect(policyNames(inlineOff)).toEqual(["s3-versioning-enabled"]);
    // The deprecated inline block counts as versioning when it is on.
    const inlineOn = replace(without(compliantBucket(), T.versioning), T.bucket, {
      versioning: { enabled: true },
    });
    expect(await runPolicies(s3Policies, inlineOn)).toEqual([]);
  });

  it("s3-encryption-configured and s3-bucket-has-encryption", async () => {
    const noAlgorithm = await runPolicies(
      s3Policies,
      replace(compliantBucket(), T.sse, { rules: [{ bucketKeyEnabled: true }] }),
    );
    expect(policyNames(noAlgorithm)).toEqual(["s3-bucket-has-encryption", "s3-encryption-configured"]);
    const missing = await runPolicies(s3Policies, without(compliantBucket(), T.sse));
    expect(policyNames(missing)).toEqual(["s3-bucket-has-encryption"]);
    const inline = replace(without(compliantBucket(), T.sse), T.bucket, {
      serverSideEncryptionConfiguration: {
        rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      },
    });
    expect(await runPolicies(s3Policies, inline)).toEqual([]);
  });

  it("s3-bucket-policy-tls-only and s3-bucket-has-tls-only-policy", async () => {
    const noDeny = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `${ARN}/*` }],
    });
    const v = await runPolicies(s3Policies, replace(compliantBucket(), T.policy, { policy: noDeny }));
    expect(policyNames(v)).toEqual(["s3-bucket-has-tls-only-policy", "s3-bucket-policy-tls-only"]);
    const messages = v.filter((x) => x.policy === "s3-bucket-policy-tls-only").map((x) => x.message);
    expect(messages).toEqual([
      expect.stringMatching(/aws:SecureTransport/),
      expect.stringMatching(/allows access to everyone/),
    ]);
    const missing = await runPolicies(s3Policies, without(compliantBucket(), T.policy));
    expect(policyNames(missing)).toEqual(["s3-bucket-has-tls-only-policy"]);
    const notJson = await runPolicies(
      s3Policies,
      replace(compliantBucket(), T.policy, { policy: "{not json" }),
    );
    expect(notJson.find((x) => x.policy === "s3-bucket-policy-tls-only")?.message).toMatch(/not valid JSON/);
    // A policy given as an object (aws.iam.PolicyDocument) works too.
    const asObject = replace(compliantBucket(), T.policy, { policy: JSON.parse(tlsPolicy) });
    expect(await runPolicies(s3Policies, asObject)).toEqual([]);
  });

  it("a bucket with no companions at all gets one violation per missing companion", async () => {
    const v = await runPolicies(s3Policies, [{ type: T.bucket, name: "bare", props: {} }]);
    expect(policyNames(v)).toEqual([
      "s3-bucket-has-encryption",
      "s3-bucket-has-public-access-block",
      "s3-bucket-has-tls-only-policy",
      "s3-bucket-has-versioning",
    ]);
    expect(v.every((x) => x.urn?.endsWith("::bare"))).toBe(true);
  });

  it("companions of one bucket do not count for another", async () => {
    const v = await runPolicies(s3Policies, [
      ...compliantBucket("a", "bucket-a"),
      { type: T.bucket, name: "b", id: "bucket-b", props: {} },
    ]);
    expect(new Set(v.map((x) => x.urn?.split("::").pop()))).toEqual(new Set(["b"]));
  });

  describe("during preview (bucket ids unknown)", () => {
    const unknownIds = () =>
      compliantBucket().map((r) =>
        r.props.bucket ? { ...r, props: { ...r.props, bucket: UNKNOWN_STRING } } : r,
      );

    it("links companions through propertyDependencies", async () => {
      const linked = unknownIds().map((r) =>
        r.props.bucket
          ? {
              ...r,
              propertyDependencies: {
                bucket: ["urn:pulumi:dev::mlflow-platform::aws:s3/bucket:Bucket::artifacts"],
              },
            }
          : r,
      );
      const bucketOnly = linked.filter((r) => r.type === T.bucket || r.type === T.pab);
      const v = mandatory(await runPolicies(s3Policies, bucketOnly, { preview: true }));
      expect(policyNames(v)).toEqual([
        "s3-bucket-has-encryption",
        "s3-bucket-has-tls-only-policy",
        "s3-bucket-has-versioning",
      ]);
      expect(mandatory(await runPolicies(s3Policies, linked, { preview: true }))).toEqual([]);
    });

    it("does not guess when a companion cannot be linked", async () => {
      const v = await runPolicies(s3Policies, unknownIds(), { preview: true });
      expect(mandatory(v)).toEqual([]);
    });

    it("a resource check that reads an unknown value is advisory, not a violation", async () => {
      const resources = replace(compliantBucket(), T.policy, { policy: UNKNOWN_STRING });
      const v = await runPolicies(s3Policies, resources, { preview: true });
      expect(mandatory(v)).toEqual([]);
      expect(v.map((x) => x.policy)).toEqual(["s3-bucket-policy-tls-only"]);
      expect(v[0].advisory).toBe(true);
    });
  });
});

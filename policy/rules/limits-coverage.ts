// Which resource types the provider-limit rules cover. Every type the program creates (over the whole
// variant matrix, tests/policy/stacks.test.ts) is either in a name table of limits-aws.ts /
// limits-azure-gcp.ts or listed here with the reason it has no name or free text of its own to check.
// Tags and labels are checked on every aws:, azure-native: and gcp: resource whatever its type.
import { AWS_NAME_SPECS, AWS_TEXT_SPECS } from "./limits-aws";
import { AZURE_GCP_NAME_SPECS, GCP_TEXT_SPECS } from "./limits-azure-gcp";

export const TYPES_WITH_NAME_RULES: ReadonlySet<string> = new Set(
  [...AWS_NAME_SPECS, ...AZURE_GCP_NAME_SPECS].map((s) => s.type),
);
export const TYPES_WITH_TEXT_RULES: ReadonlySet<string> = new Set(
  [...AWS_TEXT_SPECS, ...GCP_TEXT_SPECS].map((s) => s.type),
);

/** Types with no name, id or description input of their own (the reason is the value). */
export const TYPES_WITHOUT_NAME_RULES: Readonly<Record<string, string>> = {
  "aws:acm/certificate:Certificate": "no name; the domain comes from validated config (server.domain)",
  "aws:acm/certificateValidation:CertificateValidation": "no AWS object, waits for validation",
  "aws:appautoscaling/target:Target": "identified by resourceId (the ECS service), no name",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
    "adopts the VPC's default group (no name); its inline rule descriptions: aws-sg-description-charset",
  "aws:ec2/eip:Eip": "no name input (the Name tag: aws-tag-limits)",
  "aws:ec2/eipAssociation:EipAssociation": "no name",
  "aws:ec2/instance:Instance": "no name input (the Name tag: aws-tag-limits)",
  "aws:ec2/internetGateway:InternetGateway": "no name input (the Name tag: aws-tag-limits)",
  "aws:ec2/natGateway:NatGateway": "no name input (the Name tag: aws-tag-limits)",
  "aws:ec2/routeTable:RouteTable": "no name input (the Name tag: aws-tag-limits)",
  "aws:ec2/routeTableAssociation:RouteTableAssociation": "no name",
  "aws:ec2/subnet:Subnet": "no name input (the Name tag: aws-tag-limits)",
  "aws:ec2/vpc:Vpc": "no name input (the Name tag: aws-tag-limits)",
  "aws:ec2/vpcEndpoint:VpcEndpoint": "no name input (the Name tag: aws-tag-limits)",
  "aws:ecr/lifecyclePolicy:LifecyclePolicy": "no name, one per repository",
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "no name",
  "aws:lb/listener:Listener": "no name",
  "aws:sns/topicSubscription:TopicSubscription": "no name; the endpoint is a validated alarm e-mail address",
  "aws:route53/record:Record": "a DNS name derived from validated config and ACM's validation record",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "no name, one per bucket",
  "aws:s3/bucketObjectv2:BucketObjectv2":
    "object key is a fixed short path set by the program; tags: aws-tag-limits (10)",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "no name, one per bucket",
  "aws:s3/bucketPolicy:BucketPolicy": "no name, one per bucket",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "no name, one per bucket",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
    "no name, one per bucket",
  "aws:s3/bucketVersioning:BucketVersioning": "no name, one per bucket",
  "aws:secretsmanager/secretVersion:SecretVersion": "no name, a version of a checked secret",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
    "no name; its description: aws-sg-description-charset",
  "azure-native:storage:BlobServiceProperties": 'the fixed name "default"',
  "azure-native:storage:ManagementPolicy": 'the fixed name "default"',
  "docker-build:index:Image":
    "pushed to the checked ECR repository; image tags and OCI labels are not cloud tags",
  "gcp:projects/service:Service": "the name of a Google API to enable",
  "gcp:serviceaccount/iAMMember:IAMMember": "no name",
  "gcp:serviceaccount/key:Key": "no name",
  "gcp:storage/bucketIAMMember:BucketIAMMember": "no name",
  "random:index/randomId:RandomId": "not a cloud resource",
  "random:index/randomPassword:RandomPassword": "not a cloud resource",
};

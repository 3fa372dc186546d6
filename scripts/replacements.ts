// What `pulumi up` does to a resource whose inputs changed: update it in place, or replace it (create a new
// one, then delete the old, or the reverse with deleteBeforeReplace). The provider decides from its schema's
// replace-triggering ("ForceNew") inputs, which the SDK's types do not carry; this table holds them for every
// resource type the program creates. Sources: the Terraform providers the Pulumi providers are built on
// (terraform-provider-aws internal/service/<svc>/<resource>.go, terraform-provider-google's resource
// schemas, hashicorp/terraform-provider-random), and azure-native's identity properties (the URL path
// segments: a changed resource name, group or location is a new Azure resource). A type missing here is an
// error, so a new resource type cannot be classified by accident.

export type Change = "unchanged" | "updated" | "replaced";

/** Replace-triggering inputs by resource type; "*" means every input (an immutable resource). */
export const REPLACE_ON: Record<string, readonly string[]> = {
  "aws:acm/certificate:Certificate": [
    "domainName",
    "subjectAlternativeNames",
    "validationMethod",
    "keyAlgorithm",
  ],
  "aws:acm/certificateValidation:CertificateValidation": ["*"],
  "aws:appautoscaling/policy:Policy": ["name", "resourceId", "scalableDimension", "serviceNamespace"],
  "aws:appautoscaling/target:Target": ["resourceId", "scalableDimension", "serviceNamespace"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "namePrefix", "logGroupClass"],
  "aws:cloudwatch/logMetricFilter:LogMetricFilter": ["name", "logGroupName"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["name"],
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ["vpcId"],
  "aws:ec2/eip:Eip": ["domain", "address", "publicIpv4Pool"],
  "aws:ec2/eipAssociation:EipAssociation": ["*"],
  // userData/userDataBase64 replace only with userDataReplaceOnChange (see replaceTriggers).
  "aws:ec2/instance:Instance": [
    "ami",
    "availabilityZone",
    "subnetId",
    "associatePublicIpAddress",
    "privateIp",
    "keyName",
    "tenancy",
    "placementGroup",
    "ebsBlockDevices",
    "ephemeralBlockDevices",
    "networkInterfaces",
    "hostId",
  ],
  "aws:ec2/internetGateway:InternetGateway": [],
  "aws:ec2/natGateway:NatGateway": ["allocationId", "subnetId", "connectivityType", "privateIp"],
  "aws:ec2/routeTable:RouteTable": ["vpcId"],
  "aws:ec2/routeTableAssociation:RouteTableAssociation": ["subnetId", "gatewayId"],
  "aws:ec2/securityGroup:SecurityGroup": ["name", "namePrefix", "description", "vpcId"],
  "aws:ec2/subnet:Subnet": ["vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"],
  "aws:ec2/vpc:Vpc": ["cidrBlock", "ipv4IpamPoolId"],
  "aws:ec2/vpcEndpoint:VpcEndpoint": ["vpcId", "serviceName", "vpcEndpointType"],
  "aws:ecr/lifecyclePolicy:LifecyclePolicy": ["repository"],
  "aws:ecr/repository:Repository": ["name", "encryptionConfigurations"],
  "aws:ecs/cluster:Cluster": ["name"],
  "aws:ecs/service:Service": [
    "name",
    "cluster",
    "launchType",
    "schedulingStrategy",
    "deploymentController",
    "iamRole",
  ],
  // Task definitions are immutable: every change registers a new revision (tags aside).
  "aws:ecs/taskDefinition:TaskDefinition": ["*"],
  "aws:iam/instanceProfile:InstanceProfile": ["name", "namePrefix", "path"],
  "aws:iam/role:Role": ["name", "namePrefix", "path"],
  "aws:iam/rolePolicy:RolePolicy": ["name", "namePrefix", "role"],
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["*"],
  "aws:lb/listener:Listener": ["loadBalancerArn"],
  "aws:lb/loadBalancer:LoadBalancer": ["name", "namePrefix", "internal", "loadBalancerType"],
  "aws:lb/targetGroup:TargetGroup": [
    "name",
    "namePrefix",
    "port",
    "protocol",
    "protocolVersion",
    "vpcId",
    "targetType",
  ],
  "aws:rds/instance:Instance": [
    "identifier",
    "identifierPrefix",
    "engine",
    "storageEncrypted",
    "kmsKeyId",
    "dbName",
    "username",
    "availabilityZone",
    "characterSetName",
    "snapshotIdentifier",
    "timezone",
    "restoreToPointInTime",
    "s3Import",
  ],
  "aws:rds/parameterGroup:ParameterGroup": ["name", "namePrefix", "family", "description"],
  "aws:rds/subnetGroup:SubnetGroup": ["name", "namePrefix"],
  "aws:rds/eventSubscription:EventSubscription": ["name", "namePrefix"],
  "aws:route53/record:Record": ["name", "zoneId", "type", "setIdentifier"],
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix", "objectLockEnabled"],
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketObjectv2:BucketObjectv2": ["bucket", "key"],
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["bucket"],
  "aws:s3/bucketPolicy:BucketPolicy": ["bucket"],
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["bucket"],
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
    "bucket",
    "expectedBucketOwner",
  ],
  "aws:s3/bucketVersioning:BucketVersioning": ["bucket", "expectedBucketOwner"],
  "aws:scheduler/schedule:Schedule": ["name", "namePrefix", "groupName"],
  "aws:secretsmanager/secret:Secret": ["name", "namePrefix"],
  // A new secret value is a new version resource (the old one loses AWSCURRENT): routine, not stateful.
  "aws:secretsmanager/secretVersion:SecretVersion": ["secretId", "secretString", "secretBinary"],
  "aws:sns/topic:Topic": ["name", "namePrefix", "fifoTopic"],
  "aws:sns/topicSubscription:TopicSubscription": ["topic", "protocol", "endpoint"],
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["securityGroupId"],
  "azure-native:resources:ResourceGroup": ["resourceGroupName", "location"],
  "azure-native:storage:BlobContainer": ["accountName", "containerName", "resourceGroupName"],
  "azure-native:storage:BlobServiceProperties": ["accountName", "blobServicesName", "resourceGroupName"],
  "azure-native:storage:ManagementPolicy": ["accountName", "managementPolicyName", "resourceGroupName"],
  "azure-native:storage:StorageAccount": ["accountName", "resourceGroupName", "location", "isHnsEnabled"],
  // docker-build rebuilds and pushes in place; a new tag reaches the task definition, which is replaced.
  "docker-build:index:Image": [],
  "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": ["workloadIdentityPoolId", "project"],
  "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": [
    "workloadIdentityPoolId",
    "workloadIdentityPoolProviderId",
    "project",
  ],
  "gcp:projects/service:Service": ["service", "project"],
  "gcp:serviceaccount/account:Account": ["accountId", "project"],
  "gcp:serviceaccount/iAMMember:IAMMember": ["*"],
  "gcp:serviceaccount/key:Key": ["*"],
  "gcp:storage/bucket:Bucket": ["name", "location", "project"],
  "gcp:storage/bucketIAMMember:BucketIAMMember": ["*"],
  "random:index/randomId:RandomId": ["*"],
  "random:index/randomPassword:RandomPassword": ["*"],
  "random:index/randomString:RandomString": ["*"],
};

/** Types whose replacement loses data or identity others depend on: a routine change must never replace them. */
export const STATEFUL_TYPES = new Set([
  "aws:rds/instance:Instance",
  "aws:s3/bucket:Bucket",
  "aws:secretsmanager/secret:Secret",
  "azure-native:storage:StorageAccount",
  "azure-native:storage:BlobContainer",
  "gcp:storage/bucket:Bucket",
  "random:index/randomPassword:RandomPassword",
]);

/** Types that are not resources of a provider's API: components, providers, the stack. */
export function isClassified(type: string): boolean {
  return type.startsWith("pulumi:") || type.startsWith("mlflow-platform:") || type in REPLACE_ON;
}

/**
 * The changed inputs that make the provider replace the resource. `after` holds the new inputs where they
 * are known; without them, a conditional trigger (EC2 user data) counts as replacing, to be safe.
 */
export function replaceTriggers(type: string, changed: string[], after?: Record<string, unknown>): string[] {
  if (type.startsWith("pulumi:") || type.startsWith("mlflow-platform:")) return [];
  const on = REPLACE_ON[type];
  if (on === undefined)
    throw new Error(`no replace-triggering inputs are known for ${type} (scripts/replacements.ts)`);
  const userDataReplaces =
    type === "aws:ec2/instance:Instance" && (after === undefined || after.userDataReplaceOnChange === true);
  return changed.filter((k) =>
    on.includes("*")
      ? k !== "tags" && k !== "tagsAll"
      : on.includes(k) || (userDataReplaces && /^userData/.test(k)),
  );
}

/** Unchanged, updated in place, or replaced, from the inputs before and after. */
export function classify(
  type: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): { change: Change; changed: string[]; triggers: string[] } {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changed = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  const triggers = replaceTriggers(type, changed, after);
  const change: Change = changed.length === 0 ? "unchanged" : triggers.length > 0 ? "replaced" : "updated";
  return { change, changed, triggers };
}

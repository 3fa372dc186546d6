// AWS API constraints the provider types cannot express: security group description charset, name
// lengths and charsets, free-text limits, tag limits. Each limit cites where it comes from; "TF" means
// hashicorp/terraform-provider-aws (the provider pulumi-aws bridges), "API" the AWS API reference.
import { ResourceValidationPolicy } from "@pulumi/policy";
import {
  checkNames,
  checkTexts,
  NameSpec,
  noDoubleHyphen,
  noLeadingOrTrailingHyphen,
  reservedPrefix,
  reservedSuffix,
  startsWithLetter,
  TagRule,
  tagMap,
  tagViolations,
  TextRule,
  TextSpec,
  textViolations,
} from "./limits";
import { asArray, asObject, canonicalType, describe, Props } from "./util";

// ---------------------------------------------------------------------------------------------------
// Security group and rule descriptions (AWS review finding #1).

/**
 * EC2 GroupDescription and rule (IpRange/UserIdGroupPair) descriptions: "Constraints: Up to 255
 * characters in length. Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*" (API
 * CreateSecurityGroup Description and IpRange Description; TF checks only the length, so an apostrophe
 * passes preview and fails `pulumi up` with InvalidParameterValue).
 */
export const EC2_DESCRIPTION: TextRule = {
  label: "EC2 security group description: up to 255 of a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*",
  max: 255,
  pattern: /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/,
  allowed: "a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*",
  charset: /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]$/,
};

const SG_WITH_INLINE_RULES = [
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
];
const SG_RULE_RESOURCES = [
  "aws:ec2/securityGroupRule:SecurityGroupRule",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
];

/** Every description a security group resource sends to EC2, with where it sits. */
export function securityGroupDescriptions(type: string, props: Props): { where: string; value: string }[] {
  const found: { where: string; value: string }[] = [];
  const t = canonicalType(type);
  if (SG_WITH_INLINE_RULES.includes(t) || SG_RULE_RESOURCES.includes(t)) {
    if (typeof props.description === "string") found.push({ where: "description", value: props.description });
  }
  if (SG_WITH_INLINE_RULES.includes(t)) {
    for (const direction of ["ingress", "egress"]) {
      asArray(props[direction]).forEach((rule, i) => {
        const d = asObject(rule)?.description;
        if (typeof d === "string") found.push({ where: `${direction}[${i}].description`, value: d });
      });
    }
  }
  return found;
}

export const awsSecurityGroupDescriptions: ResourceValidationPolicy = {
  name: "aws-sg-description-charset",
  description:
    "Security group, inline rule and rule-resource descriptions use only the characters EC2 accepts (a-zA-Z0-9, spaces, ._-:/()#,@[]+=&;{}!$*) and at most 255 of them.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => {
    for (const { where, value } of securityGroupDescriptions(args.type, args.props)) {
      const reasons = textViolations(value, EC2_DESCRIPTION);
      if (reasons.length > 0) {
        report(
          `${describe(args)}: ${where} "${value}" ${reasons.join("; ")}: EC2 rejects it with InvalidParameterValue during \`pulumi up\` (preview does not check it).`,
        );
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------------
// Names.

/** TF elbv2/validate.go validName / validTargetGroupName: at most 32, `^[0-9A-Za-z-]+$`, no hyphen at either end. */
const ELB_NAME: TextRule = {
  label: "load balancer / target group name",
  min: 1,
  max: 32,
  pattern: /^[0-9A-Za-z-]+$/,
  allowed: "0-9A-Za-z-",
  extra: [noLeadingOrTrailingHyphen, reservedPrefix("internal-")], // validName: cannot begin with "internal-"
};
/** TF iam/validate.go validResourceName: `^[\w+=,.@-]*$`; roleNameMaxLen = 64 (role.go). */
const iamName = (label: string, max: number): TextRule => ({
  label,
  min: 1,
  max,
  pattern: /^[\w+=,.@-]+$/,
  allowed: "letters, digits and _+=,.@-",
});
/**
 * RDS: API CreateDBInstance DBInstanceIdentifier "1 to 63 letters, numbers, or hyphens. First character
 * must be a letter. Can't end with a hyphen or contain two consecutive hyphens"; TF rds/validate.go
 * validIdentifier: `^[0-9a-z-]+$` (stored lower case).
 */
const RDS_IDENTIFIER: TextRule = {
  label: "RDS DB instance identifier",
  min: 1,
  max: 63,
  pattern: /^[0-9a-z-]+$/,
  allowed: "0-9a-z-",
  extra: [startsWithLetter, noDoubleHyphen, noLeadingOrTrailingHyphen],
};
/** API CreateDBSnapshot DBSnapshotIdentifier: 1 to 255 letters, numbers, hyphens; first a letter; no `--`, no trailing hyphen. */
const RDS_SNAPSHOT: TextRule = {
  label: "RDS final snapshot identifier",
  min: 1,
  max: 255,
  pattern: /^[0-9A-Za-z-]+$/,
  allowed: "0-9A-Za-z-",
  extra: [startsWithLetter, noDoubleHyphen, noLeadingOrTrailingHyphen],
};
/** TF rds/validate.go validParamGroupName: `^[0-9a-z.-]+$`, first a letter, no `--`, no trailing hyphen, at most 255. */
const RDS_PARAMETER_GROUP: TextRule = {
  label: "RDS parameter group name",
  min: 1,
  max: 255,
  pattern: /^[0-9a-z.-]+$/,
  allowed: "0-9a-z.-",
  extra: [startsWithLetter, noDoubleHyphen, noLeadingOrTrailingHyphen],
};
/** TF rds/validate.go validSubnetGroupName: `^[0-9a-z_ .-]+$`, at most 255, not "default". */
const RDS_SUBNET_GROUP: TextRule = {
  label: "RDS subnet group name",
  min: 1,
  max: 255,
  pattern: /^[0-9a-z_ .-]+$/,
  allowed: "0-9a-z_ .-",
  extra: [(v) => (/^default$/i.test(v) ? 'is the reserved name "default"' : undefined)],
};
/**
 * S3 general purpose bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
 * 3-63 of a-z0-9.-, begin and end with a letter or digit, no "..", not an IP address, reserved prefixes
 * xn--, sthree-, amzn-s3-demo- and suffixes -s3alias, --ol-s3, .mrap, --x-s3, --table-s3.
 */
const S3_BUCKET: TextRule = {
  label: "S3 bucket name",
  min: 3,
  max: 63,
  pattern: /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/,
  allowed: "a-z0-9.- beginning and ending with a letter or digit",
  extra: [
    (v) => (v.includes("..") ? "contains two adjacent periods" : undefined),
    (v) => (/^\d+\.\d+\.\d+\.\d+$/.test(v) ? "is formatted as an IP address" : undefined),
    reservedPrefix("xn--", "sthree-", "amzn-s3-demo-"),
    reservedSuffix("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"),
  ],
};
/** API CreateSecret Name: ASCII letters, numbers and /_+=.@-; Length Constraints 1-512. */
const SECRET_NAME: TextRule = {
  label: "Secrets Manager secret name",
  min: 1,
  max: 512,
  pattern: /^[A-Za-z0-9/_+=.@-]+$/,
  allowed: "A-Za-z0-9/_+=.@-",
};
/** API PutMetricAlarm AlarmName: 1-255 UTF-8 characters, no ASCII control characters. */
const ALARM_NAME: TextRule = {
  label: "CloudWatch alarm name",
  min: 1,
  max: 255,
  pattern: /^[^\u0000-\u001f\u007f]+$/,
  allowed: "UTF-8 without ASCII control characters",
};
/** API CreateTopic Name: "only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens ... between 1 and 256". */
const SNS_TOPIC: TextRule = {
  label: "SNS topic name",
  min: 1,
  max: 256,
  pattern: /^[A-Za-z0-9_-]+(\.fifo)?$/,
  allowed: "A-Za-z0-9_- (FIFO topics end in .fifo)",
};
// API CreateEventSubscription SubscriptionName: "must be less than 255 characters"; terraform-provider-aws
// internal/service/rds/validate.go validEventSubscriptionName: ^[0-9A-Za-z-]+$ and at most 255.
const RDS_EVENT_SUBSCRIPTION: TextRule = {
  label: "RDS event subscription name",
  min: 1,
  max: 255,
  pattern: /^[0-9A-Za-z-]+$/,
  allowed: "A-Za-z0-9-",
};
// API CreateRepository repositoryName: Length Constraints 2-256, Pattern
// (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*
const ECR_REPOSITORY: TextRule = {
  label: "ECR repository name",
  min: 2,
  max: 256,
  pattern: /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
  allowed: "lower-case words of a-z0-9 joined by single ._- or /",
};
/** API CreateCluster clusterName / CreateService serviceName / RegisterTaskDefinition family: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens". */
const ecsName = (label: string): TextRule => ({
  label,
  min: 1,
  max: 255,
  pattern: /^[A-Za-z0-9_-]+$/,
  allowed: "A-Za-z0-9_-",
});
/** API CreateLogGroup logGroupName: 1-512, pattern `[\.\-_/#A-Za-z0-9]+`. */
const LOG_GROUP: TextRule = {
  label: "CloudWatch log group name",
  min: 1,
  max: 512,
  pattern: /^[.\-_/#A-Za-z0-9]+$/,
  allowed: "A-Za-z0-9._-/#",
};
/** API (EventBridge Scheduler) CreateSchedule Name: 1-64, `^[0-9a-zA-Z-_.]+$`. */
const SCHEDULE_NAME: TextRule = {
  label: "EventBridge Scheduler schedule name",
  min: 1,
  max: 64,
  pattern: /^[0-9a-zA-Z_.-]+$/,
  allowed: "0-9a-zA-Z-_.",
};
/** API CreateSecurityGroup GroupName: up to 255 of the description charset, cannot start with "sg-". */
const SG_NAME: TextRule = {
  ...EC2_DESCRIPTION,
  label: "security group name",
  min: 1,
  extra: [reservedPrefix("sg-")],
};

/** API (Application Auto Scaling) PutScalingPolicy PolicyName: 1-256, pattern `\p{Print}+`. */
const SCALING_POLICY_NAME: TextRule = {
  label: "Application Auto Scaling policy name",
  min: 1,
  max: 256,
  pattern: /^[^\p{C}]+$/u,
  allowed: "printable characters",
};
/** API PutMetricFilter filterName: 1-512, pattern `[^:*]*`. */
const METRIC_FILTER_NAME: TextRule = {
  label: "CloudWatch Logs metric filter name",
  min: 1,
  max: 512,
  pattern: /^[^:*]+$/,
  allowed: "any character but : and *",
};

export const AWS_NAME_SPECS: readonly NameSpec[] = [
  ...["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"].map((type) => ({
    type,
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is" as const, rule: ELB_NAME }],
  })),
  ...["aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"].map((type) => ({
    type,
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is" as const, rule: ELB_NAME }],
  })),
  {
    type: "aws:iam/role:Role",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: iamName("IAM role name", 64) }],
  },
  {
    // TF iam/policy.go policyNameMaxLen = 128.
    type: "aws:iam/policy:Policy",
    fields: [
      { key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: iamName("IAM policy name", 128) },
    ],
  },
  {
    // TF iam/role_policy.go rolePolicyNameMaxLen = 128.
    type: "aws:iam/rolePolicy:RolePolicy",
    fields: [
      { key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: iamName("IAM role policy name", 128) },
    ],
  },
  {
    // TF iam/instance_profile.go instanceProfileNameMaxLen = 128.
    type: "aws:iam/instanceProfile:InstanceProfile",
    fields: [
      {
        key: "name",
        prefixKey: "namePrefix",
        autoname: "as-is",
        rule: iamName("IAM instance profile name", 128),
      },
    ],
  },
  {
    type: "aws:rds/instance:Instance",
    fields: [
      { key: "identifier", prefixKey: "identifierPrefix", autoname: "as-is", rule: RDS_IDENTIFIER },
      { key: "finalSnapshotIdentifier", rule: RDS_SNAPSHOT },
    ],
  },
  {
    type: "aws:rds/parameterGroup:ParameterGroup",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: RDS_PARAMETER_GROUP }],
  },
  {
    type: "aws:rds/subnetGroup:SubnetGroup",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: RDS_SUBNET_GROUP }],
  },
  ...["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"].map((type) => ({
    type,
    // pulumi-aws provider/resources.go: "bucket": tfbridge.AutoNameTransform("bucket", 63, strings.ToLower).
    fields: [{ key: "bucket", prefixKey: "bucketPrefix", autoname: "lowercase" as const, rule: S3_BUCKET }],
  })),
  {
    type: "aws:secretsmanager/secret:Secret",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: SECRET_NAME }],
  },
  {
    type: "aws:cloudwatch/metricAlarm:MetricAlarm",
    fields: [{ key: "name", autoname: "as-is", rule: ALARM_NAME }],
  },
  {
    type: "aws:sns/topic:Topic",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: SNS_TOPIC }],
  },
  {
    type: "aws:rds/eventSubscription:EventSubscription",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: RDS_EVENT_SUBSCRIPTION }],
  },
  {
    type: "aws:ecr/repository:Repository",
    fields: [{ key: "name", autoname: "as-is", rule: ECR_REPOSITORY }],
  },
  {
    type: "aws:ecs/cluster:Cluster",
    fields: [{ key: "name", autoname: "as-is", rule: ecsName("ECS cluster name") }],
  },
  {
    type: "aws:ecs/service:Service",
    fields: [{ key: "name", autoname: "as-is", rule: ecsName("ECS service name") }],
  },
  {
    // `family` is required (no autoname).
    type: "aws:ecs/taskDefinition:TaskDefinition",
    fields: [{ key: "family", rule: ecsName("ECS task definition family") }],
  },
  {
    type: "aws:appautoscaling/policy:Policy",
    fields: [{ key: "name", autoname: "as-is", rule: SCALING_POLICY_NAME }],
  },
  {
    type: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
    fields: [{ key: "name", autoname: "as-is", rule: METRIC_FILTER_NAME }],
  },
  {
    type: "aws:cloudwatch/logGroup:LogGroup",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: LOG_GROUP }],
  },
  {
    type: "aws:scheduler/schedule:Schedule",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: SCHEDULE_NAME }],
  },
  {
    type: "aws:ec2/securityGroup:SecurityGroup",
    fields: [{ key: "name", prefixKey: "namePrefix", autoname: "as-is", rule: SG_NAME }],
  },
];

export const awsNameLimits: ResourceValidationPolicy = {
  name: "aws-name-limits",
  description:
    "Every AWS name the program sets, generates from a prefix or leaves to Pulumi autonaming fits the API's length and character rules (load balancer and target group 32, IAM role 64, RDS identifiers, S3 buckets, secrets, alarms, topics, ECR, ECS, log groups, schedules, security groups).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => checkNames(AWS_NAME_SPECS, args, report),
};

// ---------------------------------------------------------------------------------------------------
// Free text other than security groups.

/** API CreateRole Description: maximum 1000, pattern `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`. */
const IAM_DESCRIPTION: TextRule = {
  label: "IAM CreateRole Description: at most 1000 of tab, newline, printable ASCII and Latin-1",
  max: 1000,
  pattern: /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$/,
  allowed: "tab, newline, printable ASCII and Latin-1 (no typographic quotes or dashes)",
};

export const AWS_TEXT_SPECS: readonly TextSpec[] = [
  { type: "aws:iam/role:Role", key: "description", rule: IAM_DESCRIPTION },
  // API PutMetricAlarm AlarmDescription: Length Constraints: Maximum length of 1024.
  {
    type: "aws:cloudwatch/metricAlarm:MetricAlarm",
    key: "alarmDescription",
    rule: { label: "PutMetricAlarm AlarmDescription: at most 1024", max: 1024 },
  },
  // API CreateSecret Description: Length Constraints: Maximum length of 2048.
  {
    type: "aws:secretsmanager/secret:Secret",
    key: "description",
    rule: { label: "CreateSecret Description: at most 2048", max: 2048 },
  },
  // API (EventBridge Scheduler) CreateSchedule Description: Length Constraints: Maximum length of 512.
  {
    type: "aws:scheduler/schedule:Schedule",
    key: "description",
    rule: { label: "CreateSchedule Description: at most 512", max: 512 },
  },
];

export const awsTextLimits: ResourceValidationPolicy = {
  name: "aws-text-limits",
  description:
    "IAM role, alarm, secret and schedule descriptions fit the API's length and character rules (IAM: no typographic quotes or dashes).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => checkTexts(AWS_TEXT_SPECS, args, report),
};

// ---------------------------------------------------------------------------------------------------
// Tags.

/**
 * AWS tag restrictions (e.g. API ECS CreateCluster tags, AWS Tagging Best Practices "Tag naming limits
 * and requirements"): at most 50 user tags per resource, key 1-128 and value 0-256 Unicode characters,
 * keys and values must not begin with the reserved `aws:` (any case). Characters: the set every service
 * accepts, "letters, numbers, and spaces representable in UTF-8, and + - = . _ : / @" — the program puts
 * the same tags on every resource, IAM and others enforce that set, and EC2 accepts more.
 */
export const AWS_TAGS: TagRule = {
  noun: "tags",
  maxCount: 50,
  key: {
    label: "AWS tag key",
    min: 1,
    max: 128,
    pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u,
    allowed: "letters, digits, spaces and _.:/=+-@",
    extra: [reservedPrefix("aws:")],
  },
  value: {
    label: "AWS tag value",
    max: 256,
    pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u,
    allowed: "letters, digits, spaces and _.:/=+-@",
    extra: [reservedPrefix("aws:")],
  },
};
/** S3 object tagging: "You can associate up to 10 tags with an object" (S3 User Guide, Categorizing your storage using tags). */
export const S3_OBJECT_TAG_COUNT = 10;
const S3_OBJECT_TYPES = ["aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"];

/** The AWS tag maps of a resource: `tags`, EC2 `volumeTags`, launch template tag specifications. */
function awsTagMaps(props: Props): { where: string; tags: Props }[] {
  const maps: { where: string; tags: Props | undefined }[] = [
    { where: "tags", tags: tagMap(props.tags) },
    { where: "volumeTags", tags: tagMap(props.volumeTags) },
    ...asArray(props.tagSpecifications).map((t, i) => ({
      where: `tagSpecifications[${i}].tags`,
      tags: tagMap(asObject(t)?.tags),
    })),
  ];
  return maps.filter((m): m is { where: string; tags: Props } => m.tags !== undefined);
}

export const awsTagLimits: ResourceValidationPolicy = {
  name: "aws-tag-limits",
  description:
    "AWS resources carry at most 50 tags (S3 objects 10), keys of 1-128 and values of at most 256 characters from the portable tag charset, none beginning with the reserved aws: prefix.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => {
    if (!args.type.startsWith("aws:")) return;
    const rule = S3_OBJECT_TYPES.includes(args.type)
      ? { ...AWS_TAGS, maxCount: S3_OBJECT_TAG_COUNT }
      : AWS_TAGS;
    for (const { where, tags } of awsTagMaps(args.props)) {
      const reasons = tagViolations(tags, rule);
      if (reasons.length > 0) {
        report(`${describe(args)}: ${where} ${reasons.join("; ")} (AWS tag restrictions).`);
      }
    }
  },
};

export const awsLimitPolicies = [awsSecurityGroupDescriptions, awsNameLimits, awsTextLimits, awsTagLimits];

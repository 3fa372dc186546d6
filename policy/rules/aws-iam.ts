// IAM: permissions scoped to the one bucket/prefix and the named secrets (DESIGN.md "Server").
import { parsePolicyDocument, Statement } from "./policy-document";
import { asArray, asString, describe, dig, resourcePolicy } from "./util";

export const IAM_POLICY = "aws:iam/policy:Policy";
export const IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
export const IAM_ROLE = "aws:iam/role:Role";
export const IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy";
export const IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy";

/** Allowed actions whose meaning is "everything in a sensitive service" (or everything at all). */
export const FORBIDDEN_ACTIONS = ["*", "s3:*", "secretsmanager:*", "kms:*", "iam:*"];

/**
 * The only actions an Allow statement may grant on Resource "*". Each either has no resource-level
 * permissions in IAM or is what the SSM agent / ECS agent needs on "*":
 * - ecr:GetAuthorizationToken — registry login (no resource type);
 * - ssm:UpdateInstanceInformation, ssmmessages:*, ec2messages:* — Session Manager (replaces SSH);
 * - cloudwatch:PutMetricData — custom metrics (no resource type; scope by cloudwatch:namespace condition);
 * - logs:DescribeLogGroups — listing (no resource type for list calls);
 * - sts:GetCallerIdentity — identity check (needs no permission anyway);
 * - route53:ListHostedZones — listing (no resource type); certbot-dns-route53 finds the zone with it.
 * Everything else, in particular every s3: and secretsmanager: action, must name its resources.
 */
export const STAR_RESOURCE_ALLOWLIST = [
  "ecr:GetAuthorizationToken",
  "ssm:UpdateInstanceInformation",
  "ssmmessages:*",
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
  "ec2messages:*",
  "ec2messages:AcknowledgeMessage",
  "ec2messages:DeleteMessage",
  "ec2messages:FailMessage",
  "ec2messages:GetEndpoint",
  "ec2messages:GetMessages",
  "ec2messages:SendReply",
  "cloudwatch:PutMetricData",
  "logs:DescribeLogGroups",
  "sts:GetCallerIdentity",
  "route53:ListHostedZones",
];

function allowlisted(action: string): boolean {
  const a = action.toLowerCase();
  return STAR_RESOURCE_ALLOWLIST.some((x) => x.toLowerCase() === a);
}

/** Problems of one Allow statement (empty for Deny or a well-scoped Allow). */
export function statementProblems(s: Statement): string[] {
  if (s.effect !== "Allow") {
    return [];
  }
  const label = s.sid ? `statement "${s.sid}"` : "a statement";
  const problems: string[] = [];
  const broad = s.actions.filter((a) => FORBIDDEN_ACTIONS.includes(a.toLowerCase()));
  if (broad.length > 0) {
    problems.push(`${label} allows ${broad.join(", ")}; list the exact actions`);
  }
  if (s.notActions.length > 0) {
    problems.push(`${label} allows everything except NotAction; list the exact actions with Action`);
  }
  const starResource = s.resources.includes("*") || s.notResources.length > 0;
  if (starResource) {
    const notAllowed = s.actions.filter((a) => !allowlisted(a) && !broad.includes(a));
    if (notAllowed.length > 0) {
      problems.push(
        `${label} grants ${notAllowed.join(", ")} on Resource "*"; name the bucket/prefix or secret ARNs`,
      );
    }
  }
  return problems;
}

/** Named policy documents carried by the resource (Role: its inline policies, not its trust policy). */
function documentsOf(type: string, props: Record<string, unknown>): { label: string; value: unknown }[] {
  if (type === IAM_ROLE) {
    return asArray(props.inlinePolicies).map((p, i) => ({
      label: `inline policy "${asString(dig(p, "name")) ?? i}"`,
      value: dig(p, "policy"),
    }));
  }
  return [{ label: "policy", value: props.policy }];
}

export const iamLeastPrivilege = resourcePolicy(
  {
    name: "iam-least-privilege",
    description:
      'IAM policies allow no wildcard service actions (*, s3:*, secretsmanager:*, kms:*, iam:*) and grant on Resource "*" only the allowlisted actions that cannot be scoped.',
    types: [IAM_POLICY, IAM_ROLE_POLICY, IAM_ROLE, IAM_USER_POLICY, IAM_GROUP_POLICY],
  },
  (props, args, report) => {
    for (const { label, value } of documentsOf(args.type, props)) {
      if (value === undefined || value === "") {
        continue;
      }
      const doc = parsePolicyDocument(value);
      if (!doc.ok) {
        report(`${describe(args)} ${label}: ${doc.error}; give it a valid JSON policy document.`);
        continue;
      }
      const problems = doc.statements.flatMap(statementProblems);
      if (problems.length > 0) {
        report(`${describe(args)} ${label} is too broad: ${problems.join("; ")}.`);
      }
    }
  },
);

export const iamPolicies = [iamLeastPrivilege];

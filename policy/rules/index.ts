// Every policy of the pack, grouped by area. No PolicyPack is built here (that starts a server): the pack
// is constructed in policy/index.ts, and tests iterate these arrays.
import { Policies } from "@pulumi/policy";
import { s3Policies } from "./aws-s3";
import { azurePolicies } from "./azure-storage";
import { gcpPolicies } from "./gcp-storage";
import { rdsPolicies } from "./aws-rds";
import { securityGroupPolicies } from "./aws-security-groups";
import { ec2Policies } from "./aws-ec2";
import { iamPolicies } from "./aws-iam";
import { ecsPolicies } from "./aws-ecs";
import { lbPolicies } from "./aws-lb";
import { publicHttpPolicies } from "./aws-public-http";
import { tagPolicies } from "./tags";
import { awsLimitPolicies } from "./limits-aws";
import { azureGcpLimitPolicies } from "./limits-azure-gcp";

export {
  s3Policies,
  azurePolicies,
  gcpPolicies,
  rdsPolicies,
  securityGroupPolicies,
  ec2Policies,
  iamPolicies,
};
export { ecsPolicies, lbPolicies, publicHttpPolicies, tagPolicies, awsLimitPolicies, azureGcpLimitPolicies };

export const allPolicies: Policies = [
  ...s3Policies,
  ...azurePolicies,
  ...gcpPolicies,
  ...rdsPolicies,
  ...securityGroupPolicies,
  ...ec2Policies,
  ...iamPolicies,
  ...ecsPolicies,
  ...lbPolicies,
  ...publicHttpPolicies,
  ...tagPolicies,
  ...awsLimitPolicies,
  ...azureGcpLimitPolicies,
];

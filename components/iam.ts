// IAM policy documents as plain data, so tests and the policy pack can read them; ARNs of the partition.
import * as pulumi from "@pulumi/pulumi";
import { getPartitionOutput } from "@pulumi/aws/getPartition";

export interface IamStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  /** Absent only in trust policies. */
  Resource?: string | string[];
  Principal?: Record<string, string | string[]>;
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export function policyDocument(statements: IamStatement[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** A trust policy letting one AWS service assume a role. */
export function assumeRolePolicy(service: string): string {
  return policyDocument([{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: service } }]);
}

/**
 * The provider's partition (`aws`, `aws-us-gov`, `aws-cn`): every ARN the program builds starts with
 * `arn:<partition>:`, never `arn:aws:`, so GovCloud and China regions (which the config accepts) work.
 */
export function awsPartition(opts?: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  return getPartitionOutput({}, opts).partition;
}

/** An AWS-managed IAM policy, e.g. `AmazonSSMManagedInstanceCore`, in the partition. */
export function managedPolicyArn(partition: pulumi.Input<string>, policyName: string): pulumi.Output<string> {
  return pulumi.interpolate`arn:${partition}:iam::aws:policy/${policyName}`;
}

/**
 * `policy`, once the artifact store's grant exists (the artifact environment carries it as a dependency):
 * stacks made before the grants had the artifact statements in the server's own policy, and the update that
 * drops them must not run before the grant that takes them over.
 */
export function afterArtifactGrant(
  policy: pulumi.Input<string>,
  artifactEnvironment: pulumi.Input<Record<string, string>>,
): pulumi.Output<string> {
  return pulumi.all([policy, artifactEnvironment]).apply(([document]) => document);
}

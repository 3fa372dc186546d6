// IAM policy documents as plain data, so tests and the policy pack can read them.

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

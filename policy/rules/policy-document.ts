// AWS IAM / resource policy documents: parsing and the few questions the policies ask of them.
import { asArray, asObject, asString, parseJson, Props } from "./util";

export interface Statement {
  sid?: string;
  effect: string;
  actions: string[];
  notActions: string[];
  resources: string[];
  notResources: string[];
  principal: unknown;
  condition: Props | undefined;
}

export type ParsedDocument = { ok: true; statements: Statement[] } | { ok: false; error: string };

/** Parses a policy given as a JSON string or as an object (`aws.iam.PolicyDocument`). */
export function parsePolicyDocument(value: unknown): ParsedDocument {
  const parsed = parseJson(value);
  if (!parsed.ok) {
    return { ok: false, error: `the policy is not valid JSON (${parsed.error})` };
  }
  const doc = asObject(parsed.value);
  if (!doc) {
    return { ok: false, error: "the policy is not a JSON object" };
  }
  const statements = asArray(doc.Statement).map((raw) => {
    const s = asObject(raw) ?? {};
    const strings = (v: unknown) => asArray(v).filter((x): x is string => typeof x === "string");
    return {
      sid: asString(s.Sid),
      effect: asString(s.Effect) ?? "",
      actions: strings(s.Action),
      notActions: strings(s.NotAction),
      resources: strings(s.Resource),
      notResources: strings(s.NotResource),
      principal: s.Principal,
      condition: asObject(s.Condition),
    };
  });
  return { ok: true, statements };
}

/** True when the principal is everyone (`"*"` or `{AWS: "*"}`). */
export function isEveryone(principal: unknown): boolean {
  if (principal === "*") {
    return true;
  }
  const p = asObject(principal);
  return !!p && asArray(p.AWS).includes("*");
}

/** A Deny statement refusing every request made without TLS (`aws:SecureTransport` = false). */
export function isTlsOnlyDeny(s: Statement): boolean {
  if (s.effect !== "Deny" || !isEveryone(s.principal)) {
    return false;
  }
  if (!s.actions.some((a) => a === "*" || a === "s3:*")) {
    return false;
  }
  const bool = asObject(s.condition?.Bool) ?? asObject(s.condition?.BoolIfExists);
  const secure = bool?.["aws:SecureTransport"];
  return asArray(secure).some((v) => v === false || v === "false");
}

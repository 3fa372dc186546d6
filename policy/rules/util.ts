// Shared helpers for the policies. No provider SDK is imported: resources are matched by their type
// tokens (verified against @pulumi/aws 7, @pulumi/azure-native 3 and @pulumi/gcp 9) so the pack only
// needs @pulumi/policy and @pulumi/pulumi.
import {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
  UnknownValueError,
} from "@pulumi/policy";

export type Props = Record<string, unknown>;

/** Strips the API version of an azure-native token (`azure-native:storage/v20230101:X` → `azure-native:storage:X`). */
export function canonicalType(type: string): string {
  return type.replace(/^(azure-native:[a-zA-Z0-9]+)\/v[0-9a-z]+:/, "$1:");
}

export function isOneOf(type: string, tokens: readonly string[]): boolean {
  return tokens.includes(canonicalType(type));
}

/**
 * A resource policy that only looks at the given types. `check` reads the resource inputs; during preview,
 * reading an unknown value throws UnknownValueError, which the policy server reports as "can't run during
 * preview" (advisory), so checks never guess about unknown values.
 */
export function resourcePolicy(
  spec: {
    name: string;
    description: string;
    types: readonly string[];
    remediationSteps?: string;
    configSchema?: ResourceValidationPolicy["configSchema"];
  },
  check: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidationPolicy {
  return {
    name: spec.name,
    description: spec.description,
    enforcementLevel: "mandatory",
    severity: "high",
    ...(spec.remediationSteps ? { remediationSteps: spec.remediationSteps } : {}),
    ...(spec.configSchema ? { configSchema: spec.configSchema } : {}),
    validateResource: (args, report) => {
      if (!isOneOf(args.type, spec.types)) {
        return;
      }
      check(args.props, args, report);
    },
  };
}

export function stackPolicy(
  spec: { name: string; description: string; remediationSteps?: string },
  check: (args: StackValidationArgs, report: ReportViolation) => void,
): StackValidationPolicy {
  return {
    name: spec.name,
    description: spec.description,
    enforcementLevel: "mandatory",
    severity: "high",
    ...(spec.remediationSteps ? { remediationSteps: spec.remediationSteps } : {}),
    validateStack: check,
  };
}

/** Marker for a value that is not known yet (preview). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Maybe<T> = T | typeof UNKNOWN;

/**
 * Evaluates `read`, turning an unknown-value error into UNKNOWN (for stack policies that must go on).
 * (@pulumi/policy 1.21 exports UnknownValueError at run time, but its proxy.d.ts is empty, so it is typed any.)
 */
export function known<T>(read: () => T): Maybe<T> {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnknownValueError) {
      return UNKNOWN;
    }
    throw e;
  }
}

/** Re-throws unknown-value errors from a catch block so they are never mistaken for a bad value. */
export function rethrowUnknown(e: unknown): void {
  if (e instanceof UnknownValueError) {
    throw e;
  }
}

export function asObject(value: unknown): Props | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Props) : undefined;
}

export function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) {
    return value;
  }
  return value === undefined || value === null ? [] : [value];
}

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Reads `a.b.c` from nested objects; undefined when any step is missing. */
export function dig(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    const o = asObject(current);
    if (!o) {
      return undefined;
    }
    current = o[key];
  }
  return current;
}

/** Parses a JSON string input, or returns the value itself when it is already an object/array. */
export function parseJson(value: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  if (typeof value !== "string") {
    return { ok: true, value };
  }
  try {
    return { ok: true, value: JSON.parse(value) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

export function describe(args: { type: string; name: string }): string {
  return `${args.type} "${args.name}"`;
}

// ---------------------------------------------------------------------------------------------------
// Companion resources (stack policies): a bucket is matched with its public access block, versioning,
// ... through the companion's `bucket` input. That input is usually the bucket's id, which is unknown
// during a preview of a new bucket; the engine still tells us which resource the input came from
// (propertyDependencies), so we match on that first, then on equal values.

export interface CompanionIndex {
  /** Companions found for each parent resource (by URN). */
  byParent: Map<string, PolicyResource[]>;
  /** Companions whose link could not be resolved (unknown value and no dependency information). */
  unresolved: PolicyResource[];
}

export function indexCompanions(
  parents: PolicyResource[],
  companions: PolicyResource[],
  link: { companionKey: string; parentKeys: string[] },
): CompanionIndex {
  const byParent = new Map<string, PolicyResource[]>(parents.map((p) => [p.urn, []]));
  const parentUrns = new Set(parents.map((p) => p.urn));
  const parentValues = parents.map((p) => ({
    urn: p.urn,
    values: link.parentKeys
      .map((k) => known(() => p.props[k]))
      .filter((v): v is string => typeof v === "string" && v !== ""),
  }));
  const unresolved: PolicyResource[] = [];
  for (const c of companions) {
    const viaProperty = (c.propertyDependencies?.[link.companionKey] ?? []).filter((d) =>
      parentUrns.has(d.urn),
    );
    if (viaProperty.length > 0) {
      viaProperty.forEach((d) => byParent.get(d.urn)?.push(c));
      continue;
    }
    const value = known(() => c.props[link.companionKey]);
    if (typeof value === "string" && value !== "") {
      const matches = parentValues.filter((p) => p.values.includes(value));
      if (matches.length > 0) {
        matches.forEach((m) => byParent.get(m.urn)?.push(c));
        continue;
      }
    }
    // Last resort: a single parent among the plain dependencies (dependsOn and input dependencies).
    const viaDependency = (c.dependencies ?? []).filter((d) => parentUrns.has(d.urn));
    if (viaDependency.length === 1) {
      byParent.get(viaDependency[0].urn)?.push(c);
      continue;
    }
    if (value === UNKNOWN || value === undefined) {
      unresolved.push(c);
    }
    // A known value that matches no parent links to a resource outside this stack: not ours to judge.
  }
  return { byParent, unresolved };
}

/**
 * Reports every parent that has no companion satisfying `accept`. When some companions could not be linked
 * (preview), parents without a companion are skipped: the update re-runs the policy with known values.
 */
export function requireCompanion(
  resources: PolicyResource[],
  spec: {
    parentTypes: readonly string[];
    companionTypes: readonly string[];
    companionKey: string;
    parentKeys: string[];
    /** Extra test on a linked companion; returns a reason when the companion does not count. */
    accept?: (companion: PolicyResource) => Maybe<string | undefined>;
    /** Parents that carry the setting inline (e.g. a deprecated inline block) need no companion. */
    satisfiedInline?: (parent: PolicyResource) => boolean;
    message: (parent: PolicyResource, reasons: string[]) => string;
  },
  report: ReportViolation,
): void {
  const parents = resources.filter((r) => isOneOf(r.type, spec.parentTypes));
  const companions = resources.filter((r) => isOneOf(r.type, spec.companionTypes));
  const { byParent, unresolved } = indexCompanions(parents, companions, spec);
  const { satisfiedInline, accept } = spec;
  for (const parent of parents) {
    if (satisfiedInline && known(() => satisfiedInline(parent)) === true) {
      continue;
    }
    const linked = byParent.get(parent.urn) ?? [];
    const reasons: string[] = [];
    let ok = false;
    let undecided = false;
    for (const c of linked) {
      const verdict = accept ? known(() => accept(c)) : undefined;
      if (verdict === UNKNOWN) {
        undecided = true;
      } else if (verdict === undefined) {
        ok = true;
      } else {
        reasons.push(verdict);
      }
    }
    if (ok || undecided || (linked.length === 0 && unresolved.length > 0)) {
      continue;
    }
    report(spec.message(parent, reasons), parent.urn);
  }
}

// ---------------------------------------------------------------------------------------------------
// Secret detection in free text (user data, tags, environment values).

/** Values that are references or documentation placeholders, not secrets. */
export function isPlaceholderOrReference(value: string): boolean {
  const v = value.trim().replace(/^["']|["']$/g, "");
  return (
    v === "" ||
    /^[$%]/.test(v) || // $VAR, ${VAR}, $(cmd), %(name)s
    /^\{\{.*\}\}$/.test(v) || // {{ template }}
    /^<[^>]*>$/.test(v) || // <password>
    /^(\*+|x+|\.\.\.|…)$/i.test(v) ||
    /^(pass|password|passwd|secret|token|user|required|optional|true|false|none|null|undefined|redacted)$/i.test(
      v,
    ) ||
    /^arn:aws[a-z-]*:(secretsmanager|ssm|kms):/.test(v) // a reference to a secret, not the secret
  );
}

const SECRET_WORD =
  "(?:password|passwd|pwd|secret|secret_?key|secret_?access_?key|access_?key|api_?key|token|auth_?token|client_?secret|private_?key|account_?key)";

const textPatterns: { reason: string; regex: RegExp; check?: (m: RegExpExecArray) => boolean }[] = [
  { reason: "an AWS access key id (AKIA…/ASIA…)", regex: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  {
    reason: "an Azure storage account key (AccountKey=…)",
    regex: /AccountKey=([^;\s"']+)/gi,
    check: (m) => !isPlaceholderOrReference(m[1]),
  },
  { reason: "an Azure SAS signature (sig=…)", regex: /[?&;]sig=([A-Za-z0-9%+/=]{16,})/g },
  { reason: "a private key block", regex: /-----BEGIN [A-Z ]*PRIVATE KEY-----/g },
  {
    reason: "a URI with an embedded password (scheme://user:password@host)",
    regex: /\b[a-z][a-z0-9+.-]*:\/\/([^\s:/@'"]+):([^\s@/'"]+)@/gi,
    check: (m) => !isPlaceholderOrReference(m[2]),
  },
  {
    reason: "a literal secret assignment (password=…, token: …)",
    // key ending in a secret word, optional closing quote, = or :, then a literal (quoted or a bare word
    // followed by whitespace/end — so code like `secret = client.get(...)` is not taken for a literal).
    regex: new RegExp(
      `(?:^|[\\s"'{,;(&?])(?:--?)?[A-Za-z0-9_.-]*?${SECRET_WORD}["']?[ \\t]*[:=][ \\t]*("[^"\\n]{4,}"|'[^'\\n]{4,}'|[^\\s"'$(){}\\[\\]<>#;,]{4,}(?=[\\s;,]|$))`,
      "gim",
    ),
    check: (m) => !isPlaceholderOrReference(m[1]),
  },
];

/** Returns why `text` looks like it contains a secret (empty when it does not). */
export function findSecrets(text: string): string[] {
  const reasons = new Set<string>();
  for (const p of textPatterns) {
    p.regex.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = p.regex.exec(text)) !== null) {
      if (!p.check || p.check(m)) {
        reasons.add(p.reason);
        break;
      }
    }
  }
  return [...reasons];
}

/** True when a name (tag key, environment variable) says its value is a secret. */
export function isSecretName(name: string): boolean {
  const upper = name.toUpperCase();
  if (/(_ARN|_FILE|_PATH|_NAME|_NAMES|_ID|_SECRET_ID|_VERSION)$/.test(upper)) {
    // A reference to a secret (ARN, file, name) is not the secret itself.
    return false;
  }
  if (/CONNECTION_?STRING|BACKEND_STORE_URI|DATABASE_URL|DB_URI/.test(upper)) {
    return true;
  }
  const words = upper.split(/[^A-Z0-9]+/).filter(Boolean);
  return words.some((w) =>
    ["PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "KEY", "CREDENTIALS", "CREDENTIAL"].includes(w),
  );
}

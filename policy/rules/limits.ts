// Shared machinery of the provider-limit rules (limits-aws.ts, limits-azure-gcp.ts): the API constraints
// the provider types cannot express (lengths, character sets, reserved prefixes) and the name a resource
// will really get, which is not always an input (see policy/README.md "Provider limits").
import { ResourceValidationArgs } from "@pulumi/policy";
import { asObject, canonicalType, describe, Props } from "./util";

/** A constraint on one string the cloud API receives. */
export interface TextRule {
  /** What the API calls the value, for messages. */
  label: string;
  min?: number;
  max: number;
  /** The whole value must match (anchor it). */
  pattern?: RegExp;
  /** The allowed shape in words, for messages. */
  allowed?: string;
  /** One allowed character (a class), to name the offending ones in messages. */
  charset?: RegExp;
  /** Further checks (reserved prefixes, consecutive hyphens...): each returns a reason or undefined. */
  extra?: ((value: string) => string | undefined)[];
}

/** Length in characters (code points), the unit every API below counts in. */
export function length(value: string): number {
  return [...value].length;
}

/** Why `value` breaks `rule` (empty when it does not). */
export function textViolations(value: string, rule: TextRule): string[] {
  const reasons: string[] = [];
  const n = length(value);
  if (rule.min !== undefined && n < rule.min) reasons.push(`is ${n} characters, fewer than ${rule.min}`);
  if (n > rule.max) reasons.push(`is ${n} characters, more than ${rule.max}`);
  if (rule.pattern && !rule.pattern.test(value)) {
    const bad = rule.charset ? [...new Set([...value].filter((c) => !rule.charset?.test(c)))] : [];
    reasons.push(
      bad.length > 0
        ? `has characters outside ${rule.allowed ?? String(rule.pattern)}: ${bad.map((c) => JSON.stringify(c)).join(" ")}`
        : `has characters or a shape outside ${rule.allowed ?? String(rule.pattern)}`,
    );
  }
  for (const check of rule.extra ?? []) {
    const reason = check(value);
    if (reason) reasons.push(reason);
  }
  return reasons;
}

// --- extra checks shared by several APIs ---------------------------------------------------------
export const noLeadingOrTrailingHyphen = (v: string): string | undefined =>
  /^-|-$/.test(v) ? "begins or ends with a hyphen" : undefined;
export const noDoubleHyphen = (v: string): string | undefined =>
  v.includes("--") ? "contains two consecutive hyphens" : undefined;
export const startsWithLetter = (v: string): string | undefined =>
  /^[A-Za-z]/.test(v) ? undefined : "does not begin with a letter";
export const reservedPrefix =
  (...prefixes: string[]) =>
  (v: string): string | undefined => {
    const hit = prefixes.find((p) => v.toLowerCase().startsWith(p.toLowerCase()));
    return hit ? `begins with the reserved prefix "${hit}"` : undefined;
  };
export const reservedSuffix =
  (...suffixes: string[]) =>
  (v: string): string | undefined => {
    const hit = suffixes.find((s) => v.endsWith(s));
    return hit ? `ends with the reserved suffix "${hit}"` : undefined;
  };

// --- the effective name -----------------------------------------------------------------------------
/**
 * Pulumi autonaming: an unset name becomes `<logical name>-` plus 7 random lowercase hex characters
 * (pulumi/pulumi sdk/go/common/resource/resource_id.go NewUniqueHex; the bridged providers default to
 * separator "-" and 7 random characters), so the name is 8 characters longer than the logical name.
 */
export const AUTONAME_SUFFIX = "-a1b2c3d";
/**
 * A `namePrefix`-style input gets 26 generated characters (terraform-plugin-sdk helper/id
 * UniqueIDSuffixLength = len("20060102150405") + 4 + 8: an 18-digit timestamp and an 8-digit hex counter),
 * which is why the providers
 * allow `32 - 26 = 6` characters of load balancer namePrefix and `64 - 26 = 38` of IAM role namePrefix.
 */
export const PREFIX_SUFFIX = "202612012130000000" + "00000001";

export interface NameField {
  /** The input that holds the name. */
  key: string;
  rule: TextRule;
  /** The input that, set instead, gets PREFIX_SUFFIX appended by the provider. */
  prefixKey?: string;
  /** The provider fills an unset `key` from the logical name (Pulumi autonaming). */
  autoname?: "as-is" | "lowercase";
}

export interface EffectiveName {
  value: string;
  /** How the value was found, for messages. */
  how: string;
}

/**
 * The name the cloud will receive: the prefix plus its generated suffix when a prefix is set (the
 * providers refuse both at once), else the name input (in `pulumi preview` the engine hands policies the
 * provider-checked inputs, which already hold the autoname), else the logical name plus the autoname
 * suffix. Undefined when the name is neither set nor generated (a required input left to the provider).
 */
export function effectiveName(
  props: Props,
  logicalName: string,
  field: NameField,
): EffectiveName | undefined {
  const prefix = field.prefixKey ? props[field.prefixKey] : undefined;
  if (typeof prefix === "string") {
    return {
      value: prefix + PREFIX_SUFFIX,
      how: `${field.prefixKey} "${prefix}" + ${PREFIX_SUFFIX.length} generated characters`,
    };
  }
  const name = props[field.key];
  if (typeof name === "string") {
    return { value: name, how: `${field.key} "${name}"` };
  }
  if (field.autoname) {
    const base = field.autoname === "lowercase" ? logicalName.toLowerCase() : logicalName;
    return {
      value: base + AUTONAME_SUFFIX,
      how: `${field.key} unset: autoname "${base}-" + ${AUTONAME_SUFFIX.length - 1} random characters`,
    };
  }
  return undefined;
}

/** Name constraints of one resource type. */
export interface NameSpec {
  type: string;
  fields: NameField[];
}

export function checkNames(
  specs: readonly NameSpec[],
  args: ResourceValidationArgs,
  report: (message: string) => void,
): void {
  const spec = specs.find((s) => s.type === canonicalType(args.type));
  for (const field of spec?.fields ?? []) {
    const name = effectiveName(args.props, args.name, field);
    if (!name) continue;
    const reasons = textViolations(name.value, field.rule);
    if (reasons.length > 0) {
      report(
        `${describe(args)}: the ${field.rule.label} (${name.how}) ${reasons.join("; ")}: the API refuses it at create time, after preview has passed.`,
      );
    }
  }
}

/** One free-text input (description, display name) of a resource type. */
export interface TextSpec {
  type: string;
  key: string;
  rule: TextRule;
}

export function checkTexts(
  specs: readonly TextSpec[],
  args: ResourceValidationArgs,
  report: (message: string) => void,
): void {
  for (const spec of specs.filter((s) => s.type === canonicalType(args.type))) {
    const value = args.props[spec.key];
    if (typeof value !== "string") continue;
    const reasons = textViolations(value, spec.rule);
    if (reasons.length > 0) {
      report(`${describe(args)}: ${spec.key} "${value}" ${reasons.join("; ")} (${spec.rule.label}).`);
    }
  }
}

// --- tags and labels -----------------------------------------------------------------------------------
export interface TagRule {
  /** "tags" or "labels", for messages. */
  noun: string;
  maxCount: number;
  key: TextRule;
  value: TextRule;
}

/** Why a tag map breaks `rule` (one reason per offending tag, plus the count). */
export function tagViolations(tags: Props, rule: TagRule): string[] {
  const reasons: string[] = [];
  const entries = Object.entries(tags);
  if (entries.length > rule.maxCount) {
    reasons.push(`has ${entries.length} ${rule.noun}, more than ${rule.maxCount}`);
  }
  for (const [key, raw] of entries) {
    const value = typeof raw === "string" ? raw : String(raw ?? "");
    const keyReasons = textViolations(key, rule.key);
    if (keyReasons.length > 0) reasons.push(`key "${key}" ${keyReasons.join("; ")}`);
    const valueReasons = textViolations(value, rule.value);
    if (valueReasons.length > 0) reasons.push(`value of "${key}" ${valueReasons.join("; ")}`);
  }
  return reasons;
}

export function tagMap(value: unknown): Props | undefined {
  return asObject(value);
}

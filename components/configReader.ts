// Readers of raw config values, each naming the key in its error: "<key>: got <value>; allowed: <what>".
// The stack program's config (stacks/config.ts) and the artifact backends' own options (their
// `stackConfig` in artifact-backends/) read with them, so every message has the same form.

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A config object as parsed from JSON. */
export type Raw = Record<string, unknown>;

/** One documented config key, by its path below the project's namespace (`server.container.cpu`). */
export interface ConfigKeyDoc {
  key: string;
  /** What values are allowed, as the README shows it. */
  type: string;
  /** The default the validator applies, when it is a literal; checked against loadSettings by a test. */
  default?: unknown;
  /** The default in words, when it is not a literal (required, generated, the provider's, ...). */
  defaultText?: string;
  meaning: string;
  /** An object whose children are listed as keys of their own. */
  object?: boolean;
}

export function object(key: string, value: unknown, allowed: readonly string[] | undefined): Raw {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      `${key}: got ${show(value)}; allowed: an object${allowed ? ` with keys ${allowed.join(", ")}` : ""}`,
    );
  }
  if (allowed) {
    for (const name of Object.keys(value)) {
      if (!allowed.includes(name)) {
        throw new ConfigError(
          `${key}.${name}: unknown key${suggest(name, allowed)}; allowed keys: ${allowed.join(", ")}`,
        );
      }
    }
  }
  return value as Raw;
}

export function int(key: string, value: unknown, fallback: number, min: number, max: number): number {
  const v =
    value === undefined
      ? fallback
      : typeof value === "string" && /^-?\d+$/.test(value)
        ? Number(value)
        : value;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${key}: got ${show(value)}; allowed: an integer from ${min} to ${max}`);
  }
  return v;
}

export function bool(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new ConfigError(`${key}: got ${show(value)}; allowed: true or false`);
}

export function oneOf<T extends string | number>(
  key: string,
  value: unknown,
  fallback: T,
  allowed: readonly T[],
): T {
  const v = value === undefined ? fallback : value;
  const match = allowed.find((a) => a === v || String(a) === String(v));
  if (match === undefined) {
    throw new ConfigError(
      `${key}: got ${show(value)}${typeof v === "string" ? suggest(v, allowed.map(String)) : ""}; allowed: ${allowed.join(", ")}`,
    );
  }
  return match;
}

export function requiredString(key: string, value: unknown, pattern: RegExp, description: string): string {
  if (value === undefined || value === "") {
    throw new ConfigError(`${key}: missing; allowed: ${description}`);
  }
  if (typeof value !== "string" || !pattern.test(value)) {
    throw new ConfigError(`${key}: got ${show(value)}; allowed: ${description}`);
  }
  return value;
}

export function optionalString(
  key: string,
  value: unknown,
  pattern: RegExp,
  description: string,
): string | undefined {
  return value === undefined ? undefined : requiredString(key, value, pattern, description);
}

export function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/** ` (did you mean "x"?)` when a key is a likely typo of an allowed one. */
export function suggest(name: string, allowed: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4))
    ? ` (did you mean "${best}"?)`
    : "";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

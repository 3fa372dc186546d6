// Small readers over an Evaluation, so tests say what they check and not how to find it.
import * as zlib from "zlib";
import { parse as parseYaml } from "yaml";
import { SECRET_WRAPPER, type CapturedResource, type Evaluation } from "./mockRuntime";
import type { IamStatement } from "../../components/iam";
import { qualifiedTypeOf } from "../../scripts/offline/urns";

export function ofType(evaluation: Evaluation, type: string): CapturedResource[] {
  return evaluation.resources.filter((r) => r.type === type);
}

/** The one resource of a type (and name, when given); throws, naming what it found, unless exactly one. */
export function single(evaluation: Evaluation, type: string, name?: string): CapturedResource {
  const found = ofType(evaluation, type).filter((r) => name === undefined || r.name === name);
  if (found.length !== 1) {
    const names = found.map((r) => r.name).join(", ");
    throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length} [${names}]`);
  }
  return found[0];
}

/** The resources of a type whose parent is a component of `parentType`. */
export function childrenOf(evaluation: Evaluation, type: string, parentType: string): CapturedResource[] {
  return ofType(evaluation, type).filter((r) => r.parent?.type === parentType);
}

/** Whether a component of `ancestorType` is among the resource's ancestors (its URN's type chain). */
export function isUnder(resource: CapturedResource, ancestorType: string): boolean {
  return qualifiedTypeOf(resource.urn).split("$").slice(0, -1).includes(ancestorType);
}

/** The resources of a type anywhere under a component of `ancestorType`: its children, theirs, ... */
export function descendantsOf(
  evaluation: Evaluation,
  type: string,
  ancestorType: string,
): CapturedResource[] {
  return ofType(evaluation, type).filter((r) => isUnder(r, ancestorType));
}

/** The statements of a policy document given as a JSON string input. */
export function statements(policy: unknown): IamStatement[] {
  const doc = typeof policy === "string" ? JSON.parse(policy) : policy;
  return (doc as { Statement: IamStatement[] }).Statement;
}

/** Every statement of the inline policies on `role` (by its name): what the role may do, whoever granted it. */
export function roleStatements(evaluation: Evaluation, role: CapturedResource): IamStatement[] {
  return ofType(evaluation, "aws:iam/rolePolicy:RolePolicy")
    .filter((p) => p.inputs.role === role.state.name)
    .flatMap((p) => statements(p.inputs.policy));
}

export function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Every action the statements name. */
export function actionsOf(st: IamStatement[]): string[] {
  return st.flatMap((s) => asList(s.Action));
}

/** The resources of every inline role-policy statement (any effect) that names `action`. */
export function policyResourcesFor(evaluation: Evaluation, action: string): string[] {
  return ofType(evaluation, "aws:iam/rolePolicy:RolePolicy")
    .flatMap((r) => statements(r.inputs.policy))
    .filter((s) => asList(s.Action).includes(action))
    .flatMap((s) => asList(s.Resource));
}

/**
 * The one Secrets Manager secret whose name ends with `suffix`, and the value its version stores: the
 * string inside the Pulumi secret wrapper, undefined when the version stores it in plain.
 */
export function storedSecret(
  evaluation: Evaluation,
  suffix: string,
): { secret: CapturedResource; value: string | undefined } {
  const secrets = ofType(evaluation, "aws:secretsmanager/secret:Secret").filter((r) =>
    r.name.endsWith(suffix),
  );
  if (secrets.length !== 1) throw new Error(`expected one secret named *${suffix}, found ${secrets.length}`);
  const secret = secrets[0];
  const version = single(evaluation, "aws:secretsmanager/secretVersion:SecretVersion", secret.name);
  const wrapped = version.wrappedInputs.secretString as Record<string, unknown> | undefined;
  const value = typeof wrapped === "object" && wrapped !== null ? wrapped[SECRET_WRAPPER] : undefined;
  return { secret, value: typeof value === "string" ? value : undefined };
}

/** An instance's user data as text: `userDataBase64` gunzipped when gzipped, else `userData`. */
export function userDataOf(instance: CapturedResource): string {
  const encoded = instance.inputs.userDataBase64;
  if (typeof encoded !== "string") return String(instance.inputs.userData ?? "");
  const bytes = Buffer.from(encoded, "base64");
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? zlib.gunzipSync(bytes) : bytes).toString("utf8");
}

/** The files a #cloud-config writes, decoded (gzip+base64 or plain). */
export function cloudInitFiles(userData: string): Record<string, string> {
  const doc = parseYaml(userData) as { write_files?: { path: string; content: string; encoding?: string }[] };
  const files: Record<string, string> = {};
  for (const f of doc.write_files ?? []) {
    files[f.path] = /gz/.test(f.encoding ?? "")
      ? zlib.gunzipSync(Buffer.from(f.content, "base64")).toString("utf8")
      : /b64|base64/.test(f.encoding ?? "")
        ? Buffer.from(f.content, "base64").toString("utf8")
        : f.content;
  }
  return files;
}

/** Every string in a value that is not inside a secret wrapper, with its path. */
export function plainStrings(value: unknown, at = ""): { path: string; value: string }[] {
  if (typeof value === "string") return [{ path: at, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainStrings(v, `${at}[${i}]`));
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (SECRET_WRAPPER in record) return [];
    return Object.entries(record).flatMap(([k, v]) => plainStrings(v, at ? `${at}.${k}` : k));
  }
  return [];
}

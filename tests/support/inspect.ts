// Small readers over an Evaluation, so tests say what they check and not how to find it.
import * as zlib from "zlib";
import { parse as parseYaml } from "yaml";
import { SECRET_WRAPPER, type CapturedResource, type Evaluation } from "./mockRuntime";
import type { IamStatement } from "../../components/iam";

export function ofType(evaluation: Evaluation, type: string): CapturedResource[] {
  return evaluation.resources.filter((r) => r.type === type);
}

export function single(evaluation: Evaluation, type: string): CapturedResource {
  const found = ofType(evaluation, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** The statements of a policy document given as a JSON string input. */
export function statements(policy: unknown): IamStatement[] {
  const doc = typeof policy === "string" ? JSON.parse(policy) : policy;
  return (doc as { Statement: IamStatement[] }).Statement;
}

export function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
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

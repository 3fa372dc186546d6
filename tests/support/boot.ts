// Readers of the EC2 first-boot script as the cloud-config ships it (server/boot.sh via renderCloudInit).
import { parse as parseYaml } from "yaml";
import { cloudInitFiles } from "./inspect";
import { FETCHED_SERVER_FILES, FetchedServerFile, serverFileSha256 } from "../../server/render";

export const BOOT_SCRIPT = "/opt/mlflow/server/boot.sh";
export const BOOT_ENV = "/etc/mlflow/boot.env";

/** The boot script's top-level lines: continuations joined, comments and blank lines dropped, trimmed. */
export function bootCommands(userData: string): string[] {
  const script = cloudInitFiles(userData)[BOOT_SCRIPT];
  if (script === undefined) throw new Error(`the cloud-config writes no ${BOOT_SCRIPT}`);
  return script
    .replace(/\\\n\s*/g, "")
    .replace(/\|\|\n\s*/g, "|| ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

/** The cloud-config's runcmd entries. */
export function runcmdOf(userData: string): string[][] {
  return (parseYaml(userData) as { runcmd?: string[][] }).runcmd ?? [];
}

/**
 * runcmd as the script cloud-init writes and runs (`#!/bin/sh`, one line per entry; a list entry's words
 * single-quoted): cloudinit/util.py `shellify`, which cc_runcmd uses. The script has no `set -e`, and
 * its exit status is its last command's.
 */
export function runcmdScript(userData: string): string {
  const quote = (word: string) => `'${String(word).replace(/'/g, "'\\''")}'`;
  const lines = runcmdOf(userData).map((entry) =>
    Array.isArray(entry) ? entry.map(quote).join(" ") : String(entry),
  );
  return ["#!/bin/sh", ...lines, ""].join("\n");
}

/** Example S3 sources of the files boot.sh fetches (FETCHED_SERVER_FILES), with their real sha256s. */
export function exampleServerFileSources(
  bucket = "mlflow-runtime",
): Record<FetchedServerFile, { uri: string; sha256: string }> {
  return Object.fromEntries(
    (Object.keys(FETCHED_SERVER_FILES) as FetchedServerFile[]).map((file) => {
      const sha256 = serverFileSha256(file);
      return [file, { uri: `s3://${bucket}/server/${file}-${sha256}`, sha256 }];
    }),
  ) as Record<FetchedServerFile, { uri: string; sha256: string }>;
}

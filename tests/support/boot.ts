// Readers of the EC2 first-boot script as the cloud-config ships it (server/boot.sh via renderCloudInit).
import { parse as parseYaml } from "yaml";
import { cloudInitFiles } from "./inspect";

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

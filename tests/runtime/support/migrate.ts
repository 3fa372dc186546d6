// The migration tool (docs/migrating.md) for the runtime tests: its own venv from the hash-locked
// server/requirements-migrate.txt, never the server's, cached by the lock's hash like ensureVenv().
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT, runAsync, RunResult, SERVER_DIR } from "./proc";

export const MIGRATE_LOCK = path.join(SERVER_DIR, "requirements-migrate.txt");

/** A venv with exactly server/requirements-migrate.txt (hash-checked), cached under .venv-runtime/. */
export function ensureMigrateVenv(): string {
  const key = crypto.createHash("sha256").update(fs.readFileSync(MIGRATE_LOCK)).digest("hex").slice(0, 12);
  const venv = path.join(REPO_ROOT, ".venv-runtime", `migrate-${key}`);
  if (fs.existsSync(path.join(venv, ".complete"))) return venv;
  fs.rmSync(venv, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(venv), { recursive: true });
  const run = (cmd: string, args: string[]) =>
    execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"], timeout: 15 * 60_000 });
  run("python3", ["-m", "venv", venv]);
  run(path.join(venv, "bin", "pip"), ["install", "-q", "--require-hashes", "-r", MIGRATE_LOCK]);
  fs.writeFileSync(path.join(venv, ".complete"), new Date().toISOString());
  return venv;
}

/** One of the tool's console scripts (export-experiments, import-experiments, …) from its venv. */
export function migrateTool(
  venv: string,
  tool: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; timeoutMs?: number; logFile?: string },
): Promise<RunResult> {
  return runAsync(path.join(venv, "bin", tool), args, opts);
}

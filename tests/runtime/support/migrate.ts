// The migration tool (docs/migrating.md) for the runtime tests: its own venv from the hash-locked
// server/requirements-migrate.txt, never the server's, cached by the lock's hash like ensureVenv().
import * as path from "path";
import { cachedVenv, runAsync, RunResult, SERVER_DIR } from "./proc";

export const MIGRATE_LOCK = path.join(SERVER_DIR, "requirements-migrate.txt");

/** A venv with exactly server/requirements-migrate.txt (hash-checked), cached under .venv-runtime/. */
export function ensureMigrateVenv(): string {
  return cachedVenv("migrate-", [{ file: MIGRATE_LOCK, hashed: true }]);
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

// Copies of the checkout for tests that evaluate the program from elsewhere: another path, other file modes,
// or an edited server/ (node_modules is linked, not copied).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./mockRuntime";

/** What a checkout copy leaves out: installed and generated things, not the project's files. */
const SKIP = new Set(["node_modules", ".git", ".tools", ".build", "sbom", ".runtime-tmp"]);

/** A copy of the checkout under a new temporary directory, which `edit` may change before it is used. */
export function checkoutCopy(label: string, edit: (dir: string) => void = () => undefined): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`)), "checkout");
  fs.mkdirSync(dir);
  for (const entry of fs.readdirSync(ROOT)) {
    if (SKIP.has(entry) || entry.startsWith(".venv")) continue;
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  edit(dir);
  return dir;
}

/** Every file and directory below `dir` (node_modules excluded), deepest first. */
function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.name === "node_modules" || e.isSymbolicLink()) return [];
    return e.isDirectory() ? [...walk(p), p] : [p];
  });
}

/** Gives every file and directory group write, as a checkout made under umask 002 has. */
export function groupWritable(dir: string): void {
  for (const p of walk(dir)) fs.chmodSync(p, fs.statSync(p).mode | 0o020);
}

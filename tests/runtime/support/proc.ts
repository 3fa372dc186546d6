// Process, port, venv and database helpers for the runtime tests. Everything binds 127.0.0.1,
// every loop is bounded, and every process is started in its own process group and killed by it.
import { ChildProcess, execFileSync, spawn, SpawnOptions } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const SERVER_DIR = path.join(REPO_ROOT, "server");
export const PG = { host: "127.0.0.1", port: 5432, user: "postgres" };

export function tmpDir(prefix: string): string {
  // Under the system's temporary directory and open to all (0755), not inside the checkout: nginx's workers
  // run unprivileged and must reach the ACME webroot and reopen their logs here, which a checkout below a
  // private directory denies (CI clones into a fresh 0700 temporary directory).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mlflow-runtime-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/**
 * pip's own entry (version and hashes) in the hash-locked scripts/python-tools.txt. A venv's bundled pip
 * (23.2 with Python 3.11 here) misreads a dependency's `pkg[extra]` as an unpinned requirement once a newer
 * `pkg` is published (mlflow-skinny[databricks] in the migration lock, November 2026); 26.x does not.
 */
export function lockedPipRequirement(): string {
  const lock = fs.readFileSync(path.join(REPO_ROOT, "scripts", "python-tools.txt"), "utf8");
  const entry = /^pip==\S+(?: \\\n\s+--hash=sha256:[0-9a-f]{64})+/m.exec(lock);
  if (!entry) throw new Error("scripts/python-tools.txt locks no pip==<version> with hashes");
  return entry[0] + "\n";
}

/**
 * A venv under .venv-runtime/<prefix><hash of pip's pin and the requirement files>, built once: the locked
 * pip first, then `pip install -q` of each file in order (`--require-hashes` for the hash-locked ones),
 * marked complete only when all succeeded.
 */
export function cachedVenv(prefix: string, requirements: { file: string; hashed: boolean }[]): string {
  const pip = lockedPipRequirement();
  const hash = crypto.createHash("sha256").update(pip);
  for (const { file } of requirements) hash.update(fs.readFileSync(file));
  const venv = path.join(REPO_ROOT, ".venv-runtime", `${prefix}${hash.digest("hex").slice(0, 12)}`);
  if (fs.existsSync(path.join(venv, ".complete"))) return venv;
  fs.rmSync(venv, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(venv), { recursive: true });
  const run = (cmd: string, args: string[]) =>
    execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"], timeout: 15 * 60_000 });
  run("python3", ["-m", "venv", venv]);
  const pipLock = path.join(venv, "pip-requirement.txt");
  fs.writeFileSync(pipLock, pip);
  run(path.join(venv, "bin", "pip"), ["install", "-q", "--require-hashes", "-r", pipLock]);
  for (const { file, hashed } of requirements) {
    run(path.join(venv, "bin", "pip"), [
      "install",
      "-q",
      ...(hashed ? ["--require-hashes"] : []),
      "-r",
      file,
    ]);
  }
  fs.writeFileSync(path.join(venv, ".complete"), new Date().toISOString());
  return venv;
}

/** The test venv: server/requirements.txt (hash-checked) plus test-only emulators. */
export function ensureVenv(): string {
  return cachedVenv("", [
    { file: path.join(SERVER_DIR, "requirements.txt"), hashed: true },
    { file: path.join(SERVER_DIR, "requirements-test.txt"), hashed: false },
  ]);
}

/** The ACME client's venv: server/requirements-acme.txt (hash-checked), as boot.sh installs it on EC2. */
export function ensureAcmeVenv(): string {
  return cachedVenv("acme-", [{ file: path.join(SERVER_DIR, "requirements-acme.txt"), hashed: true }]);
}

const reserved = new Set<number>();
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!reserved.has(port)) {
      reserved.add(port);
      return port;
    }
  }
  throw new Error("no free port");
}

export interface Proc {
  child: ChildProcess;
  name: string;
  output: () => string;
  exited: Promise<number | null>;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

const running = new Set<Proc>();

/** Start a process in its own process group; output is kept (last 200 kB) and in logFile. */
export function startProcess(
  name: string,
  cmd: string,
  args: string[],
  opts: SpawnOptions & { logFile?: string } = {},
): Proc {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let buf = "";
  const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: "a" }) : undefined;
  const onData = (d: Buffer) => {
    buf = (buf + d.toString()).slice(-200_000);
    log?.write(d);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once("error", (e) => {
      buf += String(e);
      resolve(-1);
    });
  });
  const proc: Proc = {
    child,
    name,
    output: () => buf,
    exited,
    kill: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.pid === undefined) return;
      const group = -child.pid;
      try {
        process.kill(group, signal);
      } catch {
        // already gone
      }
      const done = await withinMs(exited, 10_000);
      try {
        process.kill(group, "SIGKILL"); // whatever is left of the group
      } catch {
        // group empty
      }
      if (!done) await withinMs(exited, 5_000);
      running.delete(proc);
      log?.end();
    },
  };
  running.add(proc);
  return proc;
}

export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether `promise` settles within `ms`; the timer is cleared either way, so it never outlives the test. */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll until fn() is truthy, at most timeoutMs; fails with the given process output. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  proc?: Proc,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) {
      throw new Error(
        `${what}: ${proc.name} exited with ${proc.child.exitCode}:\n${proc.output().slice(-4000)}`,
      );
    }
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      // not yet
    }
    await sleep(250);
  }
  throw new Error(`${what}: timed out after ${timeoutMs} ms${proc ? `\n${proc.output().slice(-4000)}` : ""}`);
}

export async function httpStatus(url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
}

export function psql(db: string, sql: string): string {
  return execFileSync(
    "psql",
    ["-h", PG.host, "-p", String(PG.port), "-U", PG.user, "-d", db, "-XAtqc", sql],
    { encoding: "utf8", timeout: 30_000 },
  ).trim();
}

export function createDb(prefix: string): string {
  const name = `${prefix}_${process.pid}_${crypto.randomBytes(4).toString("hex")}`;
  execFileSync("createdb", ["-h", PG.host, "-p", String(PG.port), "-U", PG.user, name], { timeout: 30_000 });
  return name;
}

export function dropDb(name: string): void {
  execFileSync(
    "dropdb",
    ["-h", PG.host, "-p", String(PG.port), "-U", PG.user, "--force", "--if-exists", name],
    {
      timeout: 30_000,
    },
  );
}

export function dbUri(name: string): string {
  return `postgresql://${PG.user}@${PG.host}:${PG.port}/${name}`;
}

export function pythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // A minimal environment: no cloud keys or endpoints leak from the test runner.
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: os.tmpdir(), LANG: "C.UTF-8", ...extra };
}

/** GET with exact headers (fetch() does not let a caller set Host). */
export function rawGetStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: 10_000, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

export interface RunResult {
  status: number | null;
  stdout: string;
  output: string;
}

/**
 * Run a command with only `env` (plus PATH, HOME, LANG), killed with its process group after `timeoutMs`.
 * Asynchronous on purpose: while a synchronous child runs, node drains no pipe, so a server started with
 * startProcess() that logs more than a pipe holds (64 kB) blocks on its log and never answers the child.
 */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; timeoutMs?: number; logFile?: string },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: pythonEnv(opts.env),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${opts.timeoutMs ?? 300_000} ms]`;
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
    }, opts.timeoutMs ?? 300_000);
    const done = (status: number | null) => {
      clearTimeout(timer);
      if (opts.logFile) fs.writeFileSync(opts.logFile, output);
      resolve({ status, stdout, output });
    };
    child.once("error", (e) => {
      output += String(e);
      done(-1);
    });
    child.once("close", (code) => done(code));
  });
}

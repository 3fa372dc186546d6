// Tracking throughput benchmark (npm run bench:server). Not a test: it prints numbers, and exits non-zero
// when any request failed, after listing every failure by kind (HTTP status, timeout, connection reset or
// refused, other).
// Starts the server as the stack runs it (server/start.sh, basic auth, S3 artifacts via moto) and,
// in the same run, `mlflow server` with MLflow's defaults (only backend + artifact flags), then has
// CLIENTS concurrent clients send REQUESTS log-batch calls each (METRICS metrics per batch), ROUNDS times
// per configuration. While a round makes no progress for STALL_MS it prints what the database sessions
// and the server's connections are doing (the evidence that found the pool deadlock, BENCHMARKS.md).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_WORKERS } from "../server/render";
import {
  createDb,
  dbUri,
  dropDb,
  ensureVenv,
  freePort,
  httpStatus,
  killAll,
  PG,
  pythonEnv,
  runAsync,
  startProcess,
  tmpDir,
  waitFor,
} from "../tests/runtime/support/proc";
import {
  baseConfig,
  basicAuth,
  directSecrets,
  startEmulator,
  startServer,
} from "../tests/runtime/support/stack";

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 50); // per client
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1); // per configuration, same server
const METRICS = 10;
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 30_000);
const STALL_MS = Number(process.env.BENCH_STALL_MS ?? 5_000);
const WORKER_VARIANTS = (process.env.BENCH_WORKERS ?? `${DEFAULT_WORKERS},4`).split(",").map(Number);
const SKIP_DEFAULTS = process.env.BENCH_SKIP_DEFAULTS === "1";
// Another start.sh (e.g. an older commit's, beside its runtime_helper.py) to compare against.
const START_SCRIPT = process.env.BENCH_START_SCRIPT;

type FailureKind = "http" | "timeout" | "reset" | "refused" | "other";

interface Failure {
  kind: FailureKind;
  /** e.g. "HTTP 500", "ECONNRESET", "TimeoutError" */
  detail: string;
  /** seconds since the round started */
  at: number;
  client: number;
  request: number;
}

interface Round {
  ok: number;
  failures: Failure[];
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  stalls: string[];
}

interface Result {
  name: string;
  rounds: Round[];
  /** Server log lines that explain failures (pool timeouts, tracebacks), counted by message. */
  serverErrors: Map<string, number>;
}

class HttpError extends Error {
  /** The server's error message, ids and numbers that differ per request removed, so failures group. */
  readonly reason: string;
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP ${status} ${body.slice(0, 200)}`);
    let message = body;
    try {
      message = String((JSON.parse(body) as { message?: string }).message ?? body);
    } catch {
      // not JSON
    }
    this.reason = message
      .replace(/[0-9a-f]{32}/g, "<id>")
      .replace(/\s+/g, " ")
      .slice(0, 160);
  }
}

const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
const REFUSED_CODES = new Set(["ECONNREFUSED"]);

/** The kind of a failed fetch: undici reports socket errors as TypeError("fetch failed") with a cause. */
function classify(e: unknown): { kind: FailureKind; detail: string } {
  if (e instanceof HttpError) return { kind: "http", detail: `HTTP ${e.status} ${e.reason}` };
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError") return { kind: "timeout", detail: `no response in ${TIMEOUT_MS} ms` };
  const code = err?.cause?.code ?? (e as { code?: string })?.code;
  if (code && RESET_CODES.has(code))
    return { kind: "reset", detail: `${code} ${err.cause?.message ?? ""}`.trim() };
  if (code && REFUSED_CODES.has(code)) return { kind: "refused", detail: code };
  return {
    kind: "other",
    detail: `${err?.name ?? "Error"}: ${err?.message ?? String(e)}${code ? ` (${code})` : ""}`,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** What the database sessions of `db` and the server's client connections are doing right now. */
async function stallSnapshot(db: string, port: number): Promise<string> {
  const sql =
    "SELECT coalesce(state,'-') || ' ' || coalesce(wait_event_type || ':' || wait_event, '') || ' x' || count(*) " +
    `FROM pg_stat_activity WHERE datname = '${db}' GROUP BY state, wait_event_type, wait_event ORDER BY 1`;
  const pg = await runAsync(
    "psql",
    ["-h", PG.host, "-p", String(PG.port), "-U", PG.user, "-d", "postgres", "-XAtqc", sql],
    { cwd: os.tmpdir(), env: {}, timeoutMs: 10_000 },
  );
  // Established connections to the server port, per accepting process (which uvicorn worker holds them).
  const ss = await runAsync("ss", ["-Htnp", "state", "established", `( sport = :${port} )`], {
    cwd: os.tmpdir(),
    env: {},
    timeoutMs: 10_000,
  });
  const perPid = new Map<string, number>();
  for (const line of ss.stdout.split("\n").filter(Boolean)) {
    const pid = /pid=(\d+)/.exec(line)?.[1] ?? "?";
    perPid.set(pid, (perPid.get(pid) ?? 0) + 1);
  }
  const conns = [...perPid].map(([pid, n]) => `pid ${pid}: ${n}`).join(", ") || "none";
  return `db sessions [${pg.stdout.trim().split("\n").join("; ")}]; server connections [${conns}]`;
}

type Post = (p: string, body: unknown) => Promise<Record<string, unknown>>;

/** One experiment and one run per client, created one after another. */
async function createRuns(post: Post): Promise<string[]> {
  const { experiment_id } = (await post("experiments/create", {
    name: `bench-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
  })) as { experiment_id: string };
  const runIds: string[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const r = (await post("runs/create", { experiment_id, start_time: Date.now() })) as {
      run: { info: { run_id: string } };
    };
    runIds.push(r.run.info.run_id);
  }
  return runIds;
}

async function load(name: string, url: string, auth: boolean, db: string, port: number): Promise<Round> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (auth) headers.Authorization = basicAuth();
  const post: Post = async (p, body) => {
    const res = await fetch(`${url}/api/2.0/mlflow/${p}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status !== 200) throw new HttpError(res.status, text);
    return JSON.parse(text) as Record<string, unknown>;
  };
  let runIds: string[];
  try {
    runIds = await createRuns(post);
  } catch (e) {
    // The round cannot run; its setup failure is reported like any other (client -1).
    const failure = {
      ...classify(e),
      detail: `setup: ${classify(e).detail}`,
      at: 0,
      client: -1,
      request: -1,
    };
    return { ok: 0, failures: [failure], seconds: 0, rps: 0, p50: NaN, p95: NaN, stalls: [] };
  }
  const latencies: number[] = [];
  const failures: Failure[] = [];
  const stalls: string[] = [];
  const started = performance.now();
  let lastProgress = started;
  let stalled = false;
  const watchdog = setInterval(() => {
    if (stalled || performance.now() - lastProgress < STALL_MS) return;
    stalled = true;
    const at = ((performance.now() - started) / 1000).toFixed(1);
    void stallSnapshot(db, port).then((s) => {
      const line = `${name}: no response for ${STALL_MS} ms at ${at} s: ${s}`;
      stalls.push(line);
      console.error(line);
    });
  }, 500);
  await Promise.all(
    runIds.map(async (runId, client) => {
      for (let i = 0; i < REQUESTS; i++) {
        const metrics = Array.from({ length: METRICS }, (_, k) => ({
          key: `m${k}`,
          value: Math.random(),
          timestamp: Date.now(),
          step: i,
        }));
        const t0 = performance.now();
        try {
          await post("runs/log-batch", { run_id: runId, metrics });
          latencies.push(performance.now() - t0);
        } catch (e) {
          const at = (performance.now() - started) / 1000;
          failures.push({ ...classify(e), at, client, request: i });
        }
        lastProgress = performance.now();
        stalled = false;
      }
    }),
  );
  clearInterval(watchdog);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    ok: latencies.length,
    failures,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    stalls,
  };
}

/** Lines of the server log that name a cause (pool exhaustion, tracebacks' last line), counted. */
function serverErrors(logFile: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!fs.existsSync(logFile)) return counts;
  for (const line of fs.readFileSync(logFile, "utf8").split("\n")) {
    const m =
      /(QueuePool limit[^,]*, connection timed out, timeout [\d.]+)|(\w+(Error|Exception): .{0,120})/.exec(
        line,
      );
    if (!m) continue;
    const key = m[0].replace(/[0-9a-f]{32}/g, "<id>");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

async function rounds(name: string, url: string, auth: boolean, db: string, port: number): Promise<Round[]> {
  const out: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = await load(name, url, auth, db, port);
    console.error(
      `${name} round ${r + 1}/${ROUNDS}: ${round.ok} ok, ${round.failures.length} failed, ${round.rps.toFixed(1)} req/s`,
    );
    out.push(round);
  }
  return out;
}

async function benchDefaults(
  venv: string,
  dir: string,
  moto: { destination: string; serverEnv: Record<string, string> },
  dbs: string[],
): Promise<Result> {
  const db = createDb("bench_default");
  dbs.push(db);
  const port = await freePort();
  const logFile = path.join(dir, "default.log");
  const proc = startProcess(
    "mlflow-default",
    path.join(venv, "bin", "mlflow"),
    [
      "server",
      "--backend-store-uri",
      dbUri(db).replace("postgresql://", "postgresql+psycopg2://"),
      "--artifacts-destination",
      moto.destination,
      "--port",
      String(port),
    ],
    { cwd: dir, env: pythonEnv(moto.serverEnv), logFile },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor("default server", async () => (await httpStatus(`${url}/health`)) === 200, 180_000, proc);
  const name = "mlflow defaults (4 workers, no auth)";
  const result = { name, rounds: await rounds(name, url, false, db, port), serverErrors: new Map() };
  await proc.kill();
  result.serverErrors = serverErrors(logFile);
  return result;
}

async function benchStack(
  venv: string,
  dir: string,
  moto: { destination: string; serverEnv: Record<string, string> },
  dbs: string[],
  workers: number,
): Promise<Result> {
  const db = createDb("bench_stack");
  dbs.push(db);
  const port = await freePort();
  const server = await startServer({
    venv,
    dir,
    name: `stack-w${workers}`,
    startScript: START_SCRIPT,
    config: baseConfig(moto.destination, port, { workers }),
    env: { ...directSecrets(dbUri(db)), ...moto.serverEnv },
  });
  const name = `stack start.sh (${workers} workers, basic auth)`;
  const result = { name, rounds: await rounds(name, server.url, true, db, port), serverErrors: new Map() };
  await server.proc.kill();
  result.serverErrors = serverErrors(path.join(dir, `stack-w${workers}-${port}.log`));
  return result;
}

function machine(): string {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? "CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, load average ${load}`;
}

function report(results: Result[], machineAtStart: string): number {
  console.log(
    `\n${CLIENTS} clients x ${REQUESTS} log-batch calls (${METRICS} metrics each), ${ROUNDS} round(s) per configuration`,
  );
  console.log(`machine: ${machineAtStart} at start; ${machine()} at end\n`);
  console.log(
    "| configuration | rounds | ok | failed | req/s (median) | p50 ms (median) | p95 ms (median) |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    const ok = r.rounds.reduce((n, x) => n + x.ok, 0);
    const failed = r.rounds.reduce((n, x) => n + x.failures.length, 0);
    // Rounds whose setup failed measured nothing: medians over the others.
    const measured = r.rounds.filter((x) => x.ok > 0);
    const med = (f: (x: Round) => number) => median(measured.map(f)).toFixed(0);
    console.log(
      `| ${r.name} | ${r.rounds.length} | ${ok} | ${failed} | ${median(measured.map((x) => x.rps)).toFixed(1)} | ${med((x) => x.p50)} | ${med((x) => x.p95)} |`,
    );
  }
  const base = results.find((r) => r.name.startsWith("mlflow defaults"));
  for (const r of results.filter((x) => x !== base && base)) {
    const rps = (x: Result) => median(x.rounds.filter((y) => y.ok > 0).map((y) => y.rps));
    const p95 = (x: Result) => median(x.rounds.filter((y) => y.ok > 0).map((y) => y.p95));
    console.log(
      `ratio ${r.name} / defaults: throughput x${(rps(r) / rps(base as Result)).toFixed(2)}, p95 x${(p95(r) / p95(base as Result)).toFixed(2)}`,
    );
  }
  let total = 0;
  for (const r of results) {
    r.rounds.forEach((round, i) => {
      if (round.failures.length === 0) return;
      total += round.failures.length;
      console.log(`\nFAILED: ${r.name}, round ${i + 1}: ${round.failures.length} request(s)`);
      const byKind = new Map<string, Failure[]>();
      for (const f of round.failures) {
        const key = `${f.kind}: ${f.detail}`;
        byKind.set(key, [...(byKind.get(key) ?? []), f]);
      }
      for (const [key, fs] of byKind) {
        const at = fs.map((f) => f.at);
        const clients = new Set(fs.map((f) => f.client)).size;
        console.log(
          `  ${fs.length} x ${key} (${clients} client(s), at ${Math.min(...at).toFixed(1)}-${Math.max(...at).toFixed(1)} s)`,
        );
      }
      round.stalls.forEach((s) => console.log(`  stall: ${s}`));
    });
    if (r.rounds.some((x) => x.failures.length > 0) && r.serverErrors.size > 0) {
      console.log(`  server log (${r.name}):`);
      for (const [line, n] of r.serverErrors) console.log(`    ${n} x ${line}`);
    }
  }
  if (total > 0) console.log(`\n${total} request(s) failed: exit 1`);
  return total;
}

async function main(): Promise<void> {
  const venv = ensureVenv();
  const dir = tmpDir("bench");
  const machineAtStart = machine();
  const moto = await startEmulator(venv, "s3", dir);
  const dbs: string[] = [];
  const results: Result[] = [];
  try {
    // MLflow defaults: only the backend and artifact flags, no auth, 4 uvicorn workers, default pool.
    if (!SKIP_DEFAULTS) results.push(await benchDefaults(venv, dir, moto, dbs));
    for (const workers of WORKER_VARIANTS) results.push(await benchStack(venv, dir, moto, dbs, workers));
  } finally {
    await killAll();
    dbs.forEach(dropDb);
  }
  if (report(results, machineAtStart) > 0) process.exitCode = 1;
}

main().catch(async (e) => {
  console.error(e);
  await killAll();
  process.exit(1);
});

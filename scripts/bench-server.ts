// Tracking throughput benchmark (npm run bench:server). Not a test: it prints numbers.
// Starts the server as the stack runs it (server/start.sh, basic auth, S3 artifacts via moto) and,
// in the same run, `mlflow server` with MLflow's defaults (only backend + artifact flags), then has
// CLIENTS concurrent clients send REQUESTS log-batch calls each (METRICS metrics per batch).
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
  pythonEnv,
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
const METRICS = 10;
const WORKER_VARIANTS = (process.env.BENCH_WORKERS ?? `${DEFAULT_WORKERS},4`).split(",").map(Number);

interface Result {
  name: string;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
}

async function load(name: string, url: string, auth: boolean): Promise<Result> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (auth) headers.Authorization = basicAuth();
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${url}/api/2.0/mlflow/${p}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const { experiment_id } = (await post("experiments/create", { name: `bench-${Date.now()}` })) as {
    experiment_id: string;
  };
  const runIds: string[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const r = (await post("runs/create", { experiment_id, start_time: Date.now() })) as {
      run: { info: { run_id: string } };
    };
    runIds.push(r.run.info.run_id);
  }
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    runIds.map(async (runId) => {
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
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    name,
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: pct(50),
    p95: pct(95),
  };
}

async function main(): Promise<void> {
  const venv = ensureVenv();
  const dir = tmpDir("bench");
  const moto = await startEmulator(venv, "s3", dir);
  const dbs: string[] = [];
  const results: Result[] = [];
  try {
    // MLflow defaults: only the backend and artifact flags, no auth, 4 uvicorn workers, default pool.
    {
      const db = createDb("bench_default");
      dbs.push(db);
      const port = await freePort();
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
        { cwd: dir, env: pythonEnv(moto.serverEnv), logFile: path.join(dir, "default.log") },
      );
      const url = `http://127.0.0.1:${port}`;
      await waitFor("default server", async () => (await httpStatus(`${url}/health`)) === 200, 180_000, proc);
      results.push(await load("mlflow defaults (4 workers, no auth)", url, false));
      await proc.kill();
    }
    for (const workers of WORKER_VARIANTS) {
      const db = createDb("bench_stack");
      dbs.push(db);
      const port = await freePort();
      const server = await startServer({
        venv,
        dir,
        name: `stack-w${workers}`,
        config: baseConfig(moto.destination, port, { workers }),
        env: { ...directSecrets(dbUri(db)), ...moto.serverEnv },
      });
      results.push(await load(`stack start.sh (${workers} workers, basic auth)`, server.url, true));
      await server.proc.kill();
    }
  } finally {
    await killAll();
    dbs.forEach(dropDb);
  }
  console.log(
    `\n${CLIENTS} clients x ${REQUESTS} log-batch calls (${METRICS} metrics each), ${os.cpus().length} CPUs\n`,
  );
  console.log("| configuration | ok | errors | req/s | p50 ms | p95 ms |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.requests} | ${r.errors} | ${r.rps.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p95.toFixed(0)} |`,
    );
  }
  const base = results[0];
  for (const r of results.slice(1)) {
    console.log(
      `ratio ${r.name} / defaults: throughput x${(r.rps / base.rps).toFixed(2)}, p95 x${(r.p95 / base.p95).toFixed(2)}`,
    );
  }
}

main().catch(async (e) => {
  console.error(e);
  await killAll();
  process.exit(1);
});

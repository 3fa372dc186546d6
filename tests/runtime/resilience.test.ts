// Several servers against one empty database migrate exactly once; a SIGKILLed server is restarted
// (the test is the supervisor, as systemd Restart=always would be) and no acknowledged write is lost; more
// concurrent writes than a worker's database pool holds do not deadlock it.
import { execFileSync } from "child_process";
import * as path from "path";
import {
  createDb,
  dbUri,
  dropDb,
  ensureVenv,
  freePort,
  killAll,
  psql,
  pythonEnv,
  rawGetStatus,
  sleep,
  tmpDir,
  waitFor,
} from "./support/proc";
import { baseConfig, basicAuth, directSecrets, Emulator, startEmulator, startServer } from "./support/stack";

jest.setTimeout(600_000);

let venv: string;
let dir: string;
let moto: Emulator;
const dbs: string[] = [];
beforeAll(async () => {
  venv = ensureVenv();
  dir = tmpDir("resilience");
  moto = await startEmulator(venv, "s3", dir);
});
afterAll(async () => {
  await killAll();
  dbs.forEach(dropDb);
});

function heads(): { tracking: string; auth: string } {
  const code =
    "import json;from mlflow.store.db.utils import _get_latest_schema_revision as t;" +
    "from alembic.script import ScriptDirectory;from mlflow.server.auth.db.utils import _get_alembic_config as c;" +
    "print(json.dumps({'tracking': t(), 'auth': ScriptDirectory.from_config(c('')).get_current_head()}))";
  return JSON.parse(
    execFileSync(path.join(venv, "bin", "python"), ["-c", code], { env: pythonEnv(), encoding: "utf8" }),
  );
}

test("three servers started at once against one empty database all become healthy; schema at head", async () => {
  const db = createDb("rt_race");
  dbs.push(db);
  const ports = [await freePort(), await freePort(), await freePort()];
  const servers = await Promise.all(
    ports.map((port, i) =>
      startServer({
        venv,
        dir,
        name: `race${i}`,
        config: baseConfig(moto.destination, port, { workers: 1 }),
        env: { ...directSecrets(dbUri(db)), ...moto.serverEnv },
      }),
    ),
  );
  const head = heads();
  expect(psql(db, "SELECT version_num FROM alembic_version")).toBe(head.tracking);
  expect(psql(db, "SELECT version_num FROM alembic_version_auth")).toBe(head.auth);
  expect(psql(db, "SELECT count(*) FROM users")).toBe("1");
  for (const s of servers) {
    const url = `${s.url}/api/2.0/mlflow/experiments/search?max_results=1`;
    expect(await rawGetStatus(url, { Authorization: basicAuth() })).toBe(200);
  }
  const logs = servers.map((s) => s.proc.output());
  expect(logs.filter((l) => l.includes("Creating initial MLflow database tables")).length).toBe(1);
  await Promise.all(servers.map((s) => s.proc.kill()));
});

test("a server killed with SIGKILL during a burst of logging is restarted; no acknowledged run is lost", async () => {
  const db = createDb("rt_kill");
  dbs.push(db);
  const port = await freePort();
  const opts = {
    venv,
    dir,
    name: "kill",
    config: baseConfig(moto.destination, port, { workers: 2 }),
    env: { ...directSecrets(dbUri(db)), ...moto.serverEnv },
  };
  let server = await startServer(opts);
  const api = `${server.url}/api/2.0/mlflow`;
  const headers = { Authorization: basicAuth(), "Content-Type": "application/json" };
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${api}/${p}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) throw new Error(`${p}: ${res.status}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const { experiment_id } = (await post("experiments/create", { name: "burst" })) as {
    experiment_id: string;
  };

  const acknowledged: string[] = [];
  let failures = 0;
  let stop = false;
  const deadline = Date.now() + 120_000;
  const burst = (async () => {
    for (let i = 0; i < 400 && !stop && Date.now() < deadline; i++) {
      try {
        const r = (await post("runs/create", {
          experiment_id,
          start_time: Date.now(),
          run_name: `r${i}`,
        })) as {
          run: { info: { run_id: string } };
        };
        await post("runs/log-batch", {
          run_id: r.run.info.run_id,
          metrics: [{ key: "m", value: i, timestamp: Date.now(), step: i }],
          params: [{ key: "i", value: String(i) }],
        });
        acknowledged.push(r.run.info.run_id);
      } catch {
        failures++;
        await sleep(250);
      }
    }
  })();

  const killedAfter = await (async () => {
    for (let t = 0; t < 400 && acknowledged.length < 40; t++) await sleep(50);
    return acknowledged.length;
  })();
  expect(killedAfter).toBeGreaterThanOrEqual(10);
  await server.proc.kill("SIGKILL");
  await sleep(1000); // systemd RestartSec
  server = await startServer(opts); // the supervisor restarts it
  for (let t = 0; t < 600 && acknowledged.length < killedAfter + 40; t++) await sleep(50);
  stop = true;
  await burst;

  expect(failures).toBeGreaterThan(0); // the kill really interrupted the burst
  expect(acknowledged.length).toBeGreaterThan(killedAfter);
  const stored = new Set(
    psql(db, "SELECT r.run_uuid FROM runs r JOIN metrics m ON m.run_uuid = r.run_uuid").split("\n"),
  );
  const lost = acknowledged.filter((id) => !stored.has(id));
  expect(lost).toEqual([]);
});

test("more concurrent log-batch calls than one worker's pool holds connections all succeed, without a 30 s stall", async () => {
  // A small pool (2 + 2) and twice as many clients as connections: before start.sh capped a worker's
  // request threads below its pool, every call held one connection and waited for a second one (MLflow's
  // log_batch nests sessions) until the pool's 30 s timeout.
  const db = createDb("rt_pool");
  dbs.push(db);
  const port = await freePort();
  const server = await startServer({
    venv,
    dir,
    name: "pool",
    config: baseConfig(moto.destination, port, { workers: 1, pool: { size: 2, maxOverflow: 2 } }),
    env: { ...directSecrets(dbUri(db)), ...moto.serverEnv },
  });
  const headers = { Authorization: basicAuth(), "Content-Type": "application/json" };
  const post = async (p: string, body: unknown, timeoutMs: number) => {
    const res = await fetch(`${server.url}/api/2.0/mlflow/${p}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const { experiment_id } = (await post("experiments/create", { name: "pool" }, 30_000)) as {
    experiment_id: string;
  };
  const clients = 8;
  const calls = 15;
  const runIds: string[] = [];
  for (let c = 0; c < clients; c++) {
    const r = (await post("runs/create", { experiment_id, start_time: Date.now() }, 30_000)) as {
      run: { info: { run_id: string } };
    };
    runIds.push(r.run.info.run_id);
  }
  const failures: string[] = [];
  const started = Date.now();
  await Promise.all(
    runIds.map(async (run_id) => {
      for (let i = 0; i < calls && failures.length === 0; i++) {
        const metrics = [{ key: "m", value: i, timestamp: Date.now(), step: i }];
        // Far below the pool's 30 s timeout: a stalled call fails here instead of waiting it out.
        await post("runs/log-batch", { run_id, metrics }, 20_000).catch((e: Error) =>
          failures.push(e.message),
        );
      }
    }),
  );
  expect(failures).toEqual([]);
  expect(Date.now() - started).toBeLessThan(120_000);
  expect(psql(db, "SELECT count(*) FROM metrics")).toBe(String(clients * calls));
  expect(server.proc.output()).toContain("at most 3 requests at once");
  await server.proc.kill();
});

test("a worker that cannot run for 8 s (CPU-starved) is not killed by uvicorn's supervisor; a request sent meanwhile is served", async () => {
  const db = createDb("rt_starved");
  dbs.push(db);
  const port = await freePort();
  const server = await startServer({
    venv,
    dir,
    name: "starved",
    // With one worker uvicorn runs no supervisor; with two it pings each.
    config: baseConfig(moto.destination, port, { workers: 2 }),
    env: { ...directSecrets(dbUri(db)), ...moto.serverEnv },
  });
  await waitFor(
    "both workers",
    async () => server.proc.output().match(/mlflow-worker\[/g)?.length === 2,
    60_000,
  );
  const pid = Number(/mlflow-worker\[(\d+)\]/.exec(server.proc.output())?.[1]);
  expect(pid).toBeGreaterThan(0);
  process.kill(pid, "SIGSTOP"); // not scheduled at all: no ping answered, as on a starved box
  const pending = fetch(`${server.url}/api/2.0/mlflow/experiments/create`, {
    method: "POST",
    headers: { Authorization: basicAuth(), "Content-Type": "application/json" },
    body: JSON.stringify({ name: "starved" }),
    signal: AbortSignal.timeout(20_000),
  });
  await sleep(8_000);
  process.kill(pid, "SIGCONT");
  expect((await pending).status).toBe(200);
  expect(server.proc.output()).not.toContain(`Child process [${pid}] died`);
  expect(() => process.kill(pid, 0)).not.toThrow();
  await server.proc.kill();
});

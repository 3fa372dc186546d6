// Garbage collection of deleted runs (`start.sh gc`, what the weekly systemd timer and the weekly ECS task
// run), for real: a start.sh server on PostgreSQL with moto S3, a client that logs and soft-deletes a run,
// then gc purges that run's row and artifacts and leaves the live run alone.
import { spawnSync } from "child_process";
import { execFileSync } from "child_process";
import * as path from "path";
import {
  createDb,
  dbUri,
  dropDb,
  ensureVenv,
  killAll,
  psql,
  pythonEnv,
  SERVER_DIR,
  tmpDir,
} from "./support/proc";
import {
  ADMIN,
  Backend,
  baseConfig,
  directSecrets,
  Emulator,
  Server,
  startEmulator,
  startServer,
} from "./support/stack";
import { freePort } from "./support/proc";
import { azureSasConnection } from "./support/azureSas";

jest.setTimeout(600_000);

interface LoggedRun {
  run_id: string;
  artifact_uri: string;
}

let venv: string;
let dir: string;
let moto: Emulator;
let server: Server;
let db: string;
const dbs: string[] = [];

beforeAll(async () => {
  venv = ensureVenv();
  dir = tmpDir("gc");
  moto = await startEmulator(venv, "s3", dir);
  db = createDb("rt_gc");
  dbs.push(db);
  const port = await freePort();
  server = await startServer({
    venv,
    dir,
    config: baseConfig(moto.destination, port),
    env: { ...moto.serverEnv, ...directSecrets(dbUri(db)) },
    name: "gc",
  });
});
afterAll(async () => {
  await killAll();
  dbs.forEach(dropDb);
});

/** `start.sh gc` (or other arguments) with the given environment; a runtime directory of its own. */
function startSh(
  env: Record<string, string>,
  args: string[] = ["gc"],
): { code: number | null; output: string } {
  const r = spawnSync(path.join(SERVER_DIR, "start.sh"), args, {
    env: { ...pythonEnv(), ...env, MLFLOW_VENV: venv, MLFLOW_RUNTIME_DIR: path.join(dir, "gc-runtime") },
    encoding: "utf8",
    timeout: 180_000,
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The server's environment without what only serving needs (auth secrets, hosts). */
function gcOnlyEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...server.env, ...extra };
  for (const name of [
    "MLFLOW_AUTH_ADMIN_PASSWORD",
    "MLFLOW_FLASK_SERVER_SECRET_KEY",
    "MLFLOW_SERVER_ALLOWED_HOSTS",
    "MLFLOW_AUTH_ADMIN_USERNAME",
  ]) {
    delete env[name];
  }
  return env;
}

const runRows = (runId: string) => Number(psql(db, `SELECT count(*) FROM runs WHERE run_uuid = '${runId}'`));
const objectsOf = (runId: string) => moto.listObjects().filter((key) => key.includes(`/${runId}/`));

test("gc purges a deleted run's row and artifacts after the retention, and nothing else", () => {
  const out = execFileSync(
    path.join(venv, "bin", "python"),
    [path.join(__dirname, "support", "gc_fixture.py"), "gc-test"],
    {
      env: pythonEnv({
        MLFLOW_TRACKING_URI: server.url,
        MLFLOW_TRACKING_USERNAME: ADMIN.username,
        MLFLOW_TRACKING_PASSWORD: ADMIN.password,
      }),
      encoding: "utf8",
      timeout: 180_000,
    },
  );
  const { live, deleted } = JSON.parse(out.trim().split("\n").pop() as string) as {
    live: LoggedRun;
    deleted: LoggedRun;
  };
  // Proxied artifacts: the runs' URIs name no bucket; the objects are under the destination's prefix.
  expect(deleted.artifact_uri).toMatch(/^mlflow-artifacts:/);
  expect(objectsOf(deleted.run_id)).toEqual([
    `mlflow/${live.artifact_uri.split("/")[1]}/${deleted.run_id}/artifacts/docs/deleted.txt`,
  ]);
  expect(objectsOf(live.run_id)).toHaveLength(1);
  expect(psql(db, `SELECT lifecycle_stage FROM runs WHERE run_uuid = '${deleted.run_id}'`)).toBe("deleted");

  // The deployed default (30 days, from renderServerEnvironment): a run deleted just now stays.
  expect(server.env.MLFLOW_GC_OLDER_THAN).toBe("30d");
  const kept = startSh(gcOnlyEnv());
  expect(kept.output).toMatch(/deleted more than 30d ago/);
  expect(kept.output).toMatch(/gc done: 0 deleted run\(s\) purged, 1 within the retention kept/);
  expect(kept.code).toBe(0);
  expect(runRows(deleted.run_id)).toBe(1);
  expect(objectsOf(deleted.run_id)).toHaveLength(1);

  // Retention 0: the deleted run goes, metadata and artifacts; the live one stays. Same env as the server.
  const purged = startSh({ ...server.env, MLFLOW_GC_OLDER_THAN: "0s" });
  expect(purged.output).toMatch(new RegExp(`Run with ID ${deleted.run_id} has been permanently deleted`));
  expect(purged.output).toMatch(/gc done: 1 deleted run\(s\) purged, 0 within the retention kept/);
  expect(purged.code).toBe(0);
  expect(runRows(deleted.run_id)).toBe(0);
  expect(objectsOf(deleted.run_id)).toEqual([]);
  expect(runRows(live.run_id)).toBe(1);
  expect(objectsOf(live.run_id)).toHaveLength(1);
  // The database URI (and the name of the database in it) never reaches the log.
  expect(purged.output).not.toContain(`/${db}`);
});

test("gc on a database the server has not set up yet does nothing and creates nothing", () => {
  const fresh = createDb("rt_gc_fresh");
  dbs.push(fresh);
  const r = startSh(gcOnlyEnv({ MLFLOW_BACKEND_STORE_URI: dbUri(fresh), MLFLOW_GC_OLDER_THAN: "0s" }));
  expect(r.output).toMatch(/has not created the tracking schema yet/);
  expect(r.code).toBe(0);
  expect(psql(fresh, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")).toBe(
    "0",
  );
});

test.each([
  ["a bad retention", { MLFLOW_GC_OLDER_THAN: "30 days" }, /MLFLOW_GC_OLDER_THAN must be a duration/],
  ["no backend URI", { MLFLOW_BACKEND_STORE_URI: "" }, /MLFLOW_BACKEND_STORE_URI is not set/],
  ["no destination", { MLFLOW_ARTIFACTS_DESTINATION: "" }, /MLFLOW_ARTIFACTS_DESTINATION is not set/],
  ["a sqlite backend", { MLFLOW_BACKEND_STORE_URI: "sqlite:///x.db" }, /must be a postgresql:\/\/ URI/],
])("start.sh gc fails fast on %s", (_name, patch, message) => {
  const r = startSh(gcOnlyEnv(patch));
  expect(r.code).toBe(64);
  expect(r.output).toMatch(message);
});

test("start.sh refuses an unknown mode", () => {
  const r = startSh(server.env, ["collect"]);
  expect(r.code).toBe(64);
  expect(r.output).toMatch(/usage: start\.sh \[gc\]/);
});

// Runs that logged no artifact (sweeps, failed runs) are the usual case; MLflow's Azure repository raised on
// them and the whole gc stopped there, every week, leaving deleted experiments' names reserved.
describe.each<Backend>(["s3", "azure", "gcs"])("gc on %s", (backend) => {
  let emulator: Emulator;
  let backendServer: Server;
  let backendDb: string;

  beforeAll(async () => {
    const backendDir = tmpDir(`gc-${backend}`);
    emulator = await startEmulator(venv, backend, backendDir);
    backendDb = createDb(`rt_gc_${backend}`);
    dbs.push(backendDb);
    const serverEnv =
      backend === "azure"
        ? {
            AZURE_STORAGE_CONNECTION_STRING: azureSasConnection(
              venv,
              emulator,
              "2020-01-01T00:00:00Z",
              "2099-01-01T00:00:00Z",
            ),
          }
        : emulator.serverEnv;
    backendServer = await startServer({
      venv,
      dir: backendDir,
      config: baseConfig(emulator.destination, await freePort()),
      env: { ...serverEnv, ...directSecrets(dbUri(backendDb)) },
      name: `gc-${backend}`,
    });
  });

  test("a deleted run without artifacts, one with, their deleted experiment: all purged, exit 0", async () => {
    const out = execFileSync(
      path.join(venv, "bin", "python"),
      [path.join(__dirname, "support", "gc_backend_fixture.py"), `gc-${backend}`],
      {
        env: pythonEnv({
          MLFLOW_TRACKING_URI: backendServer.url,
          MLFLOW_TRACKING_USERNAME: ADMIN.username,
          MLFLOW_TRACKING_PASSWORD: ADMIN.password,
        }),
        encoding: "utf8",
        timeout: 180_000,
      },
    );
    const ids = JSON.parse(out.trim().split("\n").pop() as string) as {
      experiment_id: string;
      with_artifact: string;
      without_artifact: string;
    };
    const rows = (runId: string) =>
      Number(psql(backendDb, `SELECT count(*) FROM runs WHERE run_uuid = '${runId}'`));
    const objects = (runId: string) => emulator.listObjects().filter((key) => key.includes(`/${runId}/`));
    expect(objects(ids.with_artifact)).toHaveLength(1);
    expect(objects(ids.without_artifact)).toEqual([]);

    const env: Record<string, string> = { ...backendServer.env, MLFLOW_GC_OLDER_THAN: "0s" };
    const r = startSh(env);
    expect(r.output).not.toMatch(/ERROR/);
    expect(r.output).toMatch(/gc done: 2 deleted run\(s\) purged/);
    expect(r.code).toBe(0);
    expect([rows(ids.with_artifact), rows(ids.without_artifact)]).toEqual([0, 0]);
    expect(
      psql(backendDb, `SELECT count(*) FROM experiments WHERE experiment_id = ${Number(ids.experiment_id)}`),
    ).toBe("0");
    expect(objects(ids.with_artifact)).toEqual([]);
  });
});

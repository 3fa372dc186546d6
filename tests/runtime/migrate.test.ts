// docs/migrating.md, run for real: local MLflow stores written by the plain client (the mlruns/ file
// store, and the mlflow.db SQLite store that MLflow 3.x uses by default) are moved with the hash-locked
// tool in server/requirements-migrate.txt (its own venv) into the real server (start.sh, PostgreSQL,
// S3 emulator, basic auth). The tool gets only MLFLOW_TRACKING_URI/USERNAME/PASSWORD for the server;
// everything is checked back through the server with the MLflow client, in S3 and in PostgreSQL.
import * as fs from "fs";
import * as path from "path";
import {
  createDb,
  dbUri,
  dropDb,
  ensureVenv,
  freePort,
  killAll,
  psql,
  REPO_ROOT,
  runAsync,
  tmpDir,
} from "./support/proc";
import { ensureMigrateVenv, migrateTool } from "./support/migrate";
import { ADMIN, baseConfig, directSecrets, startEmulator, startServer } from "./support/stack";

jest.setTimeout(900_000);

// Writes one experiment with the plain client: params, metrics over 5 steps, tags, a text artifact per run,
// and (optionally) an MLflow 3 logged model on the first run. The tracking URI comes from the environment.
const FIXTURE_PY = `
import json, os, sys
import mlflow

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [f"echo:{x}" for x in model_input]

experiment, n_runs, with_model = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "model"
mlflow.set_experiment(experiment)
for i in range(n_runs):
    with mlflow.start_run(run_name=f"{experiment}-run-{i}"):
        mlflow.log_params({"alpha": str(0.1 * (i + 1)), "layers": str(i + 2)})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1) + i, step=step)
            mlflow.log_metric("accuracy", 0.5 + 0.1 * step, step=step)
        mlflow.set_tags({"team": "forecasting", "run.index": str(i)})
        os.makedirs("tmp-artifacts", exist_ok=True)
        with open("tmp-artifacts/notes.txt", "w") as f:
            f.write(f"{experiment} run {i}: notes that must arrive byte for byte\\n")
        mlflow.log_artifact("tmp-artifacts/notes.txt", "docs")
        if with_model and i == 0:
            mlflow.pyfunc.log_model(name="echo", python_model=Echo())
print(json.dumps({"tracking_uri": mlflow.get_tracking_uri()}))
`;

// Reads experiments back from whatever store MLFLOW_TRACKING_URI names (local or the server), as JSON.
const DUMP_PY = `
import json, sys, tempfile
import mlflow
from mlflow import MlflowClient

client = MlflowClient()

def walk(list_fn, path=None):
    files = []
    for f in list_fn(path):
        files.extend(walk(list_fn, f.path) if f.is_dir else [f.path])
    return files

out = {}
for name in sys.argv[1:]:
    exp = client.get_experiment_by_name(name)
    if exp is None:
        out[name] = None
        continue
    runs = []
    for run in client.search_runs([exp.experiment_id], order_by=["attributes.run_name ASC"]):
        rid = run.info.run_id
        contents = {}
        with tempfile.TemporaryDirectory() as d:
            for p in walk(lambda p: client.list_artifacts(rid, p)):
                with open(mlflow.artifacts.download_artifacts(run_id=rid, artifact_path=p, dst_path=d)) as f:
                    contents[p] = f.read()
        runs.append({
            "run_id": rid,
            "run_name": run.info.run_name,
            "status": run.info.status,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
            "params": run.data.params,
            "tags": run.data.tags,
            # Distinct points: logging a model makes the file store append an identical copy of a
            # run's first metric points (to link them to the model); SQL stores keep one row.
            "metrics": {
                k: sorted({(m.step, m.value, m.timestamp) for m in client.get_metric_history(rid, k)})
                for k in sorted(run.data.metrics)
            },
            "artifacts": contents,
        })
    models = []
    for lm in client.search_logged_models([exp.experiment_id]):
        models.append({
            "model_id": lm.model_id,
            "name": lm.name,
            "source_run_id": lm.source_run_id,
            "files": sorted(f.path for f in client.list_logged_model_artifacts(lm.model_id)),
            "prediction": list(mlflow.pyfunc.load_model(lm.model_uri).predict(["a", "b"])),
        })
    out[name] = {"experiment_id": exp.experiment_id, "runs": runs, "logged_models": models}
print(json.dumps(out))
`;

// docs/migrating.md's re-registration of an imported logged model, then a prediction from the registry.
const REGISTER_PY = `
import json, sys
import mlflow

version = mlflow.register_model(f"models:/{sys.argv[1]}", sys.argv[2])
model = mlflow.pyfunc.load_model(f"models:/{sys.argv[2]}/{version.version}")
print(json.dumps({"version": version.version, "prediction": list(model.predict(["c"]))}))
`;

/** docs/migrating.md's verify.py, exactly as the doc shows it. */
function verifyPy(): string {
  const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "migrating.md"), "utf8");
  const block = /```python\n(# verify\.py\n[\s\S]*?)```/.exec(doc);
  if (!block) throw new Error("docs/migrating.md has no verify.py block");
  return block[1];
}

const DELETE_RUNS_PY = `
import sys
from mlflow import MlflowClient

for run_id in sys.argv[1:]:
    MlflowClient().delete_run(run_id)
print("{}")
`;

const SCRIPTS = {
  fixture: () => FIXTURE_PY,
  dump: () => DUMP_PY,
  register: () => REGISTER_PY,
  verify: verifyPy,
  delete_runs: () => DELETE_RUNS_PY,
};

interface RunDump {
  run_id: string;
  run_name: string;
  status: string;
  start_time: number;
  end_time: number;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, [number, number, number][]>;
  artifacts: Record<string, string>;
}
interface ModelDump {
  model_id: string;
  name: string;
  source_run_id: string;
  files: string[];
  prediction: string[];
}
type Dump = Record<string, { experiment_id: string; runs: RunDump[]; logged_models: ModelDump[] } | null>;

const FILESTORE_EXP = "legacy-filestore";
const SQLITE_EXP = "legacy-sqlite";
/** The local file store, as docs/migrating.md points the tool at it. */
const FILESTORE_ENV = { MLFLOW_TRACKING_URI: "file:./mlruns", MLFLOW_ALLOW_FILE_STORE: "true" };
const SQLITE_ENV = { MLFLOW_TRACKING_URI: "sqlite:///mlflow.db" };

let venv: string;
let migrateVenv: string;
let scriptDir: string;
const dbs: string[] = [];
beforeAll(() => {
  venv = ensureVenv();
  migrateVenv = ensureMigrateVenv();
});
afterAll(async () => {
  await killAll();
  dbs.forEach(dropDb);
});

/** Run one of SCRIPTS with the plain MLflow client; its stdout's last line (verify: all of it). */
async function python(
  script: keyof typeof SCRIPTS,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<string> {
  const file = path.join(scriptDir, `${script}.py`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, SCRIPTS[script]());
  // verify.py runs where the doc runs it: in the migration venv.
  const bin = path.join(script === "verify" ? migrateVenv : venv, "bin", "python");
  const result = await runAsync(bin, [file, ...args], { cwd, env });
  if (result.status !== 0)
    throw new Error(`${script}.py ${args.join(" ")} failed:\n${result.output.slice(-4000)}`);
  return script === "verify" ? result.stdout : (result.stdout.trim().split("\n").pop() as string);
}
const dump = async (cwd: string, env: Record<string, string>, ...experiments: string[]): Promise<Dump> =>
  JSON.parse(await python("dump", experiments, cwd, env));

/** What must survive the move: everything but the run ids and the run start/end times. */
function portable(run: RunDump) {
  const { run_id: _id, start_time: _start, end_time: _end, ...rest } = run;
  return rest;
}

test("local mlruns/ and mlflow.db move to the server with the locked tool, auth required", async () => {
  const dir = tmpDir("migrate");
  scriptDir = dir;
  const fileStoreDir = path.join(dir, "team-filestore");
  const sqliteDir = path.join(dir, "team-sqlite");
  fs.mkdirSync(fileStoreDir);
  fs.mkdirSync(sqliteDir);

  // The team's history, written by the plain client: mlruns/ (file store) and MLflow 3's default store.
  await python("fixture", [FILESTORE_EXP, "2", "model"], fileStoreDir, FILESTORE_ENV);
  expect(fs.existsSync(path.join(fileStoreDir, "mlruns"))).toBe(true);
  const sqliteInfo = JSON.parse(await python("fixture", [SQLITE_EXP, "1", "none"], sqliteDir, {}));
  expect(sqliteInfo.tracking_uri).toBe(`sqlite:///${path.join(sqliteDir, "mlflow.db")}`);

  const source = {
    ...(await dump(fileStoreDir, FILESTORE_ENV, FILESTORE_EXP)),
    ...(await dump(sqliteDir, SQLITE_ENV, SQLITE_EXP)),
  };
  const srcFile = source[FILESTORE_EXP]!;
  expect(srcFile.runs).toHaveLength(2);
  expect(srcFile.logged_models).toHaveLength(1);
  expect(source[SQLITE_EXP]!.runs).toHaveLength(1);

  // The real server, as backends.test.ts starts it.
  const emulator = await startEmulator(venv, "s3", dir);
  const db = createDb("rt_migrate");
  dbs.push(db);
  const server = await startServer({
    venv,
    dir,
    config: baseConfig(emulator.destination, await freePort()),
    env: { ...directSecrets(dbUri(db)), ...emulator.serverEnv },
  });
  const clientEnv = {
    MLFLOW_TRACKING_URI: server.url,
    MLFLOW_TRACKING_USERNAME: ADMIN.username,
    MLFLOW_TRACKING_PASSWORD: ADMIN.password,
  };

  // Step 1 of the doc: export from the local stores (nothing of the server's is needed).
  const exportFile = await migrateTool(
    migrateVenv,
    "export-experiments",
    ["--experiments", "all", "--output-dir", "export-mlruns"],
    { cwd: fileStoreDir, env: FILESTORE_ENV, logFile: path.join(dir, "export-mlruns.log") },
  );
  expect([exportFile.status, exportFile.output]).toEqual([0, expect.stringContaining("2/2 runs")]);
  const exportSqlite = await migrateTool(
    migrateVenv,
    "export-experiments",
    ["--experiments", "all", "--output-dir", "export-mlflow-db"],
    { cwd: sqliteDir, env: SQLITE_ENV, logFile: path.join(dir, "export-mlflow-db.log") },
  );
  expect([exportSqlite.status, exportSqlite.output]).toEqual([0, expect.stringContaining("1/1 runs")]);

  // Without credentials the server refuses the import and nothing is created.
  const anonymous = await migrateTool(migrateVenv, "import-experiments", ["--input-dir", "export-mlruns"], {
    cwd: fileStoreDir,
    env: { MLFLOW_TRACKING_URI: server.url },
    logFile: path.join(dir, "import-anonymous.log"),
  });
  // It exits 0 all the same: the failure is only in its log ("ERROR - Failed to import experiment").
  expect(anonymous.status).toBe(0);
  expect(anonymous.output).toMatch(/ERROR - Failed to import experiment: .*error code 401/);
  expect((await dump(dir, clientEnv, FILESTORE_EXP))[FILESTORE_EXP]).toBeNull();

  // Step 2: import into the server with the three clientEnv variables only.
  for (const [cwd, input] of [
    [fileStoreDir, "export-mlruns"],
    [sqliteDir, "export-mlflow-db"],
  ]) {
    const imported = await migrateTool(migrateVenv, "import-experiments", ["--input-dir", input], {
      cwd,
      env: clientEnv,
      logFile: path.join(dir, `import-${input}.log`),
    });
    expect(imported.status).toBe(0);
    expect(imported.output).not.toMatch(/ - ERROR - /);
  }

  // Step 3: verify through the server with the MLflow client.
  const migrated = await dump(dir, clientEnv, FILESTORE_EXP, SQLITE_EXP);
  for (const name of [FILESTORE_EXP, SQLITE_EXP]) {
    const src = source[name]!;
    const dst = migrated[name]!;
    expect(dst).not.toBeNull();
    // Params, tags (mlflow.user, mlflow.source.* included), status, run names, the full metric history
    // with its steps and timestamps, and every artifact byte for byte.
    expect(dst.runs.map(portable)).toEqual(src.runs.map(portable));
    for (const [i, run] of dst.runs.entries()) {
      expect(run.run_id).not.toBe(src.runs[i].run_id); // new ids on the server
      expect(run.start_time).toBeGreaterThan(src.runs[i].end_time); // start/end are the import's
    }
  }
  const dstFile = migrated[FILESTORE_EXP]!;
  expect(dstFile.runs[0].metrics.loss).toHaveLength(5);
  expect(dstFile.runs[1].artifacts["docs/notes.txt"]).toBe(
    `${FILESTORE_EXP} run 1: notes that must arrive byte for byte\n`,
  );

  // The MLflow 3 logged model comes along, linked to the new run, and loads and predicts from the server.
  expect(dstFile.logged_models).toHaveLength(1);
  const [srcModel, dstModel] = [srcFile.logged_models[0], dstFile.logged_models[0]];
  expect(dstModel.name).toBe(srcModel.name);
  expect(dstModel.model_id).not.toBe(srcModel.model_id);
  expect(dstModel.source_run_id).toBe(dstFile.runs[0].run_id);
  // Every file of the model (the tool rewrites MLmodel for the new ids, which adds registered_model_meta).
  expect(dstModel.files).toEqual(expect.arrayContaining(srcModel.files));
  expect(dstModel.prediction).toEqual(["echo:a", "echo:b"]);

  // The objects are in S3 (proxied by the server), the rows in the server's PostgreSQL.
  const keys = emulator.listObjects();
  for (const run of [...dstFile.runs, ...migrated[SQLITE_EXP]!.runs]) {
    expect(keys).toContainEqual(expect.stringMatching(`/${run.run_id}/artifacts/docs/notes\\.txt$`));
  }
  expect(keys).toContainEqual(expect.stringMatching(`/models/${dstModel.model_id}/artifacts/MLmodel$`));
  expect(psql(db, `SELECT count(*) FROM runs WHERE experiment_id = ${dstFile.experiment_id}`)).toBe("2");
  expect(
    psql(
      db,
      `SELECT count(*) FROM metrics m JOIN runs r ON r.run_uuid = m.run_uuid WHERE r.experiment_id = ${dstFile.experiment_id}`,
    ),
  ).toBe("20");

  // The doc's verify.py prints the same for the local stores and for the server.
  const verify = async (cwd: string, env: Record<string, string>) =>
    JSON.parse(await python("verify", [], cwd, env));
  const [localFile, localSqlite, onServer] = [
    await verify(fileStoreDir, FILESTORE_ENV),
    await verify(sqliteDir, SQLITE_ENV),
    await verify(dir, clientEnv),
  ];
  expect(onServer[FILESTORE_EXP]).toEqual(localFile[FILESTORE_EXP]);
  expect(onServer[SQLITE_EXP]).toEqual(localSqlite[SQLITE_EXP]);
  expect(onServer[FILESTORE_EXP]).toHaveLength(2);

  // Registered models do not move; the doc's re-registration of the imported logged model works.
  const registered = JSON.parse(
    await python("register", [dstModel.model_id, "echo-migrated"], dir, clientEnv),
  );
  expect(registered).toEqual({ version: "1", prediction: ["echo:c"] });

  // Re-running the import is not idempotent: it adds a second copy of every run.
  const again = await migrateTool(migrateVenv, "import-experiments", ["--input-dir", "export-mlruns"], {
    cwd: fileStoreDir,
    env: clientEnv,
    logFile: path.join(dir, "import-again.log"),
  });
  expect(again.status).toBe(0);
  expect(again.output).not.toMatch(/ - ERROR - /);
  const twice = (await dump(dir, clientEnv, FILESTORE_EXP))[FILESTORE_EXP]!;
  expect(twice.runs.map((r) => r.run_name).sort()).toEqual(
    [...srcFile.runs, ...srcFile.runs].map((r) => r.run_name).sort(),
  );
  expect(twice.logged_models).toHaveLength(2);
  // Deleting the copies' runs brings verify.py back to the local store's output.
  const firstIds = new Set(dstFile.runs.map((r) => r.run_id));
  const copies = twice.runs.filter((r) => !firstIds.has(r.run_id)).map((r) => r.run_id);
  expect(copies).toHaveLength(2);
  await python("delete_runs", copies, dir, clientEnv);
  expect((await verify(dir, clientEnv))[FILESTORE_EXP]).toEqual(localFile[FILESTORE_EXP]);
});

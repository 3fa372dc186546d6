// For each artifact backend: the server started by server/start.sh with the rendered environment,
// an MLflow client with only tracking URI + credentials, the artifact found in the emulator and
// the run found in PostgreSQL.
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
  tmpDir,
  waitFor,
} from "./support/proc";
import { Backend, baseConfig, directSecrets, runClient, startEmulator, startServer } from "./support/stack";
import { azureSasConnection } from "./support/azureSas";

jest.setTimeout(600_000);

let venv: string;
beforeAll(() => {
  venv = ensureVenv();
});
afterAll(killAll);

describe.each<Backend>(["s3", "azure", "gcs"])("artifact backend %s", (backend) => {
  const dbs: string[] = [];
  afterAll(async () => {
    await killAll();
    dbs.forEach(dropDb);
  });

  test("client round trip: params, metrics, artifact, model; object in emulator; run in PostgreSQL", async () => {
    const dir = tmpDir(`backend-${backend}`);
    const emulator = await startEmulator(venv, backend, dir);
    const db = createDb(`rt_${backend}`);
    dbs.push(db);
    const port = await freePort();
    const server = await startServer({
      venv,
      dir,
      config: baseConfig(emulator.destination, port),
      env: { ...directSecrets(dbUri(db)), ...emulator.serverEnv },
    });
    const result = await runClient(venv, server.url, `exp-${backend}`);
    expect(result.artifact_uri).toMatch(/^mlflow-artifacts:/);
    expect(result.artifacts).toEqual(expect.arrayContaining(["docs"]));

    const keys = emulator.listObjects();
    expect(keys.some((k) => k.endsWith(`${result.run_id}/artifacts/docs/notes.txt`))).toBe(true);
    expect(keys.some((k) => k.endsWith("MLmodel"))).toBe(true);

    expect(psql(db, `SELECT status FROM runs WHERE run_uuid = '${result.run_id}'`)).toBe("FINISHED");
    expect(psql(db, `SELECT value FROM params WHERE run_uuid = '${result.run_id}' AND key = 'alpha'`)).toBe(
      "0.5",
    );
    expect(Number(psql(db, `SELECT count(*) FROM metrics WHERE run_uuid = '${result.run_id}'`))).toBe(5);
    // basic-auth keeps its users in the same PostgreSQL database, not sqlite
    expect(psql(db, "SELECT username FROM users")).toBe("admin");
  });
});

// The SAS is renewed by `pulumi up` (a new secret version); the running server must use it without a restart.
// The first SAS expires during the test: on a server that kept it, the upload after that would fail.
test("Azure: a renewed SAS in Secrets Manager is used by the running server, no restart", async () => {
  const dir = tmpDir("sas-renewal");
  const moto = await startEmulator(venv, "s3", dir);
  const azurite = await startEmulator(venv, "azure", dir);
  const db = createDb("rt_sas_renewal");
  // Long enough for a slow start and a first round trip with it (the repository is made then).
  const expiresAt = Date.now() + 240_000;
  const first = azureSasConnection(venv, azurite, "2020-01-01T00:00:00Z", new Date(expiresAt).toISOString());
  const name = `sas-${db}`;
  const arn = moto.putSecret!(name, first);
  try {
    const server = await startServer({
      venv,
      dir,
      config: baseConfig(azurite.destination, await freePort()),
      env: {
        ...directSecrets(dbUri(db)),
        ...moto.serverEnv,
        AZURE_STORAGE_CONNECTION_STRING_SECRET_ARN: arn,
        MLFLOW_CREDENTIAL_REFRESH_SECONDS: "2",
      },
      name: "sas-renewal",
    });
    const before = await runClient(venv, server.url, "before-renewal");
    expect(azurite.listObjects().some((k) => k.includes(`/${before.run_id}/`))).toBe(true);
    expect(Date.now()).toBeLessThan(expiresAt);
    const renewed = azureSasConnection(venv, azurite, "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
    execFileSync(
      path.join(venv, "bin", "python"),
      [
        "-c",
        "import boto3,sys; boto3.client('secretsmanager').put_secret_value(SecretId=sys.argv[1], SecretString=sys.argv[2])",
        arn,
        renewed,
      ],
      { env: pythonEnv(moto.serverEnv), timeout: 60_000 },
    );
    await waitFor(
      "the watcher to see the new version",
      async () => server.proc.output().includes("AZURE_STORAGE_CONNECTION_STRING has a new value"),
      60_000,
      server.proc,
    );
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 3_000));
    const result = await runClient(venv, server.url, "after-renewal");
    expect(azurite.listObjects().some((k) => k.endsWith(`${result.run_id}/artifacts/docs/notes.txt`))).toBe(
      true,
    );
    expect(server.proc.output()).toMatch(/artifact store credential reloaded/);
    expect(server.proc.output()).not.toContain("sig=");
  } finally {
    await killAll();
    dropDb(db);
  }
});

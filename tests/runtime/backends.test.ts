// For each artifact backend: the server started by server/start.sh with the rendered environment,
// an MLflow client with only tracking URI + credentials, the artifact found in the emulator and
// the run found in PostgreSQL.
import { createDb, dbUri, dropDb, ensureVenv, freePort, killAll, psql, tmpDir } from "./support/proc";
import { Backend, baseConfig, directSecrets, runClient, startEmulator, startServer } from "./support/stack";

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

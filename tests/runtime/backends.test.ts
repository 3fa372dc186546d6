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
  runAsync,
  tmpDir,
  waitFor,
} from "./support/proc";
import {
  ADMIN,
  Backend,
  baseConfig,
  basicAuth,
  directSecrets,
  runClient,
  startEmulator,
  startServer,
} from "./support/stack";
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

// review-azgcp F10: proxied multipart upload hands the client URLs signed with the server's GCS credential.
// A credential that cannot sign (workload identity on EC2; here the emulator's anonymous client) made
// MLflow initiate an upload and then answer 500 (the client gave up; the upload stayed orphaned). The
// server's repository refuses first with "not supported" (501) and the client falls back to one PUT.
test("GCS: proxied multipart upload with a credential that cannot sign is a clean 501; the client falls back", async () => {
  const dir = tmpDir("gcs-mpu");
  const gcs = await startEmulator(venv, "gcs", dir);
  const db = createDb("rt_gcs_mpu");
  try {
    const server = await startServer({
      venv,
      dir,
      config: baseConfig(gcs.destination, await freePort()),
      env: { ...directSecrets(dbUri(db)), ...gcs.serverEnv },
      name: "gcs-mpu",
    });
    const create = await fetch(`${server.url}/api/2.0/mlflow-artifacts/mpu/create/0/run1/artifacts`, {
      method: "POST",
      headers: { Authorization: basicAuth(), "Content-Type": "application/json" },
      body: JSON.stringify({ path: "model.bin", num_parts: 2 }),
    });
    const answer = await create.text();
    expect({ status: create.status, answer }).toEqual({
      status: 501,
      answer: expect.stringContaining("Multipart upload is not supported"),
    });

    const client = await runAsync(
      path.join(venv, "bin", "python"),
      [
        "-c",
        [
          "import mlflow, os, tempfile",
          "mlflow.set_experiment('mpu')",
          "d = tempfile.mkdtemp(); p = os.path.join(d, 'model.bin')",
          "open(p, 'wb').write(os.urandom(3 * 1024 * 1024))",
          "with mlflow.start_run() as run: mlflow.log_artifact(p)",
          "print(run.info.run_id)",
        ].join("\n"),
      ],
      {
        cwd: dir,
        env: {
          MLFLOW_TRACKING_URI: server.url,
          MLFLOW_TRACKING_USERNAME: ADMIN.username,
          MLFLOW_TRACKING_PASSWORD: ADMIN.password,
          MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: "true",
          MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: "1048576",
          MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: "1048576",
        },
        timeoutMs: 180_000,
      },
    );
    expect(client.status).toBe(0);
    const runId = client.stdout.trim().split("\n").pop() as string;
    expect(gcs.listObjects().some((k) => k.endsWith(`${runId}/artifacts/model.bin`))).toBe(true);
  } finally {
    await killAll();
    dropDb(db);
  }
});

// The other side of the F10 guard: a credential that can sign (a service-account key, what container stacks
// on GCS use) must still get proxied multipart upload. The guard reads the client's private `_credentials`:
// if a google-cloud-storage upgrade renamed it, every multipart upload would quietly become a 501.
test("GCS: a service-account key that can sign keeps proxied multipart upload; a credential that cannot gets 501", () => {
  const dir = tmpDir("gcs-mpu-signing");
  const script = [
    "import json, os, sys",
    "sys.path.insert(0, sys.argv[1])",
    "from cryptography.hazmat.primitives import serialization",
    "from cryptography.hazmat.primitives.asymmetric import rsa",
    "key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(",
    "    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()",
    "path = os.path.join(sys.argv[2], 'key.json')",
    "json.dump({'type': 'service_account', 'project_id': 'p', 'private_key_id': '1', 'private_key': key,",
    "           'client_email': 'mlflow@p.iam.gserviceaccount.com', 'client_id': '1',",
    "           'token_uri': 'https://oauth2.googleapis.com/token'}, open(path, 'w'))",
    "from mlflow.exceptions import _UnsupportedMultipartUploadException",
    "from mlflow.store.artifact.gcs_artifact_repo import GCSArtifactRepository",
    "GCSArtifactRepository.create_multipart_upload = lambda self, *a, **k: 'initiated'",
    "import runtime_helper",
    "os.environ['GOOGLE_APPLICATION_CREDENTIALS'] = path",
    "signing = runtime_helper.gcs_repository('gs://bucket/prefix')",
    "assert hasattr(signing.client, '_credentials'), 'google-cloud-storage renamed Client._credentials'",
    "print('key:', signing.create_multipart_upload('model.bin', 2))",
    "del os.environ['GOOGLE_APPLICATION_CREDENTIALS']",
    "os.environ['GOOGLE_CLOUD_PROJECT'] = 'p'",
    "anonymous = runtime_helper.gcs_repository('gs://bucket/prefix')",
    "try:",
    "    anonymous.create_multipart_upload('model.bin', 2)",
    "except _UnsupportedMultipartUploadException:",
    "    print('cannot sign: not supported')",
  ].join("\n");
  const out = execFileSync(
    path.join(venv, "bin", "python"),
    ["-c", script, path.join(__dirname, "..", "..", "server"), dir],
    {
      env: pythonEnv({ NO_GCE_CHECK: "True", GCE_METADATA_HOST: "127.0.0.1:9" }),
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  expect(out.trim().split("\n")).toEqual(["key: initiated", "cannot sign: not supported"]);
});

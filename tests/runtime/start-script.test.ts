// start.sh: fails fast with a clear message on missing/wrong values; resolves *_SECRET_ARN from
// Secrets Manager (moto); secrets never reach a command line; private 0600 files.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  BOOTSTRAP_PACKAGES,
  readServerFile,
  renderServerEnvironment,
  requirementsSubset,
  serverFileSha256,
} from "../../server/render";
import {
  createDb,
  dbUri,
  dropDb,
  ensureVenv,
  freePort,
  killAll,
  pythonEnv,
  SERVER_DIR,
  tmpDir,
} from "./support/proc";
import {
  ADMIN,
  baseConfig,
  basicAuth,
  directSecrets,
  Emulator,
  FLASK_KEY,
  startEmulator,
  startServer,
} from "./support/stack";
import { azureSasConnection } from "./support/azureSas";

jest.setTimeout(600_000);

let venv: string;
let dir: string;
let moto: Emulator;
const dbs: string[] = [];
beforeAll(async () => {
  venv = ensureVenv();
  dir = tmpDir("start-script");
  moto = await startEmulator(venv, "s3", dir);
});
afterAll(async () => {
  await killAll();
  dbs.forEach(dropDb);
});

function runStart(env: Record<string, string>, timeoutMs = 60_000): { code: number; output: string } {
  try {
    const out = execFileSync(path.join(SERVER_DIR, "start.sh"), [], {
      env: pythonEnv({ MLFLOW_VENV: venv, MLFLOW_RUNTIME_DIR: path.join(dir, "failfast"), ...env }),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    });
    return { code: 0, output: out };
  } catch (e) {
    const err = e as { status: number; stderr: string; stdout: string };
    return { code: err.status, output: `${err.stdout}${err.stderr}` };
  }
}

const good = () => ({
  ...renderServerEnvironment(baseConfig("s3://bucket-x/mlflow", 5999)),
  ...directSecrets("postgresql://postgres@127.0.0.1:5432/none"),
});

// render.ts refuses at deploy time the destinations start.sh would refuse at start: it reads start.sh's
// ARTIFACT_DESTINATIONS. `start.sh gc` with a no-op python exits 0 once the destination passed its check.
test.each([
  ["s3://mlflow-artifacts-1a2b/mlflow", true],
  ["gs://mlflow-gcs-artifacts-1a2b/mlflow", true],
  ["wasbs://mlflow-artifacts@mlflowdev1a2b3c4d.blob.core.windows.net/mlflow", true],
  ["s3://a", false],
  ["s3://My_Bucket/mlflow", false],
  ["gs:///mlflow", false],
  ["wasbs://c/prefix", false],
  ["wasbs://c@acct.blob.core.windows.net.evil.example/mlflow", false],
  ["file:///tmp/x", false],
  ["https://example.com/mlflow", false],
])("start.sh and render.ts agree on the artifact destination %s (accepted: %s)", (destination, accepted) => {
  const rendered = () => renderServerEnvironment(baseConfig(destination, 5999));
  if (accepted) expect(rendered).not.toThrow();
  else expect(rendered).toThrow(/artifactsDestination must be s3:\/\/bucket\/prefix, wasbs:/);
  const r = spawnSync(path.join(SERVER_DIR, "start.sh"), ["gc"], {
    env: {
      PATH: process.env.PATH,
      MLFLOW_PYTHON: "/bin/true",
      MLFLOW_RUNTIME_DIR: path.join(dir, "destinations"),
      MLFLOW_BACKEND_STORE_URI: "postgresql://postgres@127.0.0.1:5432/none",
      MLFLOW_ARTIFACTS_DESTINATION: destination,
    },
    encoding: "utf8",
    timeout: 10_000,
  });
  expect([r.status, accepted ? "" : r.stderr]).toEqual(
    accepted
      ? [0, ""]
      : [64, expect.stringContaining("MLFLOW_ARTIFACTS_DESTINATION must be s3://bucket/prefix, wasbs:")],
  );
});

test.each([
  ["MLFLOW_BACKEND_STORE_URI", undefined, /MLFLOW_BACKEND_STORE_URI is not set/],
  ["MLFLOW_ARTIFACTS_DESTINATION", undefined, /MLFLOW_ARTIFACTS_DESTINATION is not set/],
  ["MLFLOW_AUTH_ADMIN_PASSWORD", undefined, /MLFLOW_AUTH_ADMIN_PASSWORD is not set/],
  ["MLFLOW_FLASK_SERVER_SECRET_KEY", undefined, /MLFLOW_FLASK_SERVER_SECRET_KEY is not set/],
  ["MLFLOW_SERVER_ALLOWED_HOSTS", undefined, /MLFLOW_SERVER_ALLOWED_HOSTS is not set/],
  ["MLFLOW_AUTH_ADMIN_USERNAME", undefined, /MLFLOW_AUTH_ADMIN_USERNAME is not set/],
  [
    "MLFLOW_BACKEND_STORE_URI",
    "sqlite:///mlflow.db",
    /must be a postgresql:\/\/ URI \(got scheme 'sqlite'\)/,
  ],
  ["MLFLOW_ARTIFACTS_DESTINATION", "file:///tmp/x", /MLFLOW_ARTIFACTS_DESTINATION must be s3:\/\//],
  ["MLFLOW_PORT", "50x0", /MLFLOW_PORT must be a number/],
  ["MLFLOW_WORKERS", "four", /MLFLOW_WORKERS must be a number/],
  ["MLFLOW_SQLALCHEMYSTORE_POOL_SIZE", "-1", /MLFLOW_SQLALCHEMYSTORE_POOL_SIZE must be a whole number/],
  ["MLFLOW_BACKEND_STORE_URI_SECRET_ARN", "not-an-arn", /is not an ARN/],
])("fails fast when %s is %s", (name, value, message) => {
  const env: Record<string, string> = good();
  if (value === undefined) delete env[name];
  else env[name] = value;
  if (name === "MLFLOW_BACKEND_STORE_URI_SECRET_ARN") delete env.MLFLOW_BACKEND_STORE_URI;
  const started = Date.now();
  const r = runStart(env);
  expect(r.code).not.toBe(0);
  expect(r.output).toMatch(message);
  expect(Date.now() - started).toBeLessThan(10_000);
});

test("an unknown secret ARN fails with a message naming the variable", () => {
  const env: Record<string, string> = { ...good(), ...moto.serverEnv };
  delete env.MLFLOW_AUTH_ADMIN_PASSWORD;
  env.MLFLOW_AUTH_ADMIN_PASSWORD_SECRET_ARN =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf";
  const r = runStart(env);
  expect(r.code).not.toBe(0);
  expect(r.output).toMatch(/cannot read MLFLOW_AUTH_ADMIN_PASSWORD_SECRET_ARN/);
});

test("the EC2 way: only *_SECRET_ARN set; secrets resolved from Secrets Manager, never on a command line", async () => {
  const db = createDb("rt_secrets");
  dbs.push(db);
  const gcpJson = JSON.stringify({ type: "service_account", project_id: "test", private_key_id: "k1" });
  const arns = {
    MLFLOW_BACKEND_STORE_URI: moto.putSecret!(`db-${db}`, dbUri(db)),
    MLFLOW_AUTH_ADMIN_PASSWORD: moto.putSecret!(`pw-${db}`, ADMIN.password),
    MLFLOW_FLASK_SERVER_SECRET_KEY: moto.putSecret!(`fk-${db}`, FLASK_KEY),
    GOOGLE_CREDENTIALS_JSON: moto.putSecret!(`gcp-${db}`, gcpJson),
  };
  const port = await freePort();
  const config = baseConfig(moto.destination, port, { awsRegion: "us-east-1", secretArns: arns });
  const env = renderServerEnvironment(config);
  expect(Object.keys(env)).not.toContain("MLFLOW_BACKEND_STORE_URI");
  const server = await startServer({ venv, dir, config, env: moto.serverEnv, name: "secrets" });
  const res = await fetch(`${server.url}/api/2.0/mlflow/experiments/search?max_results=1`, {
    headers: { Authorization: basicAuth() },
  });
  expect(res.status).toBe(200);

  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  expect(ps).toContain(`--port ${port}`);
  for (const secret of [ADMIN.password, FLASK_KEY, `/${db}`]) expect(ps).not.toContain(secret);

  const runtimeDir = server.env.MLFLOW_RUNTIME_DIR;
  const mode = (f: string) => (fs.statSync(path.join(runtimeDir, f)).mode & 0o777).toString(8);
  expect(mode(".")).toBe("700");
  expect(mode("basic_auth.ini")).toBe("600");
  expect(mode("gcp-credentials.json")).toBe("600");
  expect(fs.readFileSync(path.join(runtimeDir, "gcp-credentials.json"), "utf8")).toBe(gcpJson);
  const ini = fs.readFileSync(path.join(runtimeDir, "basic_auth.ini"), "utf8");
  expect(ini).toMatch(new RegExp(`database_uri = postgresql\\+psycopg2://.*/${db}`));
  expect(ini).not.toMatch(/sqlite/);
  expect(fs.readdirSync(runtimeDir).filter((f) => f.startsWith("secrets."))).toEqual([]);
});

test("EC2 boot: fetch-object downloads the requirements lock from S3 only when its sha256 matches", () => {
  const uri = moto.putObject!("server/requirements.txt", path.join(SERVER_DIR, "requirements.txt"));
  const env = pythonEnv({ ...moto.serverEnv, AWS_ENDPOINT_URL_S3: moto.serverEnv.MLFLOW_S3_ENDPOINT_URL });
  const fetchTo = (sha256: string, dest: string) =>
    spawnSync(
      path.join(venv, "bin", "python"),
      [path.join(SERVER_DIR, "runtime_helper.py"), "fetch-object", uri, sha256, dest],
      {
        env,
        encoding: "utf8",
        timeout: 60_000,
      },
    );
  const good = path.join(dir, "fetched-requirements.txt");
  const ok = fetchTo(serverFileSha256("requirements.txt"), good);
  expect(ok.stderr).toMatch(/sha256 ok/);
  expect(ok.status).toBe(0);
  expect(fs.readFileSync(good, "utf8")).toBe(readServerFile("requirements.txt"));

  const bad = path.join(dir, "tampered-requirements.txt");
  const refused = fetchTo("0".repeat(64), bad);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/expected 0{64}: refusing to use it/);
  expect(fs.existsSync(bad)).toBe(false);
});

test("EC2 boot: the bootstrap subset of the lock installs with --require-hashes and brings boto3", () => {
  const target = tmpDir("bootstrap");
  const file = path.join(target, "bootstrap-requirements.txt");
  fs.writeFileSync(file, requirementsSubset(BOOTSTRAP_PACKAGES));
  // --dry-run resolves the whole closure under --require-hashes: a missing dependency or hash fails here.
  const result = spawnSync(
    path.join(venv, "bin", "pip"),
    ["install", "--dry-run", "--ignore-installed", "--require-hashes", "--no-cache-dir", "-r", file],
    { encoding: "utf8", timeout: 300_000 },
  );
  expect(result.stderr).not.toMatch(/ERROR/);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/Would install .*boto3-/);
});

// The artifact store preflight: a credential that cannot work stops the start with the reason (exit 64),
// before migrations, instead of a healthy /health and a 500 on every artifact call.
describe("artifact store preflight", () => {
  let azurite: Emulator;
  let gcs: Emulator;
  beforeAll(async () => {
    azurite = await startEmulator(venv, "azure", dir);
    gcs = await startEmulator(venv, "gcs", dir);
  });

  // A loaded machine takes a while to import MLflow and the cloud SDKs, twice.
  const startWith = (destination: string, env: Record<string, string>) =>
    runStart(
      {
        ...renderServerEnvironment(baseConfig(destination, 5999)),
        ...directSecrets("postgresql://postgres@127.0.0.1:5432/none"),
        MLFLOW_ARTIFACTS_CHECK_TIMEOUT_SECONDS: "4",
        ...env,
      },
      240_000,
    );

  test("Azure: an expired SAS fails at once, naming its expiry", () => {
    const sas = azureSasConnection(venv, azurite, "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z");
    const r = startWith(azurite.destination, { AZURE_STORAGE_CONNECTION_STRING: sas });
    expect(r.code).toBe(64);
    expect(r.output).toMatch(
      /ERROR: artifact store check failed for wasbs:\/\/.*the Azure SAS expired on 2021-01-01/,
    );
    expect(r.output).toMatch(/ERROR: the artifact store is not usable with the server's credential/);
    expect(r.output).not.toMatch(/migration|retrying/);
    expect(r.output).not.toContain("sig=");
  });

  test("Azure: a SAS Azure refuses (signed with another key) fails after the retry window", () => {
    const sas = azureSasConnection(venv, azurite, "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z").replace(
      /sig=[^&;]+/,
      "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D",
    );
    const r = startWith(azurite.destination, {
      AZURE_STORAGE_CONNECTION_STRING: sas,
      MLFLOW_ARTIFACTS_CHECK_TIMEOUT_SECONDS: "20",
    });
    expect(r.code).toBe(64);
    expect(r.output).toMatch(/artifact store not usable yet \(HttpResponseError: .*\); retrying/);
    expect(r.output).toMatch(
      /ERROR: artifact store check failed for wasbs:\/\/.* \(for 20s\): HttpResponseError/,
    );
  });

  test("Azure: a valid SAS passes and reports the days left", () => {
    const sas = azureSasConnection(venv, azurite, "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
    const r = startWith(azurite.destination, {
      AZURE_STORAGE_CONNECTION_STRING: sas,
      MLFLOW_MIGRATION_LOCK_TIMEOUT_SECONDS: "1",
    });
    expect(r.output).toMatch(/the Azure SAS expires on 2099-01-01 \(\d+ days left\)/);
    expect(r.output).toMatch(/artifact store reachable with the server's credential/);
    // It goes on to the database, which does not exist here.
    expect(r.output).toMatch(/database migration failed|cannot connect/);
  });

  test("GCS: a bucket that does not exist fails with the reason", () => {
    const r = startWith("gs://no-such-bucket-0a1b2c/mlflow", gcs.serverEnv);
    expect(r.code).toBe(64);
    expect(r.output).toMatch(
      /ERROR: artifact store check failed for gs:\/\/no-such-bucket-0a1b2c\/mlflow .*NotFound/,
    );
  });

  test("GCS: an unusable credential (GOOGLE_CREDENTIALS_JSON) fails at once, not as an anonymous client", () => {
    const r = startWith(gcs.destination, { ...gcs.serverEnv, GOOGLE_CREDENTIALS_JSON: "{}" });
    expect(r.code).toBe(64);
    expect(r.output).toMatch(/ERROR: artifact store check failed for gs:\/\/.*: no usable GCP credential/);
    expect(r.output).not.toMatch(/retrying/);
  });
});

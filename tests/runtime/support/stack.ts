// Emulators, the server (started with the real server/start.sh) and the MLflow client for runtime tests.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderServerEnvironment, ServerRuntimeConfig } from "../../../server/render";
import {
  freePort,
  httpStatus,
  Proc,
  pythonEnv,
  runAsync,
  REPO_ROOT,
  SERVER_DIR,
  startProcess,
  tmpDir,
  waitFor,
} from "./proc";

export const ADMIN = { username: "admin", password: "Rt-test-Passw0rd-7731!" };
export const FLASK_KEY = "runtime-test-flask-secret-key-0123456789";
const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const DUMMY_AWS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_DEFAULT_REGION: "us-east-1",
};

export type Backend = "s3" | "azure" | "gcs";

export interface Emulator {
  backend: Backend;
  proc: Proc;
  /** Environment the SERVER (not the client) needs to reach the emulator. */
  serverEnv: Record<string, string>;
  destination: string;
  listObjects: () => string[];
  /** moto only: store a Secrets Manager secret, returns its ARN. */
  putSecret?: (name: string, value: string) => string;
  /** moto only: upload a file to the emulator's bucket, returns its s3:// URI. */
  putObject?: (key: string, file: string) => string;
}

export function admin(venv: string, env: Record<string, string>, ...args: string[]): unknown {
  const out = execFileSync(
    path.join(venv, "bin", "python"),
    [path.join(__dirname, "emulator_admin.py"), ...args],
    {
      env: pythonEnv(env),
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  return JSON.parse(out.trim().split("\n").pop() as string);
}

export async function startEmulator(venv: string, backend: Backend, dir: string): Promise<Emulator> {
  const port = await freePort();
  const bucket = `mlflow-${backend}-${Date.now().toString(36)}`;
  if (backend === "s3") {
    const proc = startProcess(
      "moto",
      path.join(venv, "bin", "moto_server"),
      ["-H", "127.0.0.1", "-p", String(port)],
      {
        env: pythonEnv(),
        logFile: path.join(dir, "moto.log"),
      },
    );
    const endpoint = `http://127.0.0.1:${port}`;
    await waitFor("moto", async () => (await httpStatus(`${endpoint}/moto-api/`)) < 500, 30_000, proc);
    const adminEnv = { ...DUMMY_AWS, S3_ENDPOINT: endpoint };
    admin(venv, adminEnv, "s3-create", bucket);
    return {
      backend,
      proc,
      destination: `s3://${bucket}/mlflow`,
      serverEnv: {
        ...DUMMY_AWS,
        MLFLOW_S3_ENDPOINT_URL: endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      },
      listObjects: () => (admin(venv, adminEnv, "s3-list", bucket) as { keys: string[] }).keys,
      putSecret: (name, value) => (admin(venv, adminEnv, "sm-put", name, value) as { arn: string }).arn,
      putObject: (key, file) => {
        admin(venv, adminEnv, "s3-put", bucket, key, file);
        return `s3://${bucket}/${key}`;
      },
    };
  }
  if (backend === "azure") {
    const proc = startProcess(
      "azurite",
      path.join(REPO_ROOT, "node_modules", ".bin", "azurite-blob"),
      [
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        String(port),
        "--loose",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--inMemoryPersistence",
      ],
      { cwd: dir, env: { PATH: process.env.PATH }, logFile: path.join(dir, "azurite.log") },
    );
    await waitFor("azurite", async () => proc.output().includes("successfully listens"), 30_000, proc);
    const conn =
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`;
    const env = { AZURE_STORAGE_CONNECTION_STRING: conn };
    const container = bucket.replace(/[^a-z0-9-]/g, "");
    admin(venv, env, "az-create", container);
    return {
      backend,
      proc,
      destination: `wasbs://${container}@devstoreaccount1.blob.core.windows.net/mlflow`,
      serverEnv: env,
      listObjects: () => (admin(venv, env, "az-list", container) as { keys: string[] }).keys,
    };
  }
  const proc = startProcess(
    "gcs",
    path.join(venv, "bin", "gcp-storage-emulator"),
    ["start", "--host", "127.0.0.1", "--port", String(port), "--in-memory"],
    { cwd: dir, env: pythonEnv(), logFile: path.join(dir, "gcs.log") },
  );
  const host = `http://127.0.0.1:${port}`;
  await waitFor("gcs emulator", async () => (await httpStatus(`${host}/storage/v1/b`)) < 500, 30_000, proc);
  const env = { STORAGE_EMULATOR_HOST: host };
  admin(venv, env, "gcs-create", bucket);
  return {
    backend,
    proc,
    destination: `gs://${bucket}/mlflow`,
    // The emulator needs no credentials; the server's ADC comes from GOOGLE_CREDENTIALS_JSON tests.
    serverEnv: { ...env, GOOGLE_CLOUD_PROJECT: "test" },
    listObjects: () => (admin(venv, env, "gcs-list", bucket) as { keys: string[] }).keys,
  };
}

export interface Server {
  proc: Proc;
  port: number;
  url: string;
  env: Record<string, string>;
}

export interface ServerOptions {
  venv: string;
  dir: string;
  config: ServerRuntimeConfig;
  /** Secret values given directly (the ECS way) and emulator endpoints/keys. */
  env: Record<string, string>;
  startScript?: string;
  waitHealthy?: boolean;
  name?: string;
}

/** Start server/start.sh with the environment renderServerEnvironment renders for `config`. */
export async function startServer(o: ServerOptions): Promise<Server> {
  const rendered = renderServerEnvironment(o.config);
  const port = Number(rendered.MLFLOW_PORT);
  const runtimeDir = path.join(o.dir, `run-${o.name ?? "server"}-${port}`);
  fs.mkdirSync(runtimeDir, { recursive: true });
  const env = {
    ...pythonEnv(),
    ...rendered,
    ...o.env,
    MLFLOW_VENV: o.venv,
    MLFLOW_RUNTIME_DIR: runtimeDir,
  };
  const proc = startProcess(o.name ?? "mlflow", o.startScript ?? path.join(SERVER_DIR, "start.sh"), [], {
    cwd: o.dir,
    env,
    logFile: path.join(o.dir, `${o.name ?? "server"}-${port}.log`),
  });
  const url = `http://127.0.0.1:${port}`;
  if (o.waitHealthy !== false) {
    await waitFor("server /health", async () => (await httpStatus(`${url}/health`)) === 200, 180_000, proc);
  }
  return { proc, port, url, env };
}

export function basicAuth(user = ADMIN.username, password = ADMIN.password): string {
  return "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
}

/** Run the MLflow client round trip; only tracking URI and credentials in its environment. */
export async function runClient(
  venv: string,
  trackingUri: string,
  experiment: string,
  /** e.g. MLFLOW_TRACKING_SERVER_CERT_PATH for a server whose CA the test made */
  extraEnv: Record<string, string> = {},
): Promise<{
  run_id: string;
  experiment_id: string;
  artifact_uri: string;
  artifacts: string[];
}> {
  // Asynchronous: a synchronous child would stop node draining the server's log pipe (runAsync).
  const result = await runAsync(
    path.join(venv, "bin", "python"),
    [path.join(__dirname, "client_roundtrip.py"), experiment],
    {
      cwd: __dirname,
      env: {
        MLFLOW_TRACKING_URI: trackingUri,
        MLFLOW_TRACKING_USERNAME: ADMIN.username,
        MLFLOW_TRACKING_PASSWORD: ADMIN.password,
        ...extraEnv,
      },
      timeoutMs: 180_000,
    },
  );
  if (result.status !== 0) throw new Error(`client_roundtrip.py exited ${result.status}:\n${result.output}`);
  return JSON.parse(result.stdout.trim().split("\n").pop() as string);
}

export function baseConfig(destination: string, port: number, extra: Partial<ServerRuntimeConfig> = {}) {
  return {
    artifactsDestination: destination,
    allowedHosts: ["203.0.113.10", "mlflow.example.com"],
    adminUsername: ADMIN.username,
    host: "127.0.0.1",
    port,
    workers: 1,
    ...extra,
  } satisfies ServerRuntimeConfig;
}

export function directSecrets(dbUri: string): Record<string, string> {
  return {
    MLFLOW_BACKEND_STORE_URI: dbUri,
    MLFLOW_AUTH_ADMIN_PASSWORD: ADMIN.password,
    MLFLOW_FLASK_SERVER_SECRET_KEY: FLASK_KEY,
  };
}

export { tmpDir };

// nginx (rendered config) in front of the server: 50 MB artifact up and down intact, auth, Host checks.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { renderNginxConfig } from "../../server/render";
import {
  createDb,
  dbUri,
  dropDb,
  ensureVenv,
  freePort,
  httpStatus,
  killAll,
  rawGetStatus,
  startProcess,
  tmpDir,
  waitFor,
} from "./support/proc";
import { baseConfig, basicAuth, directSecrets, startEmulator, startServer } from "./support/stack";

jest.setTimeout(600_000);

let nginxUrl = "";
let db = "";
let emulatorKeys: () => string[];

beforeAll(async () => {
  const venv = ensureVenv();
  const dir = tmpDir("proxy");
  const emulator = await startEmulator(venv, "s3", dir);
  emulatorKeys = emulator.listObjects;
  db = createDb("rt_proxy");
  const port = await freePort();
  await startServer({
    venv,
    dir,
    config: baseConfig(emulator.destination, port, { workers: 2 }),
    env: { ...directSecrets(dbUri(db)), ...emulator.serverEnv },
  });
  const listenPort = await freePort();
  const conf = path.join(dir, "nginx.conf");
  fs.writeFileSync(
    conf,
    renderNginxConfig({
      listenPort,
      listenAddress: "127.0.0.1",
      upstreamPort: port,
      serverNames: ["203.0.113.10", "mlflow.example.com"],
      pidFile: path.join(dir, "nginx.pid"),
      errorLog: path.join(dir, "nginx-error.log"),
      accessLog: path.join(dir, "nginx-access.log"),
      tempDir: dir,
    }),
  );
  const nginx = startProcess(
    "nginx",
    "nginx",
    ["-c", conf, "-e", path.join(dir, "nginx-error.log"), "-g", "daemon off;"],
    {
      cwd: dir,
    },
  );
  nginxUrl = `http://127.0.0.1:${listenPort}`;
  await waitFor("nginx", async () => (await httpStatus(`${nginxUrl}/health`)) === 200, 30_000, nginx);
});

afterAll(async () => {
  await killAll();
  if (db) dropDb(db);
});

const api = (p: string) => `${nginxUrl}/api/2.0/mlflow/${p}`;

test("/health passes through without credentials", async () => {
  expect(await httpStatus(`${nginxUrl}/health`)).toBe(200);
});

test("no credentials -> 401, wrong password -> 401, admin -> 200", async () => {
  const url = api("experiments/search?max_results=1");
  expect(await httpStatus(url)).toBe(401);
  expect(await httpStatus(url, { headers: { Authorization: basicAuth("admin", "wrong-password") } })).toBe(
    401,
  );
  expect(await httpStatus(url, { headers: { Authorization: basicAuth() } })).toBe(200);
});

test("the public Host headers in allowedHosts are accepted, an unlisted Host is rejected", async () => {
  const url = api("experiments/search?max_results=1");
  for (const host of ["203.0.113.10", "mlflow.example.com"]) {
    expect(await rawGetStatus(url, { Authorization: basicAuth(), Host: host })).toBe(200);
    expect(await rawGetStatus(url, { Authorization: basicAuth(), Host: `${host}:8080` })).toBe(200);
  }
  expect(await rawGetStatus(url, { Authorization: basicAuth(), Host: "evil.example.net" })).toBe(403);
  expect(await rawGetStatus(url, { Authorization: basicAuth(), Host: "203.0.113.11" })).toBe(403);
});

test("a 50 MB artifact goes up and comes back intact through nginx", async () => {
  const auth = { Authorization: basicAuth() };
  const exp = await fetch(api("experiments/create"), {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "big-artifacts" }),
  });
  expect(exp.status).toBe(200);
  const { experiment_id } = (await exp.json()) as { experiment_id: string };
  const runRes = await fetch(api("runs/create"), {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ experiment_id, start_time: Date.now() }),
  });
  const run = ((await runRes.json()) as { run: { info: { run_id: string; artifact_uri: string } } }).run.info;
  // mlflow-artifacts:/<exp>/<run>/artifacts -> proxied artifact API path
  const artifactPath = run.artifact_uri.replace(/^mlflow-artifacts:\//, "") + "/big.bin";
  const data = crypto.randomBytes(50 * 1024 * 1024);
  const sha = crypto.createHash("sha256").update(data).digest("hex");
  const put = await fetch(`${nginxUrl}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}`, {
    method: "PUT",
    headers: { ...auth, "Content-Type": "application/octet-stream" },
    body: data,
    signal: AbortSignal.timeout(300_000),
  });
  expect(put.status).toBe(200);
  const get = await fetch(`${nginxUrl}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}`, {
    headers: auth,
    signal: AbortSignal.timeout(300_000),
  });
  expect(get.status).toBe(200);
  const body = Buffer.from(await get.arrayBuffer());
  expect(body.length).toBe(data.length);
  expect(crypto.createHash("sha256").update(body).digest("hex")).toBe(sha);
  expect(emulatorKeys().some((k) => k.endsWith(`${run.run_id}/artifacts/big.bin`))).toBe(true);
});

// nginx (rendered config) in front of the server: 50 MB artifact up and down intact, auth, Host checks,
// keep-alive connections left idle longer than uvicorn's default still serve a POST.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
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
  sleep,
  startProcess,
  tmpDir,
  waitFor,
} from "./support/proc";
import { baseConfig, basicAuth, directSecrets, startEmulator, startServer } from "./support/stack";

jest.setTimeout(600_000);

let nginxUrl = "";
let nginxPort = 0;
let serverPort = 0;
let db = "";
let emulatorKeys: () => string[];

beforeAll(async () => {
  const venv = ensureVenv();
  const dir = tmpDir("proxy");
  const emulator = await startEmulator(venv, "s3", dir);
  emulatorKeys = emulator.listObjects;
  db = createDb("rt_proxy");
  const port = await freePort();
  serverPort = port;
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
  nginxPort = listenPort;
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

// uvicorn closes idle keep-alive connections after 5 s unless start.sh says otherwise.
const IDLE_MS = 7_000;

/** One HTTP/1.1 keep-alive connection read and written by hand, as a proxy or load balancer holds it. */
class KeepAliveConnection {
  private buf = Buffer.alloc(0);
  private closed: string | undefined;
  private wake: () => void = () => undefined;
  readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect({ host: "127.0.0.1", port });
    this.socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    const close = (why: string) => {
      this.closed ??= why;
      this.wake();
    };
    this.socket.on("end", () => close("the other side closed the connection"));
    this.socket.on("error", (e) => close(`socket error: ${e.message}`));
    this.socket.on("close", () => close("connection closed"));
  }

  async post(p: string, body: unknown): Promise<{ status: number; body: string }> {
    const payload = JSON.stringify(body);
    this.socket.write(
      `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nAuthorization: ${basicAuth()}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = this.parse();
      if (res) return res;
      if (this.closed) throw new Error(`no response to POST ${p}: ${this.closed}`);
      if (Date.now() > deadline) throw new Error(`no response to POST ${p} in 30 s`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 500);
      });
    }
  }

  /** A complete response at the head of the buffer (Content-Length or chunked), consumed; else undefined. */
  private parse(): { status: number; body: string } | undefined {
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return undefined;
    const head = this.buf.subarray(0, end).toString("latin1");
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    const rest = this.buf.subarray(end + 4);
    const length = /^content-length: *(\d+)$/im.exec(head);
    let body: Buffer;
    let used: number;
    if (length) {
      if (rest.length < Number(length[1])) return undefined;
      used = Number(length[1]);
      body = rest.subarray(0, used);
    } else if (/^transfer-encoding: *chunked$/im.test(head)) {
      const chunks: Buffer[] = [];
      let at = 0;
      for (;;) {
        const eol = rest.indexOf("\r\n", at);
        if (eol < 0) return undefined;
        const size = parseInt(rest.subarray(at, eol).toString(), 16);
        if (rest.length < eol + 2 + size + 2) return undefined;
        chunks.push(rest.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
        if (size === 0) break;
      }
      used = at;
      body = Buffer.concat(chunks);
    } else {
      throw new Error(`response without a length on a keep-alive connection:\n${head}`);
    }
    this.buf = this.buf.subarray(end + 4 + used);
    return { status, body: body.toString() };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Local ports of the established connections from nginx to the MLflow server. */
function upstreamConnections(): string[] {
  const out = execFileSync("ss", ["-Htn", "state", "established", `( dport = :${serverPort} )`], {
    encoding: "utf8",
    timeout: 10_000,
  });
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => line.trim().split(/\s+/)[2])
    .sort();
}

describe("a keep-alive connection left idle longer than uvicorn's default 5 s still serves a POST", () => {
  const create = (conn: KeepAliveConnection) =>
    conn.post("/api/2.0/mlflow/experiments/create", {
      name: `idle-${crypto.randomBytes(6).toString("hex")}`,
    });

  test("directly to the server, as the load balancer holds its connections", async () => {
    const conn = new KeepAliveConnection(serverPort);
    try {
      expect((await create(conn)).status).toBe(200);
      await sleep(IDLE_MS);
      expect((await create(conn)).status).toBe(200);
    } finally {
      conn.close();
    }
  });

  test("through nginx: its upstream connection survives the idle time and serves the POST", async () => {
    const conn = new KeepAliveConnection(nginxPort);
    try {
      expect((await create(conn)).status).toBe(200);
      const before = upstreamConnections();
      expect(before.length).toBeGreaterThan(0);
      await sleep(IDLE_MS);
      // Closed by the server while nginx still counted on it, a POST on it would be a 502.
      expect(upstreamConnections()).toEqual(before);
      expect((await create(conn)).status).toBe(200);
      expect(upstreamConnections()).toEqual(before); // served on a kept connection, none opened
    } finally {
      conn.close();
    }
  });
});

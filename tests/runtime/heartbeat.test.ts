// The EC2 heartbeat for real: server/heartbeat.py, with the server venv's boto3, probes /health through
// nginx (the rendered config) and puts 1 or 0 into CloudWatch (moto) for the instance IMDSv2 names (a fake
// metadata service that refuses requests without a session token), and the count of 5xx answers in nginx's
// access log since its last run, across a logrotate. The units pass systemd-analyze verify.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { connect as tlsConnect } from "tls";
import {
  HEARTBEAT,
  SERVER_ERRORS_METRIC,
  CERTIFICATE_METRIC,
  renderHeartbeatServiceUnit,
  renderHeartbeatTimerUnit,
  renderNginxConfig,
} from "../../server/render";
import {
  SERVER_DIR,
  ensureVenv,
  freePort,
  httpStatus,
  killAll,
  pythonEnv,
  runAsync,
  startProcess,
  tmpDir,
  waitFor,
} from "./support/proc";

jest.setTimeout(300_000);

const INSTANCE_ID = "i-0123456789abcdef0";
const NAMESPACE = "mlflow-platform/mlflow-test";
const AWS = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_REGION: "eu-west-1" };

let venv = "";
let dir = "";
let cloudwatch = "";
let imds = "";
let healthUrl = "";
let nginxUrl = "";
let accessLog = "";
let stateDirectory = "";
let upstreamStatus = 200;
let upstreamPort = 0;
const servers: http.Server[] = [];

/** A loopback HTTP server on a free port. */
async function serve(handler: http.RequestListener): Promise<number> {
  const port = await freePort();
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return port;
}

beforeAll(async () => {
  venv = ensureVenv();
  dir = tmpDir("heartbeat");
  fs.chmodSync(dir, 0o755); // nginx's workers (nobody) reopen their logs here on USR1
  const motoPort = await freePort();
  const moto = startProcess(
    "moto",
    path.join(venv, "bin", "moto_server"),
    ["-H", "127.0.0.1", "-p", String(motoPort)],
    {
      env: pythonEnv(),
      logFile: path.join(dir, "moto.log"),
    },
  );
  cloudwatch = `http://127.0.0.1:${motoPort}`;
  // IMDSv2 only: a token from PUT, then the token on every GET.
  const imdsPort = await serve((req, res) => {
    if (
      req.method === "PUT" &&
      req.url === "/latest/api/token" &&
      req.headers["x-aws-ec2-metadata-token-ttl-seconds"]
    ) {
      res.end("session-token");
    } else if (
      req.method === "GET" &&
      req.url === "/latest/meta-data/instance-id" &&
      req.headers["x-aws-ec2-metadata-token"] === "session-token"
    ) {
      res.end(INSTANCE_ID);
    } else {
      res.statusCode = 401;
      res.end();
    }
  });
  imds = `http://127.0.0.1:${imdsPort}`;
  // Stands in for MLflow behind nginx: /health answers upstreamStatus, /status/<code> that code.
  upstreamPort = await serve((req, res) => {
    const asked = /^\/status\/(\d{3})$/.exec(req.url ?? "");
    res.statusCode = req.url === "/health" ? upstreamStatus : asked ? Number(asked[1]) : 404;
    res.end(res.statusCode === 200 ? "OK" : "");
  });
  const listenPort = await freePort();
  accessLog = path.join(dir, "nginx-access.log");
  stateDirectory = tmpDir("heartbeat-state");
  const conf = path.join(dir, "nginx.conf");
  fs.writeFileSync(
    conf,
    renderNginxConfig({
      listenPort,
      listenAddress: "127.0.0.1",
      upstreamPort,
      serverNames: ["203.0.113.10"],
      pidFile: path.join(dir, "nginx.pid"),
      errorLog: path.join(dir, "nginx-error.log"),
      accessLog,
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
  healthUrl = `${nginxUrl}/health`;
  await waitFor("nginx", async () => (await httpStatus(healthUrl)) === 200, 30_000, nginx);
  await waitFor("moto", async () => (await httpStatus(`${cloudwatch}/moto-api/`)) < 500, 60_000, moto);
});

afterAll(async () => {
  await killAll();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** The Environment= lines of the rendered unit, as systemd would set them. */
function unitEnvironment(tls?: { healthUrl: string; certificate: string }): Record<string, string> {
  const unit = renderHeartbeatServiceUnit({ namespace: NAMESPACE, healthUrl, accessLog, ...tls });
  return Object.fromEntries(
    [...unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]] as [string, string]),
  );
}

function heartbeat(tls?: { healthUrl: string; certificate: string }) {
  return runAsync(path.join(venv, "bin", "python"), [path.join(SERVER_DIR, "heartbeat.py")], {
    cwd: dir,
    env: {
      ...AWS,
      ...unitEnvironment(tls),
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds,
      // What systemd sets for StateDirectory=.
      STATE_DIRECTORY: stateDirectory,
    },
    timeoutMs: 60_000,
  });
}

type Datapoint = { Minimum: number; Maximum: number; SampleCount: number; Sum: number };

/** What moto holds for a metric of INSTANCE_ID in the last hour, per minute. */
function datapoints(metric: string): Datapoint[] {
  const script = `
import boto3, datetime, json, sys
now = datetime.datetime.now(datetime.timezone.utc)
points = boto3.client("cloudwatch", region_name="eu-west-1").get_metric_statistics(
    Namespace=sys.argv[1], MetricName=sys.argv[2], Dimensions=[{"Name": "InstanceId", "Value": sys.argv[3]}],
    StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=5),
    Period=60, Statistics=["Minimum", "Maximum", "SampleCount", "Sum"])["Datapoints"]
print(json.dumps(points, default=str))
`;
  const out = spawnSync(path.join(venv, "bin", "python"), ["-c", script, NAMESPACE, metric, INSTANCE_ID], {
    encoding: "utf8",
    env: pythonEnv({ ...AWS, AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch }),
    timeout: 60_000,
  });
  expect(out.stderr).toBe("");
  return JSON.parse(out.stdout) as Datapoint[];
}

/** The values moto holds for the heartbeat metric (or `metric`) of INSTANCE_ID. */
function publishedValues(metric = unitEnvironment().MLFLOW_HEARTBEAT_METRIC): number[] {
  return datapoints(metric).flatMap((p) =>
    p.Minimum === p.Maximum ? Array(p.SampleCount).fill(p.Minimum) : [p.Minimum, p.Maximum],
  );
}

test("a healthy server through nginx publishes 1 for its instance id, asked with an IMDSv2 token", async () => {
  const run = await heartbeat();
  expect(run.output).toBe("");
  expect(run.status).toBe(0);
  expect(publishedValues()).toEqual([1]);
});

test("an unhealthy upstream (nginx answers 503) publishes 0, and says so", async () => {
  upstreamStatus = 503;
  try {
    const run = await heartbeat();
    expect(run.status).toBe(0);
    expect(run.output).toContain(`mlflow-heartbeat: ${healthUrl} is not healthy`);
  } finally {
    upstreamStatus = 200;
  }
  expect(publishedValues().sort()).toEqual([0, 1]);
});

/** The ServerErrors values published so far, summed. */
function serverErrorsTotal(): number {
  return datapoints(SERVER_ERRORS_METRIC.metricName).reduce((sum, p) => sum + p.Sum, 0);
}

/** GETs through nginx that the upstream answers with these codes. */
async function answer(...codes: number[]): Promise<void> {
  for (const code of codes) expect(await httpStatus(`${nginxUrl}/status/${code}`)).toBe(code);
}

/** One heartbeat run that succeeds; the ServerErrors value it published. */
async function serverErrorsOfOneRun(): Promise<number> {
  const before = serverErrorsTotal();
  const run = await heartbeat();
  expect(run.output).toBe("");
  expect(run.status).toBe(0);
  return serverErrorsTotal() - before;
}

test("the 5xx answers nginx logged since the last run are published, each once, across a logrotate", async () => {
  await serverErrorsOfOneRun(); // the position now (a first run starts at the end of the log)
  await answer(500, 502, 200, 404, 503);
  // A user name that looks like the rest of a line: nginx writes its quote as \x22, so it is not a status.
  const lookalike = Buffer.from('x] "GET / HTTP/1.1" 500 :p').toString("base64");
  expect(
    await httpStatus(`${nginxUrl}/status/200`, { headers: { Authorization: `Basic ${lookalike}` } }),
  ).toBe(200);
  expect(await serverErrorsOfOneRun()).toBe(3);
  expect(await serverErrorsOfOneRun()).toBe(0);

  // logrotate as Debian's nginx config does it: rename, create, then nginx reopens its logs on USR1. The
  // lines nginx wrote to the renamed file after the last run still count, once.
  await answer(504);
  fs.renameSync(accessLog, `${accessLog}.1`);
  await answer(500);
  fs.writeFileSync(accessLog, "");
  process.kill(Number(fs.readFileSync(path.join(dir, "nginx.pid"), "utf8")), "SIGUSR1");
  await waitFor(
    "nginx reopens its access log",
    async () => {
      await answer(200);
      return fs.statSync(accessLog).size > 0;
    },
    10_000,
  );
  await answer(502, 201);
  expect(await serverErrorsOfOneRun()).toBe(3);

  // copytruncate: the log shrinks below the kept position and is read from its start.
  await answer(200, 200, 200);
  expect(await serverErrorsOfOneRun()).toBe(0);
  fs.truncateSync(accessLog, 0);
  await answer(503);
  expect(await serverErrorsOfOneRun()).toBe(1);
});

test("a line still being written counts once complete; a line in another format is reported", async () => {
  await serverErrorsOfOneRun();
  const line = '127.0.0.1 - - [06/Dec/2026:03:04:05 +0000] "GET /x HTTP/1.1" 500 0 "-" "test"';
  fs.appendFileSync(accessLog, line);
  expect(await serverErrorsOfOneRun()).toBe(0);
  fs.appendFileSync(accessLog, "\n");
  expect(await serverErrorsOfOneRun()).toBe(1);

  fs.appendFileSync(accessLog, "not an access log line\n");
  const run = await heartbeat();
  expect(run.status).toBe(0);
  expect(run.output).toContain(`mlflow-heartbeat: ${accessLog}: 1 line(s) without a status`);
});

test("an unreadable access log costs the 5xx count, not the health metric", async () => {
  const samples = (metric: string) => datapoints(metric).reduce((n, p) => n + p.SampleCount, 0);
  const healthy = samples(HEARTBEAT.metricName);
  const errors = samples(SERVER_ERRORS_METRIC.metricName);
  const run = await runAsync(path.join(venv, "bin", "python"), [path.join(SERVER_DIR, "heartbeat.py")], {
    cwd: dir,
    env: {
      ...AWS,
      ...unitEnvironment(),
      MLFLOW_HEARTBEAT_ACCESS_LOG: path.join(dir, "no-such.log"),
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds,
      STATE_DIRECTORY: stateDirectory,
    },
    timeoutMs: 60_000,
  });
  expect(run.status).toBe(0);
  expect(run.output).toMatch(/mlflow-heartbeat: no 5xx count: FileNotFoundError/);
  expect(samples(HEARTBEAT.metricName)).toBe(healthy + 1);
  expect(samples(SERVER_ERRORS_METRIC.metricName)).toBe(errors);
});

test("without the metadata service the heartbeat fails instead of publishing for no instance", async () => {
  const before = publishedValues().length;
  const run = await runAsync(path.join(venv, "bin", "python"), [path.join(SERVER_DIR, "heartbeat.py")], {
    cwd: dir,
    env: {
      ...AWS,
      ...unitEnvironment(),
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `${imds}/nothing-here`,
    },
    timeoutMs: 60_000,
  });
  expect(run.status).not.toBe(0);
  expect(publishedValues()).toHaveLength(before);
});

test("with HTTPS: probes nginx on https://127.0.0.1 and publishes the certificate's days left (0 while self-signed)", async () => {
  const tlsDir = path.join(dir, "tls");
  fs.mkdirSync(tlsDir);
  const certificate = path.join(tlsDir, "fullchain.pem");
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-days",
    "30",
    "-subj",
    "/CN=203.0.113.10",
    "-addext",
    "subjectAltName=IP:203.0.113.10",
    "-keyout",
    path.join(tlsDir, "privkey.pem"),
    "-out",
    certificate,
  );
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, "nginx-tls.conf");
  fs.writeFileSync(
    conf,
    renderNginxConfig({
      listenPort: httpPort,
      listenAddress: "127.0.0.1",
      upstreamPort,
      serverNames: ["203.0.113.10"],
      pidFile: path.join(dir, "nginx-tls.pid"),
      errorLog: path.join(dir, "nginx-tls-error.log"),
      accessLog: path.join(dir, "nginx-tls-access.log"),
      tempDir: dir,
      tls: { httpsPort, certificate, key: path.join(tlsDir, "privkey.pem"), acmeWebroot: dir },
    }),
  );
  const nginx = startProcess(
    "nginx-tls",
    "nginx",
    ["-c", conf, "-e", path.join(dir, "nginx-tls-error.log"), "-g", "daemon off;"],
    { cwd: dir },
  );
  const tls = { healthUrl: `https://127.0.0.1:${httpsPort}/health`, certificate };
  await waitFor(
    "nginx over https",
    async () => (await httpStatus(`http://127.0.0.1:${httpPort}/`, { redirect: "manual" })) === 301,
    30_000,
    nginx,
  );
  const selfSigned = await heartbeat(tls);
  // Healthy through HTTPS: the script says nothing (it names the URL when it publishes 0).
  expect(selfSigned.output).toBe("");
  expect(selfSigned.status).toBe(0);
  expect(publishedValues(CERTIFICATE_METRIC.metricName)).toEqual([0]);
  // A certificate from a CA (what tls.sh deploy installs), 30 days: about 30 days left.
  openssl(
    "req",
    "-x509",
    ...ec,
    "-days",
    "2",
    "-subj",
    "/CN=test CA",
    "-keyout",
    path.join(tlsDir, "ca.key"),
    "-out",
    path.join(tlsDir, "ca.pem"),
  );
  openssl(
    "req",
    ...ec,
    "-subj",
    "/CN=203.0.113.10",
    "-keyout",
    path.join(tlsDir, "leaf.key"),
    "-out",
    path.join(tlsDir, "leaf.csr"),
  );
  openssl(
    "x509",
    "-req",
    "-in",
    path.join(tlsDir, "leaf.csr"),
    "-CA",
    path.join(tlsDir, "ca.pem"),
    "-CAkey",
    path.join(tlsDir, "ca.key"),
    "-CAcreateserial",
    "-days",
    "30",
    "-out",
    certificate,
  );
  // Installed but not served yet (no reload): clients still get the stand-in, and so does the metric.
  expect((await heartbeat(tls)).status).toBe(0);
  expect(publishedValues(CERTIFICATE_METRIC.metricName)).toEqual([0, 0]);
  fs.copyFileSync(path.join(tlsDir, "leaf.key"), path.join(tlsDir, "privkey.pem"));
  process.kill(Number(fs.readFileSync(path.join(dir, "nginx-tls.pid"), "utf8")), "SIGHUP");
  await waitFor(
    "nginx serves the CA's certificate",
    async () => {
      const served = await new Promise<string>((resolve) => {
        const socket = tlsConnect({ host: "127.0.0.1", port: httpsPort, rejectUnauthorized: false }, () => {
          resolve(String(socket.getPeerCertificate().issuer?.CN ?? ""));
          socket.end();
        });
        socket.on("error", () => resolve(""));
      });
      return served === "test CA";
    },
    10_000,
  );
  expect((await heartbeat(tls)).status).toBe(0);
  const trusted = Math.max(...publishedValues(CERTIFICATE_METRIC.metricName));
  expect(trusted).toBeGreaterThan(29.9);
  expect(trusted).toBeLessThanOrEqual(30);
  // Plain mode publishes no certificate metric.
  expect(unitEnvironment().MLFLOW_TLS_CERTIFICATE).toBeUndefined();
});

test("systemd-analyze verify accepts the rendered heartbeat service and its timer", () => {
  const unitDir = tmpDir("systemd-heartbeat");
  const python = path.join(unitDir, "venv", "bin", "python");
  fs.mkdirSync(path.dirname(python), { recursive: true });
  fs.writeFileSync(python, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const envFile = path.join(unitDir, "mlflow.env");
  fs.writeFileSync(envFile, "A=1\n");
  const service = path.join(unitDir, "mlflow-heartbeat.service");
  const timer = path.join(unitDir, "mlflow-heartbeat.timer");
  fs.writeFileSync(
    service,
    renderHeartbeatServiceUnit({ namespace: NAMESPACE, envFile, venv: path.join(unitDir, "venv") }),
  );
  fs.writeFileSync(timer, renderHeartbeatTimerUnit());
  const result = spawnSync("systemd-analyze", ["verify", service, timer], {
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/error|invalid|unknown|ignoring/i);
  expect(result.status).toBe(0);
});

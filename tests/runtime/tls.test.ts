// HTTPS on the EC2 server for real (issue 11, docs/https.md): Pebble (Let's Encrypt's ACME test server) and
// its DNS (pebble-challtestsrv) on loopback, the rendered nginx, server/tls.sh run as the rendered certificate
// units run it, and certbot from server/requirements-acme.txt. Before issuance nginx serves a self-signed
// stand-in; an IP identifier (127.0.0.1) is validated by http-01 through nginx and issued; the units obtain a
// certificate for a name that resolves to 127.0.0.1; the MLflow client (trusting Pebble's root only here) logs a
// run with auth over HTTPS; plain HTTP only redirects; a forced renewal swaps the certificate under a busy
// client; with Pebble stopped a fresh server keeps the stand-in, backs off, and takes no clear-text request.
//
// Why the full cycle runs on a name and not on 127.0.0.1: Pebble 2.4 (Debian's) copies an IP identifier into
// the certificate's Common Name, which certbot 5.8 reads as a DNS name and rejects after saving the certificate
// (certbot#10773). Let's Encrypt's IP certificates (shortlived profile) carry no Common Name.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";
import { renderCertServiceUnit, renderNginxConfig, renderTlsEnv } from "../../server/render";
import {
  createDb,
  dbUri,
  dropDb,
  ensureAcmeVenv,
  ensureVenv,
  freePort,
  killAll,
  Proc,
  pythonEnv,
  runAsync,
  SERVER_DIR,
  sleep,
  startProcess,
  tmpDir,
  waitFor,
} from "./support/proc";
import { baseConfig, basicAuth, directSecrets, runClient, startEmulator, startServer } from "./support/stack";

jest.setTimeout(900_000);

let dir = "";
let venv = "";
let db = "";
let pebble: Proc;
let pebbleCa = ""; // the CA of Pebble's own HTTPS endpoint (certbot's REQUESTS_CA_BUNDLE)
let pebbleRoot = ""; // the root Pebble signs issued certificates with (the MLflow client's trust)
let httpPort = 0;
let httpsPort = 0;
let nginxConf = "";
let tlsEnv: Record<string, string> = {};
let ipTlsEnv: Record<string, string> = {};
/** What the main flow's certificate names: Pebble's DNS answers 127.0.0.1 for it. */
const NAME = "mlflow.test";
const servers: (http.Server | net.Server)[] = [];
/** The first bytes of every chunk nginx sends MLflow (request lines included), seen by a transparent TCP relay. */
let toMlflow = "";
const tlsDir = () => tlsEnv.MLFLOW_TLS_DIR;

/** KEY="value" lines of a rendered env file, as systemd's EnvironmentFile= reads them. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^([A-Z0-9_]+)="((?:[^"\\]|\\.)*)"$/gm))
    env[m[1]] = m[2].replace(/\\(.)/g, "$1");
  return env;
}

/** The command line of a rendered unit's ExecStart=. */
function execStart(unit: string): string[] {
  const line = /^ExecStart=(.+)$/m.exec(unit);
  if (!line) throw new Error("no ExecStart");
  return line[1].split(" ");
}

/** Run one of the certificate units' commands (tls.sh) with tls.env, as systemd would. */
async function runUnit(action: "issue" | "renew", ...args: string[]) {
  return runUnitWith(tlsEnv, action, ...args);
}

async function runUnitWith(env: Record<string, string>, action: "issue" | "renew", ...args: string[]) {
  const unit = renderCertServiceUnit(action, { script: path.join(SERVER_DIR, "tls.sh") });
  // With the unit's UMask: certbot's challenge files must still be readable by nginx's workers.
  const umask = /^UMask=(\d+)$/m.exec(unit)?.[1];
  expect(umask).toBe("0077");
  const command = [...execStart(unit), ...args];
  return runAsync("sh", ["-c", `umask ${umask}; exec "$@"`, "sh", ...command], {
    cwd: dir,
    env,
    timeoutMs: 300_000,
  });
}

interface Served {
  status: number;
  location?: string;
  serial: string;
  selfSigned: boolean;
  authorized: boolean;
  subjectaltname?: string;
}

/**
 * One HTTPS (or HTTP) request on a new connection to 127.0.0.1, with the certificate the server presented;
 * TLS asks for (and checks) NAME.
 */
function request(url: string, headers: Record<string, string> = {}, ca?: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith("https:") ? https : http;
    const req = lib.get(
      url,
      { headers, timeout: 10_000, agent: false, ca, rejectUnauthorized: false, servername: NAME },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const cert = socket.getPeerCertificate ? socket.getPeerCertificate() : undefined;
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            serial: cert?.serialNumber ?? "",
            selfSigned: cert ? JSON.stringify(cert.issuer) === JSON.stringify(cert.subject) : false,
            authorized: socket.authorized ?? false,
            subjectaltname: cert?.subjectaltname,
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

const httpsUrl = (p: string) => `https://127.0.0.1:${httpsPort}${p}`;
const SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1";

function openssl(...args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A CA and a certificate for 127.0.0.1 signed by it: Pebble's own HTTPS endpoint. */
function pebbleEndpointCert(): { cert: string; key: string; ca: string } {
  const p = (n: string) => path.join(dir, n);
  openssl(
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...[
      "-days",
      "2",
      "-subj",
      "/CN=test pebble CA",
      "-keyout",
      p("pebble-ca.key"),
      "-out",
      p("pebble-ca.pem"),
    ],
  );
  openssl(
    ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=pebble"],
    ...["-keyout", p("pebble.key"), "-out", p("pebble.csr")],
  );
  fs.writeFileSync(p("pebble.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(
    ...["x509", "-req", "-in", p("pebble.csr"), "-CA", p("pebble-ca.pem"), "-CAkey", p("pebble-ca.key")],
    ...["-CAcreateserial", "-days", "2", "-extfile", p("pebble.ext"), "-out", p("pebble.pem")],
  );
  return { cert: p("pebble.pem"), key: p("pebble.key"), ca: p("pebble-ca.pem") };
}

/** Pebble's DNS: every name is 127.0.0.1 (no AAAA, so the validator does not try ::1). */
async function startChallengeDns(): Promise<number> {
  const dnsPort = await freePort();
  const proc = startProcess(
    "pebble-challtestsrv",
    "pebble-challtestsrv",
    [
      ...["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", `127.0.0.1:${dnsPort}`],
      ...["-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${await freePort()}`],
    ],
    { cwd: dir, env: { PATH: process.env.PATH }, logFile: path.join(dir, "challtestsrv.log") },
  );
  await waitFor("pebble DNS", async () => proc.output().includes("Starting management server"), 30_000, proc);
  return dnsPort;
}

async function startPebble(acmePort: number, managementPort: number): Promise<Proc> {
  const dnsPort = await startChallengeDns();
  const endpoint = pebbleEndpointCert();
  pebbleCa = endpoint.ca;
  const config = path.join(dir, "pebble-config.json");
  fs.writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: endpoint.cert,
        privateKey: endpoint.key,
        // Where Pebble's validator connects for http-01: nginx's port 80 stand-in.
        httpPort,
        tlsPort: await freePort(),
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const proc = startProcess("pebble", "pebble", ["-config", config, "-dnsserver", `127.0.0.1:${dnsPort}`], {
    cwd: dir,
    env: { PATH: process.env.PATH, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
    logFile: path.join(dir, "pebble.log"),
  });
  await waitFor(
    "pebble",
    async () => (await request(`https://127.0.0.1:${acmePort}/dir`, {}, pebbleCa)).status === 200,
    30_000,
    proc,
  );
  // The root of what Pebble issues; regenerated at each start.
  pebbleRoot = path.join(dir, "pebble-root.pem");
  const root = await new Promise<string>((resolve, reject) =>
    https
      .get(`https://127.0.0.1:${managementPort}/roots/0`, { ca: fs.readFileSync(pebbleCa) }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve(body));
      })
      .on("error", reject),
  );
  expect(root).toMatch(/BEGIN CERTIFICATE/);
  fs.writeFileSync(pebbleRoot, root);
  return proc;
}

/** A TCP relay in front of MLflow that keeps the head of each chunk nginx sends (bounded), and changes nothing. */
async function relayTo(port: number): Promise<number> {
  const relayPort = await freePort();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    client.on("data", (d: Buffer) => {
      if (toMlflow.length < 5_000_000) toMlflow += d.toString("latin1", 0, 300) + "\n";
    });
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(relayPort, "127.0.0.1", resolve));
  return relayPort;
}

/** IMDSv2 that says the instance's public IPv4 is 127.0.0.1 (the Elastic IP is associated). */
async function fakeImds(): Promise<string> {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    if (req.method === "PUT" && req.url === "/latest/api/token") res.end("token-1");
    else if (req.headers["x-aws-ec2-metadata-token"] !== "token-1") res.writeHead(401).end();
    else if (req.url === "/latest/meta-data/public-ipv4") res.end("127.0.0.1");
    else res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return `http://127.0.0.1:${port}`;
}

function reloadNginx(): void {
  execFileSync("nginx", ["-c", nginxConf, "-e", path.join(dir, "nginx-error.log"), "-s", "reload"]);
}

beforeAll(async () => {
  venv = ensureVenv();
  const acmeVenv = ensureAcmeVenv();
  dir = tmpDir("tls");
  // nginx's workers (nobody, under a root master) read the challenge files below it, as www-data does on EC2.
  fs.chmodSync(dir, 0o755);
  [httpPort, httpsPort] = [await freePort(), await freePort()];
  const [acmePort, managementPort] = [await freePort(), await freePort()];
  pebble = await startPebble(acmePort, managementPort);

  const emulator = await startEmulator(venv, "s3", dir);
  db = createDb("rt_tls");
  const port = await freePort();
  await startServer({
    venv,
    dir,
    config: baseConfig(emulator.destination, port, {
      allowedHosts: ["203.0.113.10", "mlflow.example.com", NAME],
    }),
    env: { ...directSecrets(dbUri(db)), ...emulator.serverEnv },
  });

  nginxConf = path.join(dir, "nginx.conf");
  const rendered = parseEnvFile(
    renderTlsEnv({
      mode: "acme",
      identifier: NAME,
      directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
      challenge: "http-01",
    }),
  );
  // The rendered settings, with the server's paths moved under the test's directory.
  tlsEnv = {
    ...rendered,
    MLFLOW_TLS_DIR: path.join(dir, "tls"),
    MLFLOW_TLS_WEBROOT: path.join(dir, "acme-webroot"),
    MLFLOW_TLS_STATE_DIR: path.join(dir, "tls-state"),
    MLFLOW_ACME_VENV: acmeVenv,
    MLFLOW_TLS_RELOAD: `nginx -c ${nginxConf} -e ${path.join(dir, "nginx-error.log")} -s reload`,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: await fakeImds(),
    REQUESTS_CA_BUNDLE: pebbleCa,
  };
  // The same server with the Elastic IP as its identifier: its own certificate and certbot state.
  ipTlsEnv = {
    ...tlsEnv,
    MLFLOW_TLS_IDENTIFIER: "127.0.0.1",
    MLFLOW_TLS_DIR: path.join(dir, "ip-tls"),
    MLFLOW_TLS_STATE_DIR: path.join(dir, "ip-tls-state"),
  };
  fs.writeFileSync(
    nginxConf,
    renderNginxConfig({
      listenPort: httpPort,
      listenAddress: "127.0.0.1",
      upstreamPort: await relayTo(port),
      serverNames: [NAME, "127.0.0.1"],
      pidFile: path.join(dir, "nginx.pid"),
      errorLog: path.join(dir, "nginx-error.log"),
      accessLog: path.join(dir, "nginx-access.log"),
      tempDir: dir,
      tls: {
        httpsPort,
        certificate: path.join(tlsDir(), "fullchain.pem"),
        key: path.join(tlsDir(), "privkey.pem"),
        acmeWebroot: tlsEnv.MLFLOW_TLS_WEBROOT,
      },
    }),
  );
  // As boot.sh: the stand-in first, then nginx.
  const standIn = await runAsync(path.join(SERVER_DIR, "tls.sh"), ["self-signed"], { cwd: dir, env: tlsEnv });
  expect(standIn.status).toBe(0);
  const nginx = startProcess(
    "nginx",
    "nginx",
    ["-c", nginxConf, "-e", path.join(dir, "nginx-error.log"), "-g", "daemon off;"],
    { cwd: dir },
  );
  await waitFor(
    "nginx over https",
    async () => (await request(httpsUrl("/health"))).status === 200,
    30_000,
    nginx,
  );
}, 900_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await killAll();
  if (db) dropDb(db);
});

/** What a new connection gets once nginx's reload (asynchronous, as `systemctl reload` is) serves another serial. */
async function servedOtherThan(serial: string, ca: string): Promise<Served> {
  return waitFor(
    "nginx serving the new certificate",
    async () => {
      const served = await request(httpsUrl("/health"), {}, ca);
      return served.serial !== serial && served;
    },
    10_000,
  );
}

/** Modes of what nginx reads: the key only for root, the certificate and its dir for the heartbeat's user. */
function modes(): number[] {
  return ["", "fullchain.pem", "privkey.pem"].map((f) => fs.statSync(path.join(tlsDir(), f)).mode & 0o777);
}

/** The heartbeat's CertificateDaysLeft for what nginx serves at `url` (server/heartbeat.py, the server venv). */
function daysLeft(url: string): number {
  const code = `import sys; sys.path.insert(0, sys.argv[1]); import heartbeat; print(heartbeat.certificate_days_left(sys.argv[2]))`;
  return Number(
    execFileSync(path.join(venv, "bin", "python"), ["-c", code, SERVER_DIR, url], {
      env: pythonEnv(),
      encoding: "utf8",
    }).trim(),
  );
}

describe("in order, like a server's life", () => {
  test("before issuance: HTTPS with the self-signed stand-in for the identifier; HTTP only redirects", async () => {
    const served = await request(httpsUrl("/health"));
    expect(served.status).toBe(200);
    expect(served.selfSigned).toBe(true);
    expect(served.subjectaltname).toBe(`DNS:${NAME}`);
    expect(daysLeft(httpsUrl("/health"))).toBe(0);
    expect(modes()).toEqual([0o755, 0o644, 0o600]);
    const plain = await request(`http://127.0.0.1:${httpPort}${SEARCH}`, { Authorization: basicAuth() });
    expect(plain.status).toBe(301);
    expect(plain.location).toBe(httpsUrl(SEARCH));
  });

  test("an Elastic IP not yet associated: no order is placed (no failed validation), the try is backed off", async () => {
    const env = {
      ...ipTlsEnv,
      MLFLOW_TLS_IDENTIFIER: "203.0.113.10", // the fake IMDS says the public IPv4 is 127.0.0.1
      MLFLOW_TLS_STATE_DIR: path.join(dir, "eip-tls-state"),
      MLFLOW_TLS_EIP_WAIT_SECONDS: "0",
    };
    const run = await runUnitWith(env, "issue");
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/public IPv4 is '127\.0\.0\.1', not 203\.0\.113\.10/);
    expect(run.output).toMatch(/issuance failed \(1 in a row\); next try in 300s/);
    expect(fs.existsSync(path.join(env.MLFLOW_TLS_STATE_DIR, "letsencrypt"))).toBe(false); // certbot never ran
  });

  test("an IP identifier: the EIP wait, then http-01 through nginx, and Pebble issues for 127.0.0.1", async () => {
    const standIn = await runAsync(path.join(SERVER_DIR, "tls.sh"), ["self-signed"], {
      cwd: dir,
      env: ipTlsEnv,
    });
    expect(standIn.status).toBe(0);
    const ipStandIn = openssl(
      "x509",
      "-noout",
      "-ext",
      "subjectAltName",
      "-in",
      path.join(ipTlsEnv.MLFLOW_TLS_DIR, "fullchain.pem"),
    );
    expect(ipStandIn).toMatch(/IP Address:127\.0\.0\.1/);
    const run = await runUnitWith(ipTlsEnv, "issue");
    expect(run.output).toMatch(/Requesting a certificate for 127\.0\.0\.1/);
    const issued = path.join(ipTlsEnv.MLFLOW_TLS_STATE_DIR, "letsencrypt/live/mlflow/cert.pem");
    const text = openssl("x509", "-noout", "-issuer", "-ext", "subjectAltName", "-in", issued);
    expect(text).toMatch(/issuer=CN = Pebble Intermediate CA/);
    expect(text).toMatch(/IP Address:127\.0\.0\.1/);
    const renewal = path.join(ipTlsEnv.MLFLOW_TLS_STATE_DIR, "letsencrypt/renewal/mlflow.conf");
    expect(fs.readFileSync(renewal, "utf8")).toMatch(/^preferred_profile = shortlived$/m);
    // certbot 5.8 then rejects Pebble's CN=127.0.0.1 (certbot#10773): a failed try, backed off; the stand-in stays.
    expect(run.output).toMatch(/is an IP address/);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/issuance failed \(1 in a row\)/);
    // The next try, once the backoff has passed: certbot saved the certificate before it failed, so the unit
    // installs the saved one instead of doing nothing (or ordering again) while nginx serves the stand-in.
    const backoff = path.join(ipTlsEnv.MLFLOW_TLS_STATE_DIR, "issue-backoff");
    fs.writeFileSync(backoff, `1 ${Math.floor(Date.now() / 1000) - 1}\n`);
    const retry = await runUnitWith(ipTlsEnv, "issue");
    expect(retry.output).toMatch(/saved but not installed: installing it/);
    expect(retry.output).not.toMatch(/Requesting a certificate/);
    expect(retry.status).toBe(0);
    expect(fs.existsSync(backoff)).toBe(false);
    const installed = path.join(ipTlsEnv.MLFLOW_TLS_DIR, "fullchain.pem");
    expect(openssl("x509", "-noout", "-issuer", "-in", installed)).toMatch(
      /issuer=CN = Pebble Intermediate CA/,
    );
  });

  test("the issue unit obtains a certificate by http-01; a second run leaves it alone", async () => {
    const before = await request(httpsUrl("/health"));
    const run = await runUnit("issue");
    expect(run.output).toMatch(/certificate for mlflow\.test issued/);
    expect(run.status).toBe(0);
    const served = await servedOtherThan(before.serial, fs.readFileSync(pebbleRoot, "utf8"));
    expect(served.authorized).toBe(true);
    expect(served.selfSigned).toBe(false);
    expect(served.serial).not.toBe(before.serial);
    expect(served.subjectaltname).toBe(`DNS:${NAME}`);
    // certbot decides renewal by ARI or half a short lifetime: no renew_before_expiry that would renew each run.
    const renewal = fs.readFileSync(
      path.join(tlsEnv.MLFLOW_TLS_STATE_DIR, "letsencrypt/renewal/mlflow.conf"),
      "utf8",
    );
    expect(renewal).not.toMatch(/^renew_before_expiry/m);
    expect(renewal).not.toMatch(/profile/); // a name gets the CA's default profile
    expect(renewal).toMatch(/^renew_hook = .*tls\.sh deploy$/m);
    expect(daysLeft(httpsUrl("/health"))).toBeGreaterThan(1);
    expect(modes()).toEqual([0o755, 0o644, 0o600]);
    const again = await runUnit("issue");
    expect(again.status).toBe(0);
    expect((await request(httpsUrl("/health"))).serial).toBe(served.serial);
    // The renew unit is a no-op while the certificate is not due.
    const renew = await runUnit("renew");
    expect(renew.status).toBe(0);
    expect(renew.output).toMatch(/not yet due for renewal/);
    expect((await request(httpsUrl("/health"))).serial).toBe(served.serial);
  });

  test("the MLflow client, trusting Pebble's root, logs a run with auth over HTTPS", async () => {
    const nameUrl = `https://${NAME}:${httpsPort}`;
    // The client resolves NAME to 127.0.0.1 as an /etc/hosts line would (support/resolve/sitecustomize.py).
    const resolveName = {
      PYTHONPATH: path.join(__dirname, "support", "resolve"),
      MLFLOW_TEST_HOSTS: `${NAME}=127.0.0.1`,
    };
    const result = await runClient(venv, nameUrl, "tls-roundtrip", {
      MLFLOW_TRACKING_SERVER_CERT_PATH: pebbleRoot,
      ...resolveName,
    });
    expect(result.run_id).toMatch(/^[0-9a-f]{32}$/);
    // Without that trust the client refuses the server (nothing is sent in the clear instead).
    await expect(
      runClient(venv, nameUrl, "tls-untrusted", { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0", ...resolveName }),
    ).rejects.toThrow(/CERTIFICATE_VERIFY_FAILED|SSLError/);
  });

  test("HTTP answers every request, credentials or not, with a redirect to HTTPS; only challenges are served", async () => {
    for (const p of [SEARCH, "/health", "/api/2.0/mlflow/runs/create", "/"]) {
      const r = await request(`http://127.0.0.1:${httpPort}${p}`, { Authorization: basicAuth() });
      expect(r.status).toBe(301);
      expect(r.location).toBe(httpsUrl(p));
    }
    const challenge = await request(`http://127.0.0.1:${httpPort}/.well-known/acme-challenge/unknown`);
    expect(challenge.status).toBe(404);
  });

  test("a forced renewal replaces the certificate while a client keeps working (zero failures)", async () => {
    const ca = fs.readFileSync(pebbleRoot, "utf8");
    const before = (await request(httpsUrl("/health"), {}, ca)).serial;
    const agent = new https.Agent({ keepAlive: true, ca });
    const results = { ok: 0, failed: [] as string[] };
    let stop = false;
    const loop = (async () => {
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          const status = await new Promise<number>((resolve, reject) => {
            const req = https.get(
              httpsUrl(SEARCH),
              { agent, servername: NAME, headers: { Authorization: basicAuth() }, timeout: 10_000 },
              (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
              },
            );
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.on("error", reject);
          });
          if (status === 200) results.ok++;
          else results.failed.push(String(status));
        } catch (e) {
          results.failed.push(String(e));
        }
        await sleep(20); // a steady client, not a load test: certbot shares the two cores
      }
    })();
    const renew = await runUnit("renew", "--force-renewal");
    stop = true;
    await loop;
    agent.destroy();
    expect(renew.output).toMatch(/installed serial=/);
    expect(renew.status).toBe(0);
    expect(results.failed).toEqual([]);
    expect(results.ok).toBeGreaterThan(5);
    const after = await servedOtherThan(before, ca);
    expect(after.authorized).toBe(true);
    expect(after.serial).not.toBe(before);
  });

  test("Pebble stopped, a fresh server: the stand-in is served, issuance backs off, HTTP still only redirects", async () => {
    await pebble.kill();
    // A new instance: no certificate yet (the same nginx, reloaded onto the new stand-in).
    for (const d of [tlsEnv.MLFLOW_TLS_DIR, tlsEnv.MLFLOW_TLS_STATE_DIR])
      fs.rmSync(d, { recursive: true, force: true });
    expect(
      (await runAsync(path.join(SERVER_DIR, "tls.sh"), ["self-signed"], { cwd: dir, env: tlsEnv })).status,
    ).toBe(0);
    reloadNginx();
    await waitFor("stand-in served", async () => (await request(httpsUrl("/health"))).selfSigned, 30_000);
    const failed = await runUnit("issue");
    expect(failed.status).not.toBe(0);
    expect(failed.output).toMatch(/issuance failed \(1 in a row\); next try in 300s/);
    const skipped = await runUnit("issue");
    expect(skipped.status).toBe(0);
    expect(skipped.output).toMatch(/backing off after 1 failed tries/);
    const served = await request(httpsUrl("/health"));
    expect(served.status).toBe(200);
    expect(served.selfSigned).toBe(true);
    const plain = await request(`http://127.0.0.1:${httpPort}${SEARCH}`, { Authorization: basicAuth() });
    expect(plain.status).toBe(301);
    const wrong = await request(`http://127.0.0.1:${httpPort}${SEARCH}`, {
      Authorization: basicAuth("admin", "wrong"),
    });
    // A wrong password would be MLflow's 401 if it were proxied: nginx redirects before MLflow sees it.
    expect(wrong.status).toBe(301);
    // And MLflow never sees a request that came over HTTP: the relay saw the HTTPS one, not the HTTP one.
    const marker = (via: string) => `/api/2.0/mlflow/experiments/search?max_results=1&via=${via}`;
    expect(
      (await request(`http://127.0.0.1:${httpPort}${marker("http")}`, { Authorization: basicAuth() })).status,
    ).toBe(301);
    expect((await request(httpsUrl(marker("https")), { Authorization: basicAuth() })).status).toBe(200);
    expect(toMlflow).toContain(`GET ${marker("https")} HTTP/1.1`);
    expect(toMlflow).not.toContain("via=http ");
  });
});

// The database URI's TLS for real: a throwaway PostgreSQL cluster that speaks only TLS (hostssl), with a
// certificate for db.test.internal from a test CA, reached through the server's own code path
// (runtime_helper.py migrate: psycopg2 for the lock, SQLAlchemy for the tracking and basic-auth schemas;
// runtime_helper.py gc: psycopg2) with URIs shaped like the one the stack stores. verify-full connects with
// the right CA; it refuses the wrong CA (the vendored RDS bundle: to it this server is an impostor) and a
// host name the certificate lacks; sslmode=require, the URI before, hands the password to the impostor.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { VERIFIED_TLS } from "../../components/metadataDatabase";
import { RDS_CA_BUNDLE_PATH } from "../../server/render";
import { SERVER_DIR, ensureVenv, freePort, runAsync } from "./support/proc";

const HOST = "db.test.internal";
const PASSWORD = "Tls-test-Passw0rd-4410";
const VENDORED_BUNDLE = path.join(SERVER_DIR, "rds-ca-bundle.pem");

let venv: string;
let dir: string;
let data: string;
let port: number;
let pgBin: string;
let started = false;

const asPostgres = (cmd: string, args: string[]) =>
  execFileSync("runuser", ["-u", "postgres", "--", path.join(pgBin, cmd), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  }).toString();
const openssl = (...args: string[]) =>
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });

/** A CA certificate and key named `name` in dir. */
function makeCa(name: string): void {
  openssl(
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  );
}

/** The server's certificate for HOST only (no IP address), from the CA `ca`. */
function makeServerCert(ca: string): void {
  openssl(
    ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${HOST}`],
  );
  fs.writeFileSync(
    path.join(dir, "server.ext"),
    `subjectAltName=DNS:${HOST}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    ...["x509", "-req", "-in", "server.csr", "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial"],
    ...["-out", "server.pem", "-days", "2", "-extfile", "server.ext"],
  );
}

beforeAll(async () => {
  venv = ensureVenv();
  pgBin = fs
    .readdirSync("/usr/lib/postgresql")
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join("/usr/lib/postgresql", v, "bin"))
    .find((bin) => fs.existsSync(path.join(bin, "initdb"))) as string;
  expect(pgBin).toBeDefined();
  // PostgreSQL refuses to run as root: the cluster, its key and its socket belong to the postgres user.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "db-tls-"));
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
  fs.chmodSync(dir, 0o755);
  makeCa("test-ca");
  makeServerCert("test-ca");
  fs.chownSync(path.join(dir, "server.key"), uid, gid);
  fs.chmodSync(path.join(dir, "server.key"), 0o600);
  data = path.join(dir, "data");
  fs.mkdirSync(data, { mode: 0o700 });
  fs.chownSync(data, uid, gid);
  fs.writeFileSync(path.join(dir, "pw"), `${PASSWORD}\n`);
  fs.chmodSync(path.join(dir, "pw"), 0o644);
  asPostgres("initdb", [
    "-D",
    data,
    "-U",
    "mlflow",
    `--pwfile=${path.join(dir, "pw")}`,
    "--auth-local=trust",
  ]);
  // TLS only: no `host` line, so a plain connection is refused; scram, so the password crosses the wire.
  fs.writeFileSync(
    path.join(data, "pg_hba.conf"),
    "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
  );
  port = await freePort();
  const options = [
    "-c ssl=on",
    `-c ssl_cert_file=${path.join(dir, "server.pem")}`,
    `-c ssl_key_file=${path.join(dir, "server.key")}`,
    "-c listen_addresses=127.0.0.1",
    `-c port=${port}`,
    `-c unix_socket_directories=${data}`,
  ].join(" ");
  asPostgres("pg_ctl", [
    "-D",
    data,
    "-o",
    options,
    "-l",
    path.join(data, "server.log"),
    "-w",
    "-t",
    "60",
    "start",
  ]);
  started = true;
  asPostgres("createdb", ["-h", data, "-p", String(port), "-U", "mlflow", "mlflow"]);
}, 600_000);

afterAll(() => {
  if (started) asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The stored URI's shape, with `host` as the name and the cluster's address and port. */
const uri = (host: string, tls: string) =>
  `postgresql://mlflow:${PASSWORD}@${host}:${port}/mlflow?hostaddr=127.0.0.1&${tls}`;
const verifyFull = (rootCert: string) => `sslmode=verify-full&sslrootcert=${rootCert}`;

/** runtime_helper.py `command` as start.sh runs it (start.sh rewrites postgresql:// for psycopg2). */
function helper(command: "migrate" | "gc", backendUri: string, lockTimeoutSeconds = 0) {
  const runtime = fs.mkdtempSync(path.join(dir, "run-"));
  const sqlalchemyUri = backendUri.replace(/^postgresql:/, "postgresql+psycopg2:");
  const authConfig = path.join(runtime, "basic_auth.ini");
  fs.writeFileSync(authConfig, `[mlflow]\ndefault_permission = READ\ndatabase_uri = ${sqlalchemyUri}\n`);
  return runAsync(path.join(venv, "bin", "python"), [path.join(SERVER_DIR, "runtime_helper.py"), command], {
    cwd: runtime,
    env: {
      HOME: runtime, // no ~/.postgresql/root.crt that could turn require into verify-ca
      MLFLOW_BACKEND_STORE_URI: sqlalchemyUri,
      MLFLOW_ARTIFACTS_DESTINATION: `file://${runtime}/artifacts`,
      MLFLOW_AUTH_CONFIG_PATH: authConfig,
      MLFLOW_AUTH_ADMIN_USERNAME: "admin",
      MLFLOW_AUTH_ADMIN_PASSWORD: "Tls-admin-Passw0rd-1",
      MLFLOW_MIGRATION_LOCK_TIMEOUT_SECONDS: String(lockTimeoutSeconds),
    },
    timeoutMs: 180_000,
  });
}

test("the stored URI's TLS settings are verify-full with the bundle every server has", () => {
  expect(VERIFIED_TLS).toBe(verifyFull(RDS_CA_BUNDLE_PATH));
});

test("verify-full with the right CA and host name: migrations (psycopg2 and SQLAlchemy) and gc connect", async () => {
  const good = uri(HOST, verifyFull(path.join(dir, "test-ca.pem")));
  const migrate = await helper("migrate", good);
  expect([migrate.status, migrate.output]).toEqual([0, expect.stringMatching(/migrations done/)]);
  const gc = await helper("gc", good);
  expect(gc.output).not.toMatch(/cannot connect/);
  expect(gc.status).toBe(0);
});

test("verify-full refuses a server whose certificate another CA issued (the vendored RDS bundle)", async () => {
  for (const command of ["migrate", "gc"] as const) {
    const r = await helper(command, uri(HOST, verifyFull(VENDORED_BUNDLE)));
    expect(r.status).toBe(1);
    expect(r.output).toMatch(
      /ERROR: cannot connect to the backend store database: .*certificate verify failed/s,
    );
  }
});

test("while it retries, migrate says why, once per reason", async () => {
  const r = await helper("migrate", uri(HOST, verifyFull(VENDORED_BUNDLE)), 3);
  expect(r.status).toBe(1);
  const retries = r.output.match(/database not reachable yet, retrying: .*certificate verify failed/g) ?? [];
  expect(retries).toHaveLength(1);
});

test("verify-full refuses a host name the certificate lacks, even with the right CA", async () => {
  const r = await helper("migrate", uri("other.test.internal", verifyFull(path.join(dir, "test-ca.pem"))));
  expect(r.status).toBe(1);
  expect(r.output).toMatch(
    /server certificate for "db\.test\.internal" does not match host name "other\.test\.internal"/,
  );
});

test("sslmode=require, the URI before, connects to that impostor and sends it the password", async () => {
  const r = await helper("migrate", uri("other.test.internal", "sslmode=require"));
  expect(r.output).not.toMatch(/cannot connect/);
  expect(r.status).toBe(0);
});

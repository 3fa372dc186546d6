/**
 * The server runtime, rendered: config in, file text out. The Pulumi program (EC2 user data, ECS
 * container definition) and the tests call these same pure functions, so what runs in the tests is
 * what is deployed. Templates are read from server/ at call time (packageRoot.ts finds it from the sources
 * and from the compiled library alike); no child processes.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { SERVER_DIR } from "./packageRoot";
import { deflateSync } from "fflate";

export interface ServerRuntimeConfig {
  /** Where MLflow writes artifacts: one of ARTIFACT_DESTINATIONS (`s3://bucket/prefix`, ...). */
  artifactsDestination: string;
  /** Host header values MLflow accepts, e.g. ["203.0.113.10", "mlflow.example.com"]. */
  allowedHosts: string[];
  adminUsername: string;
  /** Default "127.0.0.1" (EC2 behind nginx); "0.0.0.0" in a container. */
  host?: string;
  /** MLflow port, default 5000. */
  port?: number;
  /** Default DEFAULT_WORKERS (measured, see server/BENCHMARKS.md). */
  workers?: number;
  /** Region for Secrets Manager / S3. */
  awsRegion?: string;
  /** Secrets Manager ARNs by variable, one of SECRET_VARIABLES; start.sh reads each at start. */
  secretArns?: Partial<Record<string, string>>;
  /** Non-secret settings of the artifact store (its grant's `environment`). */
  extraEnvironment?: Record<string, string>;
  /** SQLAlchemy pool per worker process; defaults measured (see server/BENCHMARKS.md). */
  pool?: { size?: number; maxOverflow?: number; recycleSeconds?: number };
  /** Basic-auth default permission for users on resources they do not own. Default READ. */
  defaultPermission?: "READ" | "EDIT" | "MANAGE" | "NO_PERMISSIONS";
  /**
   * Per-worker cache of verified basic-auth credentials (seconds; 0 = off). Without it every request
   * pays a PBKDF2 hash; a changed or deleted password stays valid on other workers for at most this
   * long. Default DEFAULT_AUTH_CACHE_TTL_SECONDS (server/BENCHMARKS.md).
   */
  authCacheTtlSeconds?: number;
  /**
   * Garbage collection (`start.sh gc`, weekly) purges runs deleted longer ago than this, in `mlflow gc
   * --older-than` form (e.g. "30d", "12h", "0s"). Default DEFAULT_GC_OLDER_THAN.
   */
  gcOlderThan?: string;
}

/** The secrets every server reads, as server/start.sh names them (an enum for other languages). */
export const SecretVariable = {
  BackendStoreUri: "MLFLOW_BACKEND_STORE_URI",
  AdminPassword: "MLFLOW_AUTH_ADMIN_PASSWORD",
  FlaskSecretKey: "MLFLOW_FLASK_SERVER_SECRET_KEY",
} as const;
export type SecretVariable = (typeof SecretVariable)[keyof typeof SecretVariable];

/** server/start.sh, read once: the runtime's own lists of destinations and secrets below come from it. */
const START_SCRIPT = readServerFile("start.sh");

/**
 * Every variable server/start.sh resolves from `<name>_SECRET_ARN`: its SECRET_NAMES, which adds the artifact
 * stores' credentials (each backend's `credentialVariable`) to SecretVariable. Read from start.sh, so the
 * rendered environment never names a secret the runtime would ignore.
 */
export const SECRET_VARIABLES: readonly string[] = Object.freeze(startScriptSecretNames(START_SCRIPT));

/**
 * The artifact destinations the runtime serves, one per kind of store: server/start.sh's ARTIFACT_DESTINATIONS
 * (`'<form> <extended regex>'` lines), which it checks at start. Read from start.sh, so a destination the
 * runtime would refuse is refused here, when the server's environment is rendered at deploy time.
 */
export const ARTIFACT_DESTINATIONS: readonly { form: string; pattern: RegExp }[] = Object.freeze(
  parseArtifactDestinations(START_SCRIPT),
);

/** The `'<form> <regex>'` lines of a script's ARTIFACT_DESTINATIONS=( ... ); blank and comment lines skipped. */
export function parseArtifactDestinations(script: string): { form: string; pattern: RegExp }[] {
  const block = /^ARTIFACT_DESTINATIONS=\(\n([\s\S]*?)^\)$/m.exec(script)?.[1];
  const lines = (block ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const entries = lines.map((line) => /^'(\S+) (\S+)'$/.exec(line));
  const bad = lines.find((_, i) => !entries[i]);
  if (lines.length === 0 || bad !== undefined)
    throw new Error(
      `server/start.sh: ARTIFACT_DESTINATIONS needs '<form> <extended regex>' lines (got ${bad ?? "none"})`,
    );
  return entries.map((m, i) => ({ form: m![1], pattern: sharedRegex(m![2], lines[i]) }));
}

/**
 * A pattern bash (ERE, `[[ =~ ]]`) and JavaScript read alike: none of the escapes and classes only one of them
 * has (`\d`, `\s`, `\w`, `\b`, `[[:digit:]]`, ...), which would let a deploy pass that the server refuses.
 */
function sharedRegex(source: string, line: string): RegExp {
  const bad = /\\[dDsSwWbB]|\[:\w+:\]/.exec(source);
  if (bad)
    throw new Error(
      `server/start.sh: ARTIFACT_DESTINATIONS ${line}: ${bad[0]} reads differently in bash and JavaScript`,
    );
  try {
    return new RegExp(source);
  } catch (error) {
    throw new Error(`server/start.sh: ARTIFACT_DESTINATIONS ${line}: ${(error as Error).message}`);
  }
}

/** "a", "a or b", "a, b or c" (as start.sh's one_of). */
function oneOf(items: readonly string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

function startScriptSecretNames(script: string): string[] {
  const names = /^SECRET_NAMES="([A-Z0-9_ ]+)"$/m.exec(script)?.[1].split(" ");
  if (!names) throw new Error('server/start.sh does not set SECRET_NAMES="..."');
  return names;
}

/** Measured on 2 vCPUs (server/BENCHMARKS.md). */
export const DEFAULT_WORKERS = 2;
export const DEFAULT_POOL = Object.freeze({ size: 5, maxOverflow: 5, recycleSeconds: 1800 });
export const DEFAULT_PORT = 5000;
export const DEFAULT_AUTH_CACHE_TTL_SECONDS = 60;
/** Deleted runs are purged this long after their deletion (config `server.gcRetentionDays`). */
export const DEFAULT_GC_OLDER_THAN = "30d";
/**
 * When garbage collection runs: Sundays 06:00 UTC, after the database's backup (03:00-04:00) and maintenance
 * (Sun 04:30-05:30) windows, the same week slot in both compute modes (a systemd timer with up to an hour of
 * random delay on EC2; an EventBridge Scheduler schedule with a one-hour flexible window for the container
 * mode).
 */
export const GC_SCHEDULE = Object.freeze({
  systemdOnCalendar: "Sun *-*-* 06:00:00 UTC",
  schedulerExpression: "cron(0 6 ? * SUN *)",
  windowMinutes: 60,
});
/** AWS limit on EC2 user data (raw, before base64). */
export const EC2_USER_DATA_LIMIT_BYTES = 16384;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Names that look like they carry a secret; such values belong in Secrets Manager.
const SECRET_LOOKING_NAME = /PASSWORD|SECRET|TOKEN|ACCESS_KEY|CONNECTION_STRING|PRIVATE_KEY/i;
const HOST_PATTERN = /^(\*|[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9*])?|\[[0-9A-Fa-f:.]+\])(:(\d{1,5}|\*))?$/;

/** A file from server/, read now (e.g. "requirements.txt", "start.sh", "Dockerfile"). */
export function readServerFile(name: string): string {
  if (name.includes("..") || path.isAbsolute(name)) {
    throw new Error(`readServerFile: '${name}' must be a file name inside server/`);
  }
  return fs.readFileSync(path.join(SERVER_DIR, name), "utf8");
}

/** The MLflow version pinned in server/requirements.txt. */
export function pinnedMlflowVersion(): string {
  const m = /^mlflow(?:\[[^\]]*\])?==([^\s\\;]+)/m.exec(readServerFile("requirements.txt"));
  if (!m) throw new Error("server/requirements.txt does not pin mlflow==<version>");
  return m[1];
}

function fail(message: string): never {
  throw new Error(`server runtime config: ${message}`);
}

function checkInt(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be a whole number in ${min}-${max} (got ${value})`);
  }
}

function validate(c: ServerRuntimeConfig): void {
  const dest = c.artifactsDestination;
  if (typeof dest !== "string" || !ARTIFACT_DESTINATIONS.some(({ pattern }) => pattern.test(dest))) {
    fail(
      `artifactsDestination must be ${oneOf(ARTIFACT_DESTINATIONS.map(({ form }) => form))} (got '${dest}')`,
    );
  }
  if (!Array.isArray(c.allowedHosts) || c.allowedHosts.length === 0) {
    fail("allowedHosts must list at least one Host header value (the public IP or domain name)");
  }
  for (const h of c.allowedHosts) {
    if (typeof h !== "string" || !HOST_PATTERN.test(h)) {
      fail(`allowedHosts entry '${h}' is not a host name, IP address or host:port`);
    }
  }
  if (typeof c.adminUsername !== "string" || !/^[A-Za-z0-9._@-]{1,64}$/.test(c.adminUsername)) {
    fail(`adminUsername must be 1-64 characters of letters, digits, . _ @ - (got '${c.adminUsername}')`);
  }
  if (c.host !== undefined && !/^[0-9a-fA-F.:]+$|^localhost$/.test(c.host)) {
    fail(`host must be an IP address to bind (got '${c.host}')`);
  }
  checkInt("port", c.port, 1, 65535);
  checkInt("workers", c.workers, 1, 64);
  checkInt("authCacheTtlSeconds", c.authCacheTtlSeconds, 0, 3600);
  if (
    c.gcOlderThan !== undefined &&
    (typeof c.gcOlderThan !== "string" ||
      !/^(?=.)(\d{1,5}d)?(\d{1,6}h)?(\d{1,7}m)?(\d{1,9}s)?$/.test(c.gcOlderThan))
  ) {
    fail(`gcOlderThan must be a duration such as 30d, 12h or 0s (got '${c.gcOlderThan}')`);
  }
  checkInt("pool.size", c.pool?.size, 1, 100);
  checkInt("pool.maxOverflow", c.pool?.maxOverflow, 0, 100);
  checkInt("pool.recycleSeconds", c.pool?.recycleSeconds, 1, 86400);
  if (c.awsRegion !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(c.awsRegion)) {
    fail(`awsRegion '${c.awsRegion}' is not an AWS region name`);
  }
  for (const [name, arn] of Object.entries(c.secretArns ?? {})) {
    if (!SECRET_VARIABLES.includes(name)) {
      fail(`secretArns key '${name}' is not one of ${SECRET_VARIABLES.join(", ")}`);
    }
    if (arn !== undefined && (typeof arn !== "string" || !/^arn:aws[a-z-]*:secretsmanager:\S+$/.test(arn))) {
      fail(`secretArns.${name} must be a Secrets Manager ARN (got '${arn}')`);
    }
  }
  for (const [name, value] of Object.entries(c.extraEnvironment ?? {})) {
    if (!ENV_NAME.test(name)) fail(`extraEnvironment name '${name}' is not a valid variable name`);
    if (SECRET_VARIABLES.includes(name) || name.endsWith("_SECRET_ARN")) {
      fail(`extraEnvironment must not set secret ${name}: give its Secrets Manager ARN in secretArns`);
    }
    if (SECRET_LOOKING_NAME.test(name)) {
      fail(`extraEnvironment ${name} looks like a secret: store it in Secrets Manager instead`);
    }
    if (typeof value !== "string" || /[\0\n\r]/.test(value)) {
      fail(`extraEnvironment ${name} must be a single-line string`);
    }
  }
}

/** Host header values MLflow accepts: the configured ones (any port) and loopback for on-box tools. */
export function renderAllowedHosts(allowedHosts: string[]): string {
  const out: string[] = [];
  const add = (h: string) => {
    if (!out.includes(h)) out.push(h);
  };
  for (const h of allowedHosts) {
    add(h);
    if (!/:(\d+|\*)$/.test(h) && !h.includes("*")) add(`${h}:*`);
  }
  for (const h of ["localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*"]) add(h);
  return out.join(",");
}

/** The server's non-secret environment, including X_SECRET_ARN entries for start.sh to resolve. */
export function renderServerEnvironment(c: ServerRuntimeConfig): Record<string, string> {
  validate(c);
  const pool = { ...DEFAULT_POOL, ...(c.pool ?? {}) };
  const env: Record<string, string> = {
    MLFLOW_ARTIFACTS_DESTINATION: c.artifactsDestination,
    MLFLOW_SERVER_ALLOWED_HOSTS: renderAllowedHosts(c.allowedHosts),
    MLFLOW_AUTH_ADMIN_USERNAME: c.adminUsername,
    MLFLOW_AUTH_DEFAULT_PERMISSION: c.defaultPermission ?? "READ",
    MLFLOW_HOST: c.host ?? "127.0.0.1",
    MLFLOW_PORT: String(c.port ?? DEFAULT_PORT),
    MLFLOW_WORKERS: String(c.workers ?? DEFAULT_WORKERS),
    MLFLOW_AUTH_CACHE_TTL_SECONDS: String(c.authCacheTtlSeconds ?? DEFAULT_AUTH_CACHE_TTL_SECONDS),
    MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: String(pool.size),
    MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: String(pool.maxOverflow),
    MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE: String(pool.recycleSeconds),
    MLFLOW_GC_OLDER_THAN: c.gcOlderThan ?? DEFAULT_GC_OLDER_THAN,
    // GenAI job runners (huey consumers) are not needed for tracking and cost ~8 processes.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    MLFLOW_DISABLE_TELEMETRY: "true",
    PYTHONUNBUFFERED: "1",
  };
  if (c.awsRegion) {
    env.AWS_REGION = c.awsRegion;
    env.AWS_DEFAULT_REGION = c.awsRegion;
  }
  for (const name of SECRET_VARIABLES) {
    const arn = c.secretArns?.[name];
    if (arn) env[`${name}_SECRET_ARN`] = arn;
  }
  for (const [name, value] of Object.entries(c.extraEnvironment ?? {})) env[name] = value;
  return env;
}

/** Quote a value for a systemd EnvironmentFile; the same text is valid POSIX shell. */
function quoteEnvValue(value: string): string {
  if (/[\0\n\r]/.test(value)) throw new Error("environment values must be single-line");
  return `"${value.replace(/[\\"$`]/g, (ch) => `\\${ch}`)}"`;
}

/** A comment line, then KEY="value" lines, sorted: a systemd EnvironmentFile= that sh can source too. */
function renderShellEnv(env: Record<string, string>, comment: string): string {
  const lines = [comment];
  for (const name of Object.keys(env).sort()) lines.push(`${name}=${quoteEnvValue(env[name])}`);
  return lines.join("\n") + "\n";
}

/** KEY="value" lines for systemd EnvironmentFile= (also sourceable by sh). */
export function renderEnvFile(c: ServerRuntimeConfig): string {
  return renderShellEnv(
    renderServerEnvironment(c),
    "# Rendered by server/render.ts. Non-secret values only: secrets are *_SECRET_ARN.",
  );
}

function fill(template: string, values: Record<string, string>, what: string): string {
  const out = template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_m, key: string) => {
    if (!(key in values)) throw new Error(`${what}: no value for placeholder {{${key}}}`);
    return values[key];
  });
  return out;
}

function absolutePath(name: string, value: string): string {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(value))
    throw new Error(`${name} must be an absolute path (got '${value}')`);
  return value;
}

export interface SystemdUnitOptions {
  startScript?: string; // default /opt/mlflow/server/start.sh
  envFile?: string; // default /etc/mlflow/mlflow.env
  venv?: string; // default /opt/mlflow/venv
  user?: string; // default mlflow
  restartSec?: number; // default 5
}

/** The placeholders both units (server and gc) share: who runs what, with which environment. */
function unitValues(opts: Omit<SystemdUnitOptions, "restartSec">): Record<string, string> {
  const user = opts.user ?? "mlflow";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new Error(`systemd unit: invalid user '${user}'`);
  return {
    USER: user,
    ENV_FILE: absolutePath("envFile", opts.envFile ?? "/etc/mlflow/mlflow.env"),
    VENV: absolutePath("venv", opts.venv ?? "/opt/mlflow/venv"),
    START_SCRIPT: absolutePath("startScript", opts.startScript ?? "/opt/mlflow/server/start.sh"),
    STATE_DIR: "/var/lib/mlflow",
  };
}

export function renderSystemdUnit(opts: SystemdUnitOptions = {}): string {
  const restartSec = opts.restartSec ?? 5;
  if (!Number.isInteger(restartSec) || restartSec < 1 || restartSec > 600) {
    throw new Error(`systemd unit: restartSec must be 1-600 (got ${restartSec})`);
  }
  return fill(
    readServerFile("mlflow.service.template"),
    { ...unitValues(opts), RESTART_SEC: String(restartSec) },
    "mlflow.service.template",
  );
}

export interface GcTimerOptions {
  /** systemd calendar expression; default GC_SCHEDULE.systemdOnCalendar. */
  onCalendar?: string;
  /** Spread over this many seconds after onCalendar; default GC_SCHEDULE.windowMinutes * 60. */
  randomizedDelaySec?: number;
}

/** The oneshot unit the gc timer starts: `start.sh gc` as the server's user, with the server's hardening. */
export function renderGcServiceUnit(opts: Omit<SystemdUnitOptions, "restartSec"> = {}): string {
  return fill(readServerFile("mlflow-gc.service.template"), unitValues(opts), "mlflow-gc.service.template");
}

/** The weekly timer of mlflow-gc.service. */
export function renderGcTimerUnit(opts: GcTimerOptions = {}): string {
  const onCalendar = opts.onCalendar ?? GC_SCHEDULE.systemdOnCalendar;
  if (!/^[A-Za-z0-9 *:,./~_-]{1,100}$/.test(onCalendar)) {
    throw new Error(`systemd timer: invalid onCalendar '${onCalendar}'`);
  }
  const delay = opts.randomizedDelaySec ?? GC_SCHEDULE.windowMinutes * 60;
  if (!Number.isInteger(delay) || delay < 0 || delay > 86400) {
    throw new Error(`systemd timer: randomizedDelaySec must be 0-86400 (got ${delay})`);
  }
  return fill(
    readServerFile("mlflow-gc.timer.template"),
    { ON_CALENDAR: onCalendar, RANDOMIZED_DELAY_SEC: String(delay) },
    "mlflow-gc.timer.template",
  );
}

/**
 * The EC2 server's heartbeat: every period, mlflow-heartbeat.service GETs /health through nginx and puts
 * `metricName` = 1 (healthy) or 0 into CloudWatch with the instance id as `dimensionName`.
 */
export const HEARTBEAT = Object.freeze({
  metricName: "Healthy",
  dimensionName: "InstanceId",
  periodSeconds: 60,
});
/**
 * With the heartbeat (same namespace and dimension), the number of 5xx answers nginx logged in its access
 * log since the previous heartbeat: what /health cannot see (a database or artifact store failing). The
 * heartbeat keeps its read position in its StateDirectory and follows logrotate.
 */
export const SERVER_ERRORS_METRIC = Object.freeze({ metricName: "ServerErrors" });
/** The namespace when none is given; a deployment passes its own (the role may write only there). */
export const DEFAULT_HEARTBEAT_NAMESPACE = "mlflow-platform";

export interface HeartbeatOptions {
  /** CloudWatch namespace of the metric (1-255 of A-Z a-z 0-9 . - _ / # :, not AWS/...). */
  namespace?: string;
  /** What is probed; default http://127.0.0.1/health (nginx on port 80); https:// on loopback with TLS. */
  healthUrl?: string;
  /** nginx's access log, whose 5xx lines are counted (SERVER_ERRORS_METRIC); default /var/log/nginx/access.log. */
  accessLog?: string;
  /** The certificate nginx serves, whose days left go to CERTIFICATE_METRIC; none in plain mode. */
  certificate?: string;
}

/** CloudWatch's namespace rule (PutMetricData): the IAM condition and the alarm use the same string. */
export function checkMetricNamespace(namespace: string): string {
  if (!/^[A-Za-z0-9._\-/#:]{1,255}$/.test(namespace) || namespace.startsWith("AWS/")) {
    throw new Error(`heartbeat: invalid CloudWatch namespace '${namespace}'`);
  }
  return namespace;
}

/** The oneshot unit the heartbeat timer starts, as the server's user with the server's hardening. */
export function renderHeartbeatServiceUnit(
  opts: HeartbeatOptions & Omit<SystemdUnitOptions, "restartSec" | "startScript"> = {},
): string {
  const healthUrl = opts.healthUrl ?? "http://127.0.0.1/health";
  // https only on loopback: the probe does not verify the certificate (it names the public address).
  if (!/^(http:\/\/[A-Za-z0-9.-]+|https:\/\/127\.0\.0\.1)(:\d{1,5})?\/[A-Za-z0-9._/-]*$/.test(healthUrl)) {
    throw new Error(`heartbeat: healthUrl must be an http:// or https://127.0.0.1 URL (got '${healthUrl}')`);
  }
  const certificateEnvironment = opts.certificate
    ? `Environment=MLFLOW_TLS_CERTIFICATE=${absolutePath("certificate", opts.certificate)}\n` +
      `Environment=MLFLOW_CERTIFICATE_METRIC=${CERTIFICATE_METRIC.metricName}\n`
    : "";
  return fill(
    readServerFile("mlflow-heartbeat.service.template"),
    {
      ...unitValues(opts),
      HEALTH_URL: healthUrl,
      NAMESPACE: checkMetricNamespace(opts.namespace ?? DEFAULT_HEARTBEAT_NAMESPACE),
      METRIC: HEARTBEAT.metricName,
      ERRORS_METRIC: SERVER_ERRORS_METRIC.metricName,
      ACCESS_LOG: absolutePath("accessLog", opts.accessLog ?? NGINX_ACCESS_LOG),
      CERTIFICATE_ENVIRONMENT: certificateEnvironment,
      HEARTBEAT_SCRIPT: "/opt/mlflow/server/heartbeat.py",
    },
    "mlflow-heartbeat.service.template",
  );
}

/** The timer of mlflow-heartbeat.service: at once when enabled (or at boot), then every period. */
export function renderHeartbeatTimerUnit(): string {
  return fill(
    readServerFile("mlflow-heartbeat.timer.template"),
    { PERIOD_SECONDS: String(HEARTBEAT.periodSeconds) },
    "mlflow-heartbeat.timer.template",
  );
}

/** Where nginx logs requests on the server (Debian's default, rotated daily by its logrotate config). */
const NGINX_ACCESS_LOG = "/var/log/nginx/access.log";

export interface NginxOptions {
  listenPort: number;
  upstreamPort: number;
  serverNames: string[];
  listenAddress?: string; // default all addresses
  pidFile?: string; // default /run/nginx.pid
  errorLog?: string; // default /var/log/nginx/error.log
  accessLog?: string; // default /var/log/nginx/access.log
  tempDir?: string; // default /var/lib/nginx
  /** HTTPS on httpsPort; listenPort then serves only the ACME challenge and a redirect. */
  tls?: NginxTlsOptions;
}

export interface NginxTlsOptions {
  httpsPort: number;
  /** PEM paths nginx reads (the certificate with its chain); tls.sh replaces them and reloads nginx. */
  certificate: string;
  key: string;
  /** certbot's webroot: port 80 serves its /.well-known/acme-challenge/ files and nothing else. */
  acmeWebroot: string;
}

/** The HTTPS server's TLS lines: Mozilla's "intermediate" profile (TLS 1.2 and 1.3). */
function nginxTlsDirectives(tls: NginxTlsOptions): string {
  return [
    `ssl_certificate ${absolutePath("tls.certificate", tls.certificate)};`,
    `ssl_certificate_key ${absolutePath("tls.key", tls.key)};`,
    "ssl_protocols TLSv1.2 TLSv1.3;",
    // ECDHE with AES-GCM or ChaCha20-Poly1305 only, for TLS 1.2 (TLS 1.3's suites are all AEAD).
    "ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20;",
    "ssl_prefer_server_ciphers off;",
    "ssl_session_cache shared:TLS:10m;",
    "ssl_session_timeout 1d;",
    "ssl_session_tickets off;",
  ]
    .map((line) => `        ${line}\n`)
    .join("");
}

/** Port 80 with TLS: the http-01 challenge files, a redirect for the rest; never proxied to MLflow. */
function nginxRedirectServer(listen: string, names: string, tls: NginxTlsOptions): string {
  const port = tls.httpsPort === 443 ? "" : `:${tls.httpsPort}`;
  return `    server {
        listen ${listen} default_server;
        server_name ${names};

        location ^~ /.well-known/acme-challenge/ {
            root ${absolutePath("tls.acmeWebroot", tls.acmeWebroot)};
            default_type text/plain;
            try_files $uri =404;
        }

        location / {
            return 301 https://$host${port}$request_uri;
        }
    }

`;
}

export function renderNginxConfig(opts: NginxOptions): string {
  checkInt("nginx listenPort", opts.listenPort, 1, 65535);
  checkInt("nginx upstreamPort", opts.upstreamPort, 1, 65535);
  if (opts.listenPort === undefined || opts.upstreamPort === undefined) {
    throw new Error("nginx: listenPort and upstreamPort are required");
  }
  const names = opts.serverNames.length ? opts.serverNames : ["_"];
  for (const n of names) {
    if (!/^[A-Za-z0-9._*:[\]-]+$/.test(n)) throw new Error(`nginx: invalid server name '${n}'`);
  }
  const address = opts.listenAddress;
  if (address !== undefined && !/^[0-9a-fA-F.:[\]]+$/.test(address)) {
    throw new Error(`nginx: invalid listenAddress '${address}'`);
  }
  const listen = (port: number) => (address ? `${address}:${port}` : String(port));
  const tls = opts.tls;
  if (tls) {
    checkInt("nginx tls.httpsPort", tls.httpsPort, 1, 65535);
    if (tls.httpsPort === opts.listenPort)
      throw new Error("nginx: tls.httpsPort must differ from listenPort");
  }
  return fill(
    readServerFile("nginx.conf.template"),
    {
      LISTEN: tls ? `${listen(tls.httpsPort)} ssl` : listen(opts.listenPort),
      TLS: tls ? nginxTlsDirectives(tls) : "",
      REDIRECT_SERVER: tls ? nginxRedirectServer(listen(opts.listenPort), names.join(" "), tls) : "",
      UPSTREAM_PORT: String(opts.upstreamPort),
      SERVER_NAMES: names.join(" "),
      PID_FILE: absolutePath("pidFile", opts.pidFile ?? "/run/nginx.pid"),
      ERROR_LOG: absolutePath("errorLog", opts.errorLog ?? "/var/log/nginx/error.log"),
      ACCESS_LOG: absolutePath("accessLog", opts.accessLog ?? NGINX_ACCESS_LOG),
      TEMP_DIR: absolutePath("tempDir", opts.tempDir ?? "/var/lib/nginx"),
    },
    "nginx.conf.template",
  );
}

/** Where an EC2 server downloads the full requirements lock from (it is too large for user data). */
export interface RequirementsSource {
  /** `s3://bucket/key` of an object whose content is exactly server/requirements.txt. */
  uri: string;
  /** sha256 of that content; boot refuses anything else. */
  sha256: string;
}

/** The locked packages an EC2 server installs first, to download the rest of the lock: boto3 and its closure. */
export const BOOTSTRAP_PACKAGES = [
  "boto3",
  "botocore",
  "s3transfer",
  "jmespath",
  "python-dateutil",
  "six",
  "urllib3",
];

/** sha256 (hex) of a server/ file's content, as `RequirementsSource.sha256` expects. */
export function serverFileSha256(name: string): string {
  return crypto.createHash("sha256").update(readServerFile(name), "utf8").digest("hex");
}

/** The entries of requirements.txt for `packages`, hashes included: a lock subset pip installs with --require-hashes. */
export function requirementsSubset(packages: readonly string[]): string {
  const normalize = (name: string) => name.toLowerCase().replace(/[_.]+/g, "-");
  const wanted = new Set(packages.map(normalize));
  const entries = readServerFile("requirements.txt").split(/\n(?=[A-Za-z0-9])/);
  const found = entries.filter((entry) => {
    const name = /^([A-Za-z0-9._-]+)/.exec(entry)?.[1];
    return name !== undefined && wanted.delete(normalize(name));
  });
  if (wanted.size > 0) throw new Error(`server/requirements.txt does not lock ${[...wanted].join(", ")}`);
  return found.map((entry) => entry.replace(/\n\s*#.*$/gm, "").trimEnd()).join("\n") + "\n";
}

/**
 * server/ files that boot.sh fetches from S3 (sha256-checked, like the lock) instead of carrying them in
 * the user data, which EC2 limits to 16 KB gzipped; with their modes. runtime_helper.py stays in the user
 * data: it is what fetches them.
 */
export const FETCHED_SERVER_FILES = {
  "start.sh": "0755",
  "heartbeat.py": "0644",
  "rds-ca-bundle.pem": "0644",
  "tls.sh": "0755",
  "requirements-acme.txt": "0644",
} as const;
export type FetchedServerFile = keyof typeof FETCHED_SERVER_FILES;

/**
 * Where every server (EC2: boot.sh fetches it into /opt/mlflow/server like the files above; container: the
 * Dockerfile copies it there) has AWS's RDS CA bundle (server/rds-ca-bundle.pem, docs/aws-operations.md).
 * The database URI names it (`sslrootcert=`), so libpq verifies RDS's certificate and host name.
 */
export const RDS_CA_BUNDLE_PATH = "/opt/mlflow/server/rds-ca-bundle.pem";

/** Let's Encrypt production; the default ACME directory (config `server.acme.directoryUrl`). */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";
/** nginx's HTTPS port on EC2 (443 admits `server.allowedCidrs`). */
export const HTTPS_PORT = 443;
/**
 * The EC2 server publishes, with its heartbeat (same namespace and dimension), the days its publicly
 * trusted certificate has left; 0 while it serves the self-signed stand-in. The alarm treats missing data
 * as breaching.
 */
export const CERTIFICATE_METRIC = Object.freeze({
  metricName: "CertificateDaysLeft",
  dimensionName: "InstanceId",
});

/**
 * How nginx on the EC2 server serves clients. `acme` (the default of every stack): HTTPS on HTTPS_PORT with
 * a certificate from an ACME CA, a self-signed stand-in until it is issued, port 80 only for the http-01
 * challenge and a redirect. `plain`: HTTP on port 80 only (config `server.allowPlainHttp: true`).
 */
export type TlsOptions =
  | {
      mode: "acme";
      /** What the certificate names: the Elastic IP address, or `server.domain`. */
      identifier: string;
      /** ACME directory URL (https). Default LETS_ENCRYPT_DIRECTORY. */
      directoryUrl?: string;
      /** Account contact; optional (Let's Encrypt sends no expiry mail any more). */
      email?: string;
      /** `http-01` (port 80 open to the CA) or `dns-01` (a domain in Route 53; port 80 may stay closed). */
      challenge: "http-01" | "dns-01";
      /** The Route 53 hosted zone of `identifier`, for dns-01. */
      hostedZoneId?: string;
    }
  | { mode: "plain" };

/** Where the EC2 server keeps its certificate and ACME client: tls.sh's defaults (a test checks they agree). */
export const TLS_PATHS = Object.freeze({
  envFile: "/etc/mlflow/tls.env",
  /** What nginx serves: the self-signed stand-in, then each certificate certbot issues (tls.sh deploy). */
  dir: "/etc/mlflow/tls",
  certificate: "/etc/mlflow/tls/fullchain.pem",
  key: "/etc/mlflow/tls/privkey.pem",
  webroot: "/var/lib/mlflow-acme",
  /** certbot's config (account, lineage, renewal conf), work and log dirs, and tls.sh's backoff. */
  stateDir: "/var/lib/mlflow-tls",
  acmeVenv: "/opt/mlflow/acme-venv",
  script: "/opt/mlflow/server/tls.sh",
});

/**
 * When the certificate units run: issuance is tried every 5 minutes until it succeeds (tls.sh backs off
 * between failures); renewal is checked four times a day at a per-instance random offset (certbot renews
 * when ARI says so, else at half the lifetime of a 6-day certificate).
 */
export const CERT_SCHEDULE = Object.freeze({
  issuePeriodSeconds: 300,
  renewOnCalendar: "*-*-* 00/6:00:00",
  renewRandomizedDelaySec: 6 * 3600,
});

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/**
 * What the ACME settings may be, here and in the stack config (stacks/config.ts uses these same patterns, so
 * a value the config accepts never fails later inside the user data's rendering, after resources exist).
 */
export const ACME_PATTERNS = Object.freeze({
  directoryUrl: /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%/-]*)?$/,
  email: /^[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9-]+\.)+[A-Za-z]{2,63}$/,
  /** Route 53 hosted zone ids are at most 32 characters (ChangeResourceRecordSets' HostedZoneId). */
  hostedZoneId: /^Z[A-Z0-9]{1,31}$/,
});

/** The ACME settings, checked: an error names the field, the value and what is allowed. */
function validateAcme(tls: Extract<TlsOptions, { mode: "acme" }>): void {
  const bad = (field: string, value: unknown, allowed: string): never =>
    fail(`tls.${field} ${allowed} (got '${String(value)}')`);
  const isIp = IPV4.test(tls.identifier);
  if (!isIp && !DNS_NAME.test(tls.identifier)) {
    bad("identifier", tls.identifier, "must be an IPv4 address or a lower-case DNS name");
  }
  if (tls.directoryUrl !== undefined && !ACME_PATTERNS.directoryUrl.test(tls.directoryUrl)) {
    bad("directoryUrl", tls.directoryUrl, "must be an https:// ACME directory URL");
  }
  if (tls.email !== undefined && !ACME_PATTERNS.email.test(tls.email)) {
    bad("email", tls.email, "must be an e-mail address");
  }
  if (tls.challenge !== "http-01" && tls.challenge !== "dns-01") {
    bad("challenge", tls.challenge, "must be http-01 or dns-01");
  }
  if (tls.challenge === "dns-01") {
    if (isIp)
      bad("identifier", tls.identifier, "must be a domain name for dns-01 (an IP address has no DNS)");
    if (!ACME_PATTERNS.hostedZoneId.test(tls.hostedZoneId ?? "")) {
      bad("hostedZoneId", tls.hostedZoneId, "must be the Route 53 hosted zone id (Z...) for dns-01");
    }
  }
}

/**
 * /etc/mlflow/tls.env: the ACME settings of tls.sh (no secrets: dns-01 uses the instance role). The paths are
 * tls.sh's defaults, which are TLS_PATHS (a test checks), so they cost the user data nothing.
 */
export function renderTlsEnv(tls: Extract<TlsOptions, { mode: "acme" }>, awsRegion?: string): string {
  validateAcme(tls);
  return renderShellEnv(
    {
      // certbot-dns-route53's boto3 takes no region from the instance: without one it signs for the aws
      // partition's global endpoint, which GovCloud and China credentials cannot use (as boot.env, above).
      ...(awsRegion ? { AWS_REGION: awsRegion, AWS_DEFAULT_REGION: awsRegion } : {}),
      MLFLOW_TLS_IDENTIFIER: tls.identifier,
      MLFLOW_TLS_CHALLENGE: tls.challenge,
      MLFLOW_TLS_DIRECTORY_URL: tls.directoryUrl ?? LETS_ENCRYPT_DIRECTORY,
      ...(tls.email ? { MLFLOW_TLS_EMAIL: tls.email } : {}),
      ...(tls.hostedZoneId ? { MLFLOW_TLS_HOSTED_ZONE_ID: tls.hostedZoneId } : {}),
    },
    "# Rendered by server/render.ts (renderTlsEnv): the ACME settings of server/tls.sh.",
  );
}

export interface CertUnitOptions {
  /** Default TLS_PATHS.script. */
  script?: string;
  /** Default TLS_PATHS.envFile. */
  envFile?: string;
}

/** mlflow-cert.service (`tls.sh issue`) or mlflow-cert-renew.service (`tls.sh renew`), oneshots as root. */
export function renderCertServiceUnit(action: "issue" | "renew", opts: CertUnitOptions = {}): string {
  return fill(
    readServerFile("mlflow-cert.service.template"),
    {
      DESCRIPTION:
        action === "issue"
          ? "MLflow server: issue the first ACME certificate"
          : "MLflow server: renew the ACME certificate when due",
      ACTION: action,
      TLS_SCRIPT: absolutePath("script", opts.script ?? TLS_PATHS.script),
      TLS_ENV_FILE: absolutePath("envFile", opts.envFile ?? TLS_PATHS.envFile),
      TLS_DIR: TLS_PATHS.dir,
      STATE_DIR: TLS_PATHS.stateDir,
      WEBROOT: TLS_PATHS.webroot,
    },
    "mlflow-cert.service.template",
  );
}

/** mlflow-cert.timer: at once, then every CERT_SCHEDULE.issuePeriodSeconds until a certificate is issued. */
export function renderCertTimerUnit(): string {
  return fill(
    readServerFile("mlflow-cert.timer.template"),
    { ISSUE_PERIOD_SECONDS: String(CERT_SCHEDULE.issuePeriodSeconds) },
    "mlflow-cert.timer.template",
  );
}

/** mlflow-cert-renew.timer: CERT_SCHEDULE.renewOnCalendar with a fixed per-instance random delay. */
export function renderCertRenewTimerUnit(): string {
  return fill(
    readServerFile("mlflow-cert-renew.timer.template"),
    {
      ON_CALENDAR: CERT_SCHEDULE.renewOnCalendar,
      RANDOMIZED_DELAY_SEC: String(CERT_SCHEDULE.renewRandomizedDelaySec),
    },
    "mlflow-cert-renew.timer.template",
  );
}

export interface CloudInitOptions {
  /** The full lock in S3 (EC2 user data is limited to 16 KB; the hash-locked requirements are ~200 KB). */
  requirementsSource: RequirementsSource;
  /** Where each of FETCHED_SERVER_FILES is in S3, with the sha256 of its content. */
  serverFileSources: Record<FetchedServerFile, RequirementsSource>;
  nginxServerNames?: string[];
  /** Port nginx listens on (default 80). */
  httpPort?: number;
  /** Python >= 3.11 used to create the venv (default python3). */
  pythonExecutable?: string;
  /** OS packages (default Debian/Ubuntu names: nginx, python3-venv). */
  osPackages?: string[];
  /** Where the heartbeat goes (see `HEARTBEAT`). */
  heartbeat?: Pick<HeartbeatOptions, "namespace">;
  /**
   * HTTPS (ACME) or, explicitly, plain HTTP. Absent means plain only until components/compute/ec2.ts passes
   * it (issue 11); it is then to become required, so that there is no silent default to clear text.
   */
  tls?: TlsOptions;
}

/**
 * A file's text as a YAML literal block for `content:` (indented under a write_files item). The whole user
 * data is gzipped (see `compressUserData`), so plain text here compresses about four times better than
 * per-file gzip+base64 would.
 */
function literal(text: string): string {
  if (/^[ \t]/.test(text) || /[\r\0]/.test(text))
    throw new Error("cloud-init: a file must not start with blanks or hold CR/NUL");
  // "|+" keeps the text's trailing newlines exactly; "|-" for a text without one.
  const indicator = text.endsWith("\n") ? "|+" : "|-";
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  return `${indicator}\n${body.replace(/^/gm, "      ")}`;
}

/**
 * The gzip header of the user data, fixed: no name, no mtime (0), "maximum compression" (2) and OS "unknown"
 * (255). zlib writes the OS it runs on here (3 on Linux, 0x13 on macOS), so the same config would make
 * different bytes, a different `userDataBase64`, and with `userDataReplaceOnChange` a new instance.
 */
export const USER_DATA_GZIP_HEADER: readonly number[] = Object.freeze([
  0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff,
]);

const CRC32_TABLE = Int32Array.from({ length: 256 }, (_v, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** CRC-32 (IEEE 802.3), as the gzip trailer wants it. */
function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (const b of bytes) c = CRC32_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * `data` gzipped (RFC 1952), byte for byte the same on every OS and Node.js version: the fixed header above
 * and a deflate stream from fflate, a pure-JS deflate pinned to an exact version in package.json. Node's
 * zlib is not used: the zlib fork Node bundles has changed its output between releases (eslint-plugin-unicorn
 * #2233: Node 20.9 vs 20.10), and any changed byte replaces the server. Tests pin a golden sha256.
 */
export function stableGzip(data: Uint8Array): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  const deflated = deflateSync(data, { level: 9, mem: 8 });
  return Buffer.concat([Buffer.from(USER_DATA_GZIP_HEADER), deflated, trailer]);
}

/** EC2 `userDataBase64`: the cloud-config gzipped (cloud-init recognises it); EC2's limit is on these bytes. */
export function compressUserData(cloudConfig: string): string {
  const gzipped = stableGzip(Buffer.from(cloudConfig, "utf8"));
  if (gzipped.length > EC2_USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `cloud-init: user data is ${gzipped.length} bytes gzipped; EC2 allows ${EC2_USER_DATA_LIMIT_BYTES}`,
    );
  }
  return gzipped.toString("base64");
}

const isS3Source = (s: RequirementsSource | undefined) =>
  s !== undefined &&
  /^s3:\/\/[a-z0-9.-]{3,63}\/[A-Za-z0-9._/-]+$/.test(s.uri) &&
  /^[0-9a-f]{64}$/.test(s.sha256);

/**
 * boot.env's MLFLOW_SERVER_FILES: one `name|s3-uri|sha256|mode` word per fetched file. Each source must be
 * an s3:// object whose sha256 is the file's here, so a changed file is a changed user data (a new server).
 */
function fetchedFilesEntry(sources: Record<FetchedServerFile, RequirementsSource>): string {
  return Object.entries(FETCHED_SERVER_FILES)
    .map(([file, mode]) => {
      const source = sources?.[file as FetchedServerFile];
      if (!isS3Source(source) || source.sha256 !== serverFileSha256(file))
        throw new Error(
          `cloud-init: serverFileSources.${file} needs an s3://bucket/key uri and the sha256 of server/${file}`,
        );
      return `${file}|${source.uri}|${source.sha256}|${mode}`;
    })
    .join(" ");
}

/** The write_files items of acme mode: tls.env and the certificate units (tls.sh itself is fetched). */
function tlsWriteFiles(tls: Extract<TlsOptions, { mode: "acme" }>, awsRegion?: string): string {
  const files: [string, string][] = [
    [TLS_PATHS.envFile, renderTlsEnv(tls, awsRegion)],
    ["/etc/systemd/system/mlflow-cert.service", renderCertServiceUnit("issue")],
    ["/etc/systemd/system/mlflow-cert.timer", renderCertTimerUnit()],
    ["/etc/systemd/system/mlflow-cert-renew.service", renderCertServiceUnit("renew")],
    ["/etc/systemd/system/mlflow-cert-renew.timer", renderCertRenewTimerUnit()],
  ];
  return files
    .map(
      ([file, text]) =>
        `  - path: ${file}\n    owner: root:root\n    permissions: "0644"\n    content: ${literal(text)}\n`,
    )
    .join("");
}

/**
 * EC2 user data (#cloud-config, before `compressUserData`). No secret values: only ARNs, resolved by
 * start.sh at boot.
 */
export function renderCloudInit(c: ServerRuntimeConfig & CloudInitOptions): string {
  const port = c.port ?? DEFAULT_PORT;
  const httpPort = c.httpPort ?? 80;
  if (port === httpPort) throw new Error(`cloud-init: MLflow port ${port} collides with the nginx port`);
  const python = c.pythonExecutable ?? "python3";
  if (!/^[A-Za-z0-9._/-]+$/.test(python)) throw new Error(`cloud-init: invalid pythonExecutable '${python}'`);
  // tls.sh needs openssl (the stand-in) and curl (IMDSv2); named, not assumed from the AMI.
  const tlsPackages = c.tls?.mode === "acme" ? ["openssl", "curl"] : [];
  const packages = c.osPackages ?? ["nginx", "python3-venv", ...tlsPackages];
  for (const p of packages) {
    if (!/^[A-Za-z0-9.+_-]+$/.test(p)) throw new Error(`cloud-init: invalid package name '${p}'`);
  }
  const envFile = renderEnvFile({ ...c, host: c.host ?? "127.0.0.1" });
  const source = c.requirementsSource;
  if (
    !/^s3:\/\/[a-z0-9.-]{3,63}\/[A-Za-z0-9._/-]+$/.test(source.uri) ||
    !/^[0-9a-f]{64}$/.test(source.sha256)
  ) {
    throw new Error(
      `cloud-init: requirementsSource needs an s3://bucket/key uri and a sha256 (got ${source.uri})`,
    );
  }
  const tls = c.tls ?? { mode: "plain" };
  const acme = tls.mode === "acme" ? tls : undefined;
  const nginxTls: NginxTlsOptions | undefined = acme && {
    httpsPort: HTTPS_PORT,
    certificate: TLS_PATHS.certificate,
    key: TLS_PATHS.key,
    acmeWebroot: TLS_PATHS.webroot,
  };
  const healthUrl = acme
    ? "https://127.0.0.1/health"
    : httpPort === 80
      ? "http://127.0.0.1/health"
      : `http://127.0.0.1:${httpPort}/health`;
  const bootEnv = renderShellEnv(
    {
      MLFLOW_BOOT_PYTHON: python,
      MLFLOW_BOOT_OS_PACKAGES: packages.join(" "),
      MLFLOW_REQUIREMENTS_URI: source.uri,
      MLFLOW_REQUIREMENTS_SHA256: source.sha256,
      MLFLOW_SERVER_FILES: fetchedFilesEntry(c.serverFileSources),
      MLFLOW_TLS: tls.mode,
      // boto3 takes no region from the instance metadata: without one, S3 calls go to the global endpoint,
      // which GovCloud and China buckets do not answer.
      ...(c.awsRegion ? { AWS_REGION: c.awsRegion, AWS_DEFAULT_REGION: c.awsRegion } : {}),
    },
    "# Rendered by server/render.ts: what server/boot.sh installs.",
  );
  const userData = fill(
    readServerFile("cloud-init.yaml.template"),
    {
      BOOT_SH: literal(readServerFile("boot.sh")),
      BOOT_ENV: literal(bootEnv),
      BOOTSTRAP_REQUIREMENTS_TXT: literal(requirementsSubset(BOOTSTRAP_PACKAGES)),
      RUNTIME_HELPER_PY: literal(readServerFile("runtime_helper.py")),
      ENV_FILE: literal(envFile),
      SYSTEMD_UNIT: literal(renderSystemdUnit()),
      GC_SERVICE_UNIT: literal(renderGcServiceUnit()),
      GC_TIMER_UNIT: literal(renderGcTimerUnit()),
      HEARTBEAT_SERVICE_UNIT: literal(
        renderHeartbeatServiceUnit({
          namespace: c.heartbeat?.namespace,
          healthUrl,
          certificate: acme && TLS_PATHS.certificate,
        }),
      ),
      TLS_FILES: acme ? tlsWriteFiles(acme, c.awsRegion) : "",
      HEARTBEAT_TIMER_UNIT: literal(renderHeartbeatTimerUnit()),
      NGINX_CONF: literal(
        renderNginxConfig({
          listenPort: httpPort,
          upstreamPort: port,
          serverNames:
            c.nginxServerNames ??
            c.allowedHosts
              .filter((h) => !h.includes("*") && !h.startsWith("["))
              .map((h) => h.replace(/:\d+$/, "")),
          tls: nginxTls,
        }),
      ),
    },
    "cloud-init.yaml.template",
  );
  compressUserData(userData); // throws when it would not fit
  return userData;
}

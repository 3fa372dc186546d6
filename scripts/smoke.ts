// Smoke test of a deployed tracking server (npm run smoke -- --stack <name> | --env-file <path>).
// Talks to the server only as a client does (tracking URI + basic auth, artifacts through the server's
// proxied artifact API), prints a table of steps with timings and exits non-zero naming the failed step.
// Node's http/https only: no dependency beyond Node, so the deploy workflow can run it right after `up`.
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";

const USAGE = `usage: npm run smoke -- (--stack <name> | --env-file <path>) [options]
  --stack <name>      read the stack's clientEnv output (pulumi stack output --json --show-secrets)
  --env-file <path>   read MLFLOW_TRACKING_URI/_USERNAME/_PASSWORD from a .env (the clientEnv output)
  --ca <path>         PEM CA bundle for HTTPS (default: MLFLOW_TRACKING_SERVER_CERT_PATH, from the
                      .env or the environment; else Node's public CAs)
  --wait <seconds>    keep retrying /health this long while the server boots (default 600; 0: once)
  --artifact-mb <n>   size of the artifact uploaded and downloaded (default 20)
Without --stack or --env-file, the MLFLOW_TRACKING_* variables of the environment are used.`;

/** Per-step limits: a step that takes longer fails, so a hung server cannot hang the deploy workflow. */
const TIMEOUT_MS = { pulumi: 120_000, healthAttempt: 10_000, api: 30_000, artifact: 300_000 };
const HEALTH_RETRY_PAUSE_MS = 5_000;

export interface SmokeOptions {
  stack?: string;
  envFile?: string;
  ca?: string;
  waitSeconds: number;
  artifactMb: number;
}

export interface ClientEnv {
  trackingUri: string;
  username?: string;
  password?: string;
  certPath?: string;
}

export function parseArgs(argv: string[]): SmokeOptions {
  const options: SmokeOptions = { waitSeconds: 600, artifactMb: 20 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    const number = () => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) throw new UsageError(`${flag} needs a non-negative number`);
      return v;
    };
    if (flag === "--stack") options.stack = value();
    else if (flag === "--env-file") options.envFile = value();
    else if (flag === "--ca") options.ca = value();
    else if (flag === "--wait") options.waitSeconds = number();
    else if (flag === "--artifact-mb") options.artifactMb = number();
    else if (flag === "--help" || flag === "-h") throw new UsageError("");
    else throw new UsageError(`unknown argument ${flag}`);
  }
  if (options.stack && options.envFile) throw new UsageError("give --stack or --env-file, not both");
  if (options.artifactMb <= 0) throw new UsageError("--artifact-mb must be more than 0");
  return options;
}

class UsageError extends Error {}

/** KEY=VALUE lines as clientEnv writes them (unquoted, so a password may hold any character but a newline). */
export function parseDotEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s*export\s+/, "");
    if (!line.trim() || line.trimStart().startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    let value = line.slice(eq + 1);
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    vars[line.slice(0, eq).trim()] = value;
  }
  return vars;
}

function clientEnvFrom(vars: Record<string, string | undefined>, source: string): ClientEnv {
  const trackingUri = vars.MLFLOW_TRACKING_URI;
  if (!trackingUri) throw new Error(`${source} has no MLFLOW_TRACKING_URI`);
  if (!/^https?:\/\//.test(trackingUri))
    throw new Error(`MLFLOW_TRACKING_URI is not http(s): ${trackingUri}`);
  return {
    trackingUri: trackingUri.replace(/\/+$/, ""),
    username: vars.MLFLOW_TRACKING_USERNAME,
    password: vars.MLFLOW_TRACKING_PASSWORD,
    certPath: vars.MLFLOW_TRACKING_SERVER_CERT_PATH,
  };
}

function pulumiStackOutputs(stack: string): Promise<Record<string, unknown>> {
  const args = ["stack", "output", "--json", "--show-secrets", "--stack", stack];
  return new Promise((resolve, reject) => {
    execFile("pulumi", args, { timeout: TIMEOUT_MS.pulumi, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`pulumi ${args.join(" ")}: ${stderr.trim() || err.message}`));
      try {
        resolve(JSON.parse(stdout) as Record<string, unknown>);
      } catch {
        reject(new Error(`pulumi stack output printed no JSON: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

async function loadClientEnv(o: SmokeOptions): Promise<{ env: ClientEnv; source: string }> {
  let env: ClientEnv;
  let source: string;
  if (o.stack) {
    const outputs = await pulumiStackOutputs(o.stack);
    if (typeof outputs.clientEnv !== "string") throw new Error(`stack ${o.stack} has no clientEnv output`);
    source = `stack ${o.stack}`;
    env = clientEnvFrom(parseDotEnv(outputs.clientEnv), `stack ${o.stack}'s clientEnv`);
  } else if (o.envFile) {
    source = o.envFile;
    env = clientEnvFrom(parseDotEnv(fs.readFileSync(o.envFile, "utf8")), o.envFile);
  } else {
    source = "environment";
    env = clientEnvFrom(process.env, "the environment");
  }
  // The same variable MLflow's client reads, so one .env serves both.
  env.certPath = o.ca ?? env.certPath ?? process.env.MLFLOW_TRACKING_SERVER_CERT_PATH;
  return { env, source };
}

interface Response {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

/** One HTTP exchange over its own agent (no keep-alive: nothing outlives the script). */
class Client {
  private readonly agent: http.Agent;
  private readonly auth?: string;

  constructor(
    readonly env: ClientEnv,
    ca?: Buffer,
  ) {
    const secure = env.trackingUri.startsWith("https:");
    this.agent = secure ? new https.Agent({ keepAlive: false, ca }) : new http.Agent({ keepAlive: false });
    if (env.username !== undefined || env.password !== undefined) {
      const pair = `${env.username ?? ""}:${env.password ?? ""}`;
      this.auth = "Basic " + Buffer.from(pair).toString("base64");
    }
  }

  request(
    method: string,
    path: string,
    o: { body?: Buffer; contentType?: string; timeoutMs: number; anonymous?: boolean },
  ): Promise<Response> {
    const url = new URL(this.env.trackingUri + path);
    const headers: http.OutgoingHttpHeaders = { Accept: "application/json" };
    if (this.auth && !o.anonymous) headers.Authorization = this.auth;
    if (o.body) {
      headers["Content-Type"] = o.contentType ?? "application/json";
      headers["Content-Length"] = o.body.length;
    }
    const send = url.protocol === "https:" ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, agent: this.agent, signal: AbortSignal.timeout(o.timeoutMs) });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
        );
        res.on("error", (e) => reject(networkError(e, o.timeoutMs)));
      });
      req.on("error", (e) => reject(networkError(e, o.timeoutMs)));
      req.end(o.body);
    });
  }

  /** An authenticated MLflow REST call that must answer 200 with JSON. */
  async api<T>(method: "GET" | "POST", endpoint: string, payload?: unknown): Promise<T> {
    const res = await this.request(method, `/api/2.0/mlflow/${endpoint}`, {
      body: payload === undefined ? undefined : Buffer.from(JSON.stringify(payload)),
      timeoutMs: TIMEOUT_MS.api,
    });
    expectStatus(res, 200, `${method} ${endpoint}`);
    return JSON.parse(res.body.toString("utf8")) as T;
  }
}

/** A failed exchange; `retryable` is false for answers that waiting cannot change. */
class RequestError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

// Node's codes for a certificate that does not verify (wrong CA, name, dates): a configuration error.
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT/;

function networkError(e: Error & { code?: string }, timeoutMs: number): RequestError {
  if (e.name === "AbortError" || e.name === "TimeoutError" || e.code === "ABORT_ERR") {
    return new RequestError(`no answer within ${timeoutMs / 1000} s`, true);
  }
  const message = e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
  if (e.code && CERTIFICATE_ERROR.test(e.code)) {
    return new RequestError(
      `TLS certificate not trusted (${message}); --ca or MLFLOW_TRACKING_SERVER_CERT_PATH`,
      false,
    );
  }
  return new RequestError(message, true);
}

function expectStatus(res: Response, want: number, what: string): void {
  if (res.status === want) return;
  const body = res.body.toString("utf8").replace(/\s+/g, " ").slice(0, 300);
  const hint = res.status === 401 ? " (wrong username or password?)" : "";
  throw new Error(`${what}: HTTP ${res.status}${hint}, expected ${want}${body ? `: ${body}` : ""}`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** /health answers 200 without credentials; while the server boots, retry for up to `waitSeconds`. */
async function checkHealth(client: Client, waitSeconds: number): Promise<string> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    let last: string;
    try {
      const res = await client.request("GET", "/health", {
        timeoutMs: TIMEOUT_MS.healthAttempt,
        anonymous: true,
      });
      if (res.status === 200) return `HTTP 200 after ${attempt} attempt(s)`;
      // A 4xx will not go away by waiting (a wrong host, a 403 from allowed-hosts); gateway 5xx may.
      if (res.status < 500) expectStatus(res, 200, "GET /health");
      last = `HTTP ${res.status}`;
    } catch (e) {
      if (!(e instanceof RequestError) || !e.retryable) throw e;
      last = e.message;
    }
    if (Date.now() + HEALTH_RETRY_PAUSE_MS > deadline) {
      throw new Error(`GET /health: ${last} (${attempt} attempt(s) in ${waitSeconds} s)`);
    }
    if (attempt === 1 || attempt % 6 === 0) console.error(`smoke: waiting for /health (${last})`);
    await sleep(HEALTH_RETRY_PAUSE_MS);
  }
}

const ARTIFACT_ROUTE = "/api/2.0/mlflow-artifacts/artifacts/";

/** Path under /api/2.0/mlflow-artifacts/artifacts/ of a proxied run's artifact root. */
export function proxiedArtifactPath(artifactUri: string): string {
  // mlflow-artifacts:/<exp>/<run>/artifacts or mlflow-artifacts://host:port/<exp>/<run>/artifacts (the
  // server's default root), or an http(s) URL of that route (MLflow's handlers accept all three).
  const scheme = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*?)\/*$/.exec(artifactUri);
  if (scheme) return scheme[1];
  const route = /^https?:\/\/[^/]+/.test(artifactUri) ? artifactUri.indexOf(ARTIFACT_ROUTE) : -1;
  if (route >= 0) return artifactUri.slice(route + ARTIFACT_ROUTE.length).replace(/\/+$/, "");
  throw new Error(`the run's artifact_uri is ${artifactUri}, not proxied by the server (mlflow-artifacts:)`);
}

function artifactUrl(path: string): string {
  return ARTIFACT_ROUTE + path.split("/").map(encodeURIComponent).join("/");
}

interface RunInfo {
  run_id: string;
  artifact_uri: string;
  lifecycle_stage: string;
}
interface RunData {
  params?: { key: string; value: string }[];
  metrics?: { key: string; value: number; step?: string }[];
}

interface Step {
  name: string;
  status: "ok" | "FAIL" | "skipped";
  ms: number;
  detail: string;
}

/** The smoke sequence; state is kept so that the clean-up steps can run after a failure too. */
class Smoke {
  readonly steps: Step[] = [];
  private failed = false;
  private experimentId?: string;
  private run?: RunInfo;
  private artifactPath?: string;
  private payload?: Buffer;

  constructor(private readonly options: SmokeOptions) {}

  /** Runs `fn` unless an earlier step failed (or `always`), recording its time and outcome. */
  async step(name: string, fn: () => Promise<string>, o: { always?: boolean } = {}): Promise<void> {
    if (this.failed && !o.always) {
      this.steps.push({ name, status: "skipped", ms: 0, detail: "" });
      return;
    }
    const started = performance.now();
    try {
      const detail = await fn();
      this.steps.push({ name, status: "ok", ms: performance.now() - started, detail });
    } catch (e) {
      this.failed = true;
      this.steps.push({
        name,
        status: "FAIL",
        ms: performance.now() - started,
        detail: (e as Error).message,
      });
    }
  }

  async runAll(): Promise<boolean> {
    let client: Client | undefined;
    const c = () => client as Client;
    await this.step(this.options.stack ? "read stack outputs" : "read client env", async () => {
      const { env, source } = await loadClientEnv(this.options);
      const ca = env.certPath ? fs.readFileSync(env.certPath) : undefined;
      client = new Client(env, ca);
      return `${env.trackingUri} from ${source}${env.certPath ? `, CA ${env.certPath}` : ""}`;
    });
    await this.step("health", () => checkHealth(c(), this.options.waitSeconds));
    await this.step("401 without credentials", async () => {
      const res = await c().request("GET", "/api/2.0/mlflow/experiments/search?max_results=1", {
        timeoutMs: TIMEOUT_MS.api,
        anonymous: true,
      });
      expectStatus(res, 401, "anonymous GET experiments/search");
      return `HTTP 401${res.headers["www-authenticate"] ? `, ${res.headers["www-authenticate"]}` : ""}`;
    });
    await this.step("authenticated request", async () => {
      if (!c().env.username || !c().env.password) throw new Error("no MLFLOW_TRACKING_USERNAME/PASSWORD");
      await c().api("GET", "experiments/search?max_results=1");
      return `HTTP 200 as ${c().env.username}`;
    });
    await this.step("create experiment", () => this.createExperiment(c()));
    await this.step("create run", () => this.createRun(c()));
    await this.step("log params and metrics", () => this.logAndReadBack(c()));
    await this.step(`upload ${this.options.artifactMb} MB artifact`, () => this.upload(c()));
    await this.step("list artifacts", () => this.listArtifacts(c()));
    await this.step(`download ${this.options.artifactMb} MB artifact`, () => this.download(c()));
    // Clean-up runs after a failure too, for whatever was created.
    if (this.artifactPath)
      await this.step("delete artifact", () => this.deleteArtifact(c()), { always: true });
    if (this.run) await this.step("delete run", () => this.deleteRun(c()), { always: true });
    if (this.experimentId)
      await this.step("delete experiment", () => this.deleteExperiment(c()), { always: true });
    return !this.failed;
  }

  private async createExperiment(client: Client): Promise<string> {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const name = `smoke-${stamp}-${crypto.randomBytes(3).toString("hex")}`;
    const { experiment_id } = await client.api<{ experiment_id: string }>("POST", "experiments/create", {
      name,
    });
    this.experimentId = experiment_id;
    return `${name} (id ${experiment_id})`;
  }

  private async createRun(client: Client): Promise<string> {
    const { run } = await client.api<{ run: { info: RunInfo } }>("POST", "runs/create", {
      experiment_id: this.experimentId,
      run_name: "smoke",
      start_time: Date.now(),
      tags: [{ key: "mlflow.source.name", value: "npm run smoke" }],
    });
    this.run = run.info;
    return `${run.info.run_id}, artifacts at ${run.info.artifact_uri}`;
  }

  private async logAndReadBack(client: Client): Promise<string> {
    const runId = (this.run as RunInfo).run_id;
    const params = [
      { key: "smoke_alpha", value: "0.5" },
      { key: "smoke_optimizer", value: "adam" },
    ];
    const now = Date.now();
    const metrics = [0.9, 0.5, 0.25].map((value, step) => ({
      key: "smoke_loss",
      value,
      timestamp: now,
      step,
    }));
    await client.api("POST", "runs/log-batch", { run_id: runId, params, metrics });
    const { run } = await client.api<{ run: { data: RunData } }>("GET", `runs/get?run_id=${runId}`);
    for (const p of params) {
      const got = run.data.params?.find((q) => q.key === p.key)?.value;
      if (got !== p.value) throw new Error(`param ${p.key} reads back as ${got}, logged ${p.value}`);
    }
    const loss = run.data.metrics?.find((m) => m.key === "smoke_loss");
    if (loss?.value !== 0.25)
      throw new Error(`metric smoke_loss reads back as ${loss?.value}, logged 0.25 last`);
    return `${params.length} params, ${metrics.length} metric values, read back`;
  }

  private async upload(client: Client): Promise<string> {
    const root = proxiedArtifactPath((this.run as RunInfo).artifact_uri);
    this.payload = crypto.randomBytes(Math.round(this.options.artifactMb * 1024 * 1024));
    this.artifactPath = `${root}/smoke/payload.bin`;
    const started = performance.now();
    const res = await client.request("PUT", artifactUrl(this.artifactPath), {
      body: this.payload,
      contentType: "application/octet-stream",
      timeoutMs: TIMEOUT_MS.artifact,
    });
    expectStatus(res, 200, "PUT mlflow-artifacts");
    return `${this.payload.length} bytes, ${rate(this.payload.length, started)}, sha256 ${sha256(this.payload).slice(0, 16)}…`;
  }

  private async listArtifacts(client: Client): Promise<string> {
    const runId = (this.run as RunInfo).run_id;
    const { files } = await client.api<{ files?: { path: string; file_size?: number | string }[] }>(
      "GET",
      `artifacts/list?run_id=${runId}&path=smoke`,
    );
    const file = files?.find((f) => f.path === "smoke/payload.bin");
    if (!file) throw new Error(`smoke/payload.bin not listed (got ${JSON.stringify(files ?? [])})`);
    const size = Number(file.file_size);
    const want = (this.payload as Buffer).length;
    if (size !== want) throw new Error(`listed with ${size} bytes, uploaded ${want}`);
    return `smoke/payload.bin, ${size} bytes in the artifact store`;
  }

  private async download(client: Client): Promise<string> {
    const started = performance.now();
    const res = await client.request("GET", artifactUrl(this.artifactPath as string), {
      timeoutMs: TIMEOUT_MS.artifact,
    });
    expectStatus(res, 200, "GET mlflow-artifacts");
    const sent = this.payload as Buffer;
    const [got, want] = [sha256(res.body), sha256(sent)];
    if (!res.body.equals(sent)) {
      throw new Error(
        `downloaded ${res.body.length} bytes (sha256 ${got.slice(0, 16)}…) differ from the ${sent.length} ` +
          `uploaded (sha256 ${want.slice(0, 16)}…) from byte ${firstDifference(res.body, sent)}`,
      );
    }
    return `${res.body.length} bytes, ${rate(res.body.length, started)}, identical (sha256 ${got.slice(0, 16)}…)`;
  }

  private async deleteArtifact(client: Client): Promise<string> {
    const res = await client.request("DELETE", artifactUrl(this.artifactPath as string), {
      timeoutMs: TIMEOUT_MS.api,
    });
    expectStatus(res, 200, "DELETE mlflow-artifacts");
    return "removed from the artifact store";
  }

  private async deleteRun(client: Client): Promise<string> {
    const runId = (this.run as RunInfo).run_id;
    await client.api("POST", "runs/delete", { run_id: runId });
    const { run } = await client.api<{ run: { info: RunInfo } }>("GET", `runs/get?run_id=${runId}`);
    if (run.info.lifecycle_stage !== "deleted")
      throw new Error(`run is ${run.info.lifecycle_stage} after delete`);
    return `${runId} deleted`;
  }

  private async deleteExperiment(client: Client): Promise<string> {
    await client.api("POST", "experiments/delete", { experiment_id: this.experimentId });
    const { experiment } = await client.api<{ experiment: { lifecycle_stage: string } }>(
      "GET",
      `experiments/get?experiment_id=${this.experimentId}`,
    );
    if (experiment.lifecycle_stage !== "deleted") {
      throw new Error(`experiment is ${experiment.lifecycle_stage} after delete`);
    }
    return `${this.experimentId} deleted (gc removes it for good)`;
  }
}

const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

function rate(bytes: number, startedMs: number): string {
  const seconds = Math.max((performance.now() - startedMs) / 1000, 0.001);
  return `${(bytes / 1024 / 1024 / seconds).toFixed(1)} MB/s`;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

export function formatTable(steps: Step[]): string {
  const rows = [
    ["step", "result", "time", "detail"],
    ...steps.map((s) => [
      s.name,
      s.status,
      s.status === "skipped" ? "-" : `${(s.ms / 1000).toFixed(2)} s`,
      s.detail,
    ]),
  ];
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((r) => r[col].length)));
  return rows
    .map((r) =>
      [r[0].padEnd(widths[0]), r[1].padEnd(widths[1]), r[2].padStart(widths[2]), r[3]].join("  ").trimEnd(),
    )
    .join("\n");
}

async function main(): Promise<number> {
  let options: SmokeOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message) console.error(`smoke: ${e.message}`);
    console.error(USAGE);
    return 2;
  }
  const started = performance.now();
  const smoke = new Smoke(options);
  const ok = await smoke.runAll();
  console.log(formatTable(smoke.steps));
  const total = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const failed = smoke.steps.find((s) => s.status === "FAIL");
  if (ok && !failed) {
    console.log(`smoke: OK, ${smoke.steps.length} steps in ${total}`);
    return 0;
  }
  console.error(`smoke: FAILED at step "${failed?.name}": ${failed?.detail}`);
  return 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`smoke: ${(e as Error).stack ?? e}`);
      process.exit(1);
    },
  );
}

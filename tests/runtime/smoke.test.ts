// `npm run smoke -- --env-file <clientEnv>` against the local runtime stack (server/start.sh, PostgreSQL,
// each storage emulator): every step passes and leaves nothing behind; a wrong password, a server that is
// not there and an unverifiable certificate fail with a non-zero exit naming the step.
import * as fs from "fs";
import * as path from "path";
import {
  createDb,
  dbUri,
  dropDb,
  ensureVenv,
  freePort,
  killAll,
  psql,
  REPO_ROOT,
  runAsync,
  RunResult,
  tmpDir,
} from "./support/proc";
import {
  ADMIN,
  Backend,
  baseConfig,
  directSecrets,
  Emulator,
  startEmulator,
  startServer,
} from "./support/stack";
import { FrontEnd, makeTestCa, startFrontEnd } from "./support/frontend";

jest.setTimeout(600_000);

const STEPS = [
  "read client env",
  "health",
  "401 without credentials",
  "authenticated request",
  "create experiment",
  "create run",
  "log params and metrics",
  "upload 20 MB artifact",
  "list artifacts",
  "download 20 MB artifact",
  "delete artifact",
  "delete run",
  "delete experiment",
];

interface LocalStack {
  url: string;
  port: number;
  db: string;
  emulator: Emulator;
  dir: string;
}

let venv: string;
const stacks = new Map<Backend, Promise<LocalStack>>();
const dbs: string[] = [];
const frontEnds: FrontEnd[] = [];

beforeAll(() => {
  venv = ensureVenv();
});
afterAll(async () => {
  await Promise.all(frontEnds.map((p) => p.close()));
  await killAll();
  dbs.forEach(dropDb);
});

/** One server per backend, started on first use and shared by the tests. */
function localStack(backend: Backend): Promise<LocalStack> {
  let stack = stacks.get(backend);
  if (!stack) {
    stack = (async () => {
      const dir = tmpDir(`smoke-${backend}`);
      const emulator = await startEmulator(venv, backend, dir);
      const db = createDb(`rt_smoke_${backend}`);
      dbs.push(db);
      const port = await freePort();
      const server = await startServer({
        venv,
        dir,
        config: baseConfig(emulator.destination, port),
        env: { ...directSecrets(dbUri(db)), ...emulator.serverEnv },
      });
      return { url: server.url, port, db, emulator, dir };
    })();
    stacks.set(backend, stack);
  }
  return stack;
}

/** The .env as the clientEnv stack output writes it (components/platform.ts), plus optional lines. */
function writeClientEnv(dir: string, url: string, password: string, extra = ""): string {
  const file = path.join(dir, `client-${Date.now()}.env`);
  fs.writeFileSync(
    file,
    `MLFLOW_TRACKING_URI=${url}\nMLFLOW_TRACKING_USERNAME=${ADMIN.username}\nMLFLOW_TRACKING_PASSWORD=${password}\n${extra}`,
  );
  return file;
}

/** The documented command, with only PATH/HOME/LANG (and `env`) in its environment. */
function smoke(...args: string[]): Promise<RunResult> {
  return smokeWithEnv({}, ...args);
}

function smokeWithEnv(env: Record<string, string>, ...args: string[]): Promise<RunResult> {
  return runAsync("npm", ["run", "--silent", "smoke", "--", ...args], {
    cwd: REPO_ROOT,
    env,
    timeoutMs: 300_000,
    logFile: path.join(tmpDir("smoke-run"), "smoke.log"),
  });
}

/**
 * A `pulumi` on PATH that answers only `pulumi stack output --json --show-secrets --stack <stack>`, with the
 * JSON object of outputs the CLI prints (output name -> value; clientEnv a string once secrets are shown).
 */
function fakePulumi(dir: string, stack: string, outputs: Record<string, string>): string {
  const bin = path.join(dir, "fake-bin");
  fs.mkdirSync(bin, { recursive: true });
  const expected = `stack output --json --show-secrets --stack ${stack}`;
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    `#!/bin/sh\nif [ "$*" = '${expected}' ]; then cat '${path.join(dir, "outputs.json")}'; exit 0; fi\n` +
      `echo "error: unexpected arguments: $*" >&2; exit 255\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify(outputs, null, 2));
  return `${bin}:${process.env.PATH}`;
}

/** The table's row for `step`: its result column. */
function stepResult(stdout: string, step: string): string | undefined {
  const row = stdout.split("\n").find((line) => line.startsWith(`${step}  `));
  return row?.slice(step.length).trim().split(/\s+/)[0];
}

const smokeExperiments = (db: string) =>
  psql(db, "SELECT name || ' ' || lifecycle_stage FROM experiments WHERE name LIKE 'smoke-%' ORDER BY name")
    .split("\n")
    .filter(Boolean);

describe.each<Backend>(["s3", "azure", "gcs"])("artifact backend %s", (backend) => {
  test("every step ok, exit 0; run, experiment and artifact gone afterwards", async () => {
    const stack = await localStack(backend);
    const result = await smoke("--env-file", writeClientEnv(stack.dir, stack.url, ADMIN.password));
    expect({ status: result.status, output: result.output }).toEqual({
      status: 0,
      output: expect.any(String),
    });
    for (const step of STEPS) expect([step, stepResult(result.stdout, step)]).toEqual([step, "ok"]);
    expect(result.stdout).toMatch(/^step\s+result\s+time\s+detail$/m);
    expect(result.stdout).toMatch(
      /^download 20 MB artifact\s+ok\s+\d+\.\d\d s\s+20971520 bytes, .*identical/m,
    );
    expect(result.stdout).toContain(`smoke: OK, ${STEPS.length} steps`);
    expect(result.output).not.toContain(ADMIN.password);

    const experiments = smokeExperiments(stack.db);
    expect(experiments).toHaveLength(1);
    expect(experiments[0]).toMatch(/ deleted$/);
    expect(psql(stack.db, "SELECT lifecycle_stage FROM runs")).toBe("deleted");
    expect(psql(stack.db, "SELECT key || '=' || value FROM params ORDER BY key")).toBe(
      "smoke_alpha=0.5\nsmoke_optimizer=adam",
    );
    expect(stack.emulator.listObjects().filter((k) => k.includes("payload.bin"))).toEqual([]);
  });
});

test("wrong password: exit 1 at 'authenticated request', nothing created", async () => {
  const stack = await localStack("s3");
  const before = smokeExperiments(stack.db);
  const result = await smoke("--env-file", writeClientEnv(stack.dir, stack.url, "not-the-password"));
  expect(result.status).toBe(1);
  expect(stepResult(result.stdout, "health")).toBe("ok");
  expect(stepResult(result.stdout, "401 without credentials")).toBe("ok");
  expect(stepResult(result.stdout, "authenticated request")).toBe("FAIL");
  expect(stepResult(result.stdout, "create experiment")).toBe("skipped");
  expect(result.output).toMatch(/smoke: FAILED at step "authenticated request": .*HTTP 401/);
  expect(smokeExperiments(stack.db)).toEqual(before);
});

test("an artifact corrupted on the way down: exit 1 at 'download', clean-up steps still run", async () => {
  const stack = await localStack("s3");
  const proxy = await startFrontEnd({
    port: await freePort(),
    upstreamPort: stack.port,
    corruptArtifactDownloads: true,
  });
  frontEnds.push(proxy);
  const result = await smoke(
    "--env-file",
    writeClientEnv(tmpDir("smoke-corrupt"), proxy.url, ADMIN.password),
  );
  expect(result.status).toBe(1);
  expect(result.output).toMatch(
    /smoke: FAILED at step "download 20 MB artifact": downloaded 20971520 bytes \(sha256 \w+…\) differ from the 20971520 uploaded \(sha256 \w+…\) from byte 0/,
  );
  for (const step of ["delete artifact", "delete run", "delete experiment"]) {
    expect([step, stepResult(result.stdout, step)]).toEqual([step, "ok"]);
  }
  expect(smokeExperiments(stack.db).every((e) => e.endsWith(" deleted"))).toBe(true);
  expect(stack.emulator.listObjects().filter((k) => k.includes("payload.bin"))).toEqual([]);
});

test("nothing listening: --wait retries /health for that long, then exit 1 at 'health'", async () => {
  const dir = tmpDir("smoke-down");
  const url = `http://127.0.0.1:${await freePort()}`;
  const started = Date.now();
  const result = await smoke("--env-file", writeClientEnv(dir, url, ADMIN.password), "--wait", "6");
  const seconds = (Date.now() - started) / 1000;
  expect(result.status).toBe(1);
  expect(result.output).toMatch(/smoke: FAILED at step "health": GET \/health: .*ECONNREFUSED.*\(2 attempt/);
  expect(seconds).toBeGreaterThan(4.5);
  expect(seconds).toBeLessThan(60);
});

test("HTTPS with a private CA: verified through MLFLOW_TRACKING_SERVER_CERT_PATH, refused without it", async () => {
  const stack = await localStack("s3");
  const dir = tmpDir("smoke-tls");
  const ca = makeTestCa(dir);
  const proxy = await startFrontEnd({ tls: ca, port: await freePort(), upstreamPort: stack.port });
  frontEnds.push(proxy);

  // Not retried for the default --wait of 600 s: waiting does not make a certificate verify.
  const started = Date.now();
  const untrusted = await smoke("--env-file", writeClientEnv(dir, proxy.url, ADMIN.password));
  expect(untrusted.status).toBe(1);
  expect(untrusted.output).toMatch(/smoke: FAILED at step "health": TLS certificate not trusted \(.*CERT/);
  expect(Date.now() - started).toBeLessThan(60_000);

  const withCa = writeClientEnv(
    dir,
    proxy.url,
    ADMIN.password,
    `MLFLOW_TRACKING_SERVER_CERT_PATH=${ca.caCert}\n`,
  );
  const trusted = await smoke("--env-file", withCa, "--artifact-mb", "2");
  expect({ status: trusted.status, output: trusted.output }).toEqual({
    status: 0,
    output: expect.any(String),
  });
  expect(trusted.stdout).toContain(`CA ${ca.caCert}`);

  const viaFlag = await smoke(
    ...[
      "--env-file",
      writeClientEnv(dir, proxy.url, ADMIN.password),
      "--ca",
      ca.caCert,
      "--artifact-mb",
      "1",
    ],
  );
  expect(viaFlag.status).toBe(0);
});

test("--stack reads clientEnv from `pulumi stack output --json --show-secrets --stack <name>`", async () => {
  const stack = await localStack("s3");
  const dir = tmpDir("smoke-stack");
  const clientEnv = fs.readFileSync(writeClientEnv(dir, stack.url, ADMIN.password), "utf8");
  const PATH = fakePulumi(dir, "acme/dev", { trackingUri: stack.url, serverCompute: "ec2", clientEnv });
  const result = await smokeWithEnv({ PATH }, "--stack", "acme/dev", "--artifact-mb", "1");
  expect({ status: result.status, output: result.output }).toEqual({ status: 0, output: expect.any(String) });
  expect(stepResult(result.stdout, "read stack outputs")).toBe("ok");
  expect(result.stdout).toContain(`${stack.url} from stack acme/dev`);

  const missing = await smokeWithEnv({ PATH }, "--stack", "acme/prod", "--wait", "0");
  expect(missing.status).toBe(1);
  expect(missing.output).toMatch(/smoke: FAILED at step "read stack outputs": .*unexpected arguments/);
});

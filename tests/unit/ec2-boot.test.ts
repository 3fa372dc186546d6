// The EC2 first boot as cloud-init runs it: the rendered runcmd (sh -eu boot.sh boot.env), in a real shell,
// with every command it calls replaced by a PATH shim that records its arguments (nothing is installed). A
// step made to fail stops the boot there, non-zero; a download that fails once is retried.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  FETCHED_SERVER_FILES,
  RDS_CA_BUNDLE_PATH,
  renderCloudInit,
  serverFileSha256,
  TLS_PATHS,
} from "../../server/render";
import { cloudInitFiles } from "../support/inspect";
import { BOOT_ENV, BOOT_SCRIPT, runcmdOf, runcmdScript, exampleServerFileSources } from "../support/boot";

const config = {
  artifactsDestination: "s3://my-bucket/mlflow",
  allowedHosts: ["203.0.113.10"],
  adminUsername: "admin",
  awsRegion: "eu-west-1",
  requirementsSource: {
    uri: "s3://mlflow-dev-server-runtime-0123abc/server/requirements-abc.txt",
    sha256: serverFileSha256("requirements.txt"),
  },
  serverFileSources: exampleServerFileSources("mlflow-dev-server-runtime-0123abc"),
};
const userData = renderCloudInit({ ...config, tls: { mode: "plain" } });
const acmeUserData = renderCloudInit({
  ...config,
  tls: { mode: "acme", identifier: "203.0.113.10", challenge: "http-01" },
});
const FETCHED = Object.keys(FETCHED_SERVER_FILES) as (keyof typeof FETCHED_SERVER_FILES)[];

// Every command boot.sh may call. `id` answers "no such user", as on a first boot.
const SHIMS = ["apt-get", "useradd", "install", "systemctl", "sleep", "python3", "chmod"];
const SHIM = `#!/bin/sh
line="\${0##*/} $*"
echo "$line" >>"$BOOT_LOG"
if [ "$line" = "\${FAIL_LINE:-}" ]; then exit 7; fi
if [ "$line" = "\${FAIL_ONCE_LINE:-}" ] && [ ! -e "$BOOT_LOG.failed" ]; then : >"$BOOT_LOG.failed"; exit 7; fi
exit 0
`;

interface Boot {
  status: number | null;
  stderr: string;
  calls: string[];
}

// The shims and the venv are shared by every run (the venv's path is in what the shims record); each run
// gets its own directory for boot.sh, boot.env and the log.
const shared = fs.mkdtempSync(path.join(os.tmpdir(), "ec2-boot-"));
const bin = path.join(shared, "bin");
const venv = path.join(shared, "venv");
fs.mkdirSync(bin);
fs.mkdirSync(path.join(venv, "bin"), { recursive: true });
for (const name of SHIMS) fs.writeFileSync(path.join(bin, name), SHIM, { mode: 0o755 });
fs.writeFileSync(path.join(bin, "id"), '#!/bin/sh\necho "id $*" >>"$BOOT_LOG"\nexit 1\n', { mode: 0o755 });
for (const name of ["pip", "python"]) fs.writeFileSync(path.join(venv, "bin", name), SHIM, { mode: 0o755 });
// acme mode runs tls.sh, which boot.sh fetched from S3: a shim in a server dir of its own, and its own venv.
const acmeServerDir = path.join(shared, "server");
const acmeVenv = path.join(shared, "acme-venv");
fs.mkdirSync(acmeServerDir);
fs.writeFileSync(path.join(acmeServerDir, "tls.sh"), SHIM, { mode: 0o755 });
fs.mkdirSync(path.join(acmeVenv, "bin"), { recursive: true });
fs.writeFileSync(path.join(acmeVenv, "bin", "pip"), SHIM, { mode: 0o755 });
afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));

/**
 * Write the cloud-config's files under a fresh root and run its runcmd the way cloud-init does (the script
 * `shellify` makes, under `shell`), with the written files' paths pointing into that root.
 */
function boot(
  failures: { FAIL_LINE?: string; FAIL_ONCE_LINE?: string } = {},
  shell = "/bin/sh",
  data = userData,
): Boot {
  const root = fs.mkdtempSync(path.join(shared, "run-"));
  let script = runcmdScript(data);
  const acme = data === acmeUserData ? { MLFLOW_SERVER_DIR: acmeServerDir, MLFLOW_ACME_VENV: acmeVenv } : {};
  for (const [file, content] of Object.entries(cloudInitFiles(data))) {
    fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
    script = script.split(file).join(path.join(root, file));
  }
  fs.writeFileSync(path.join(root, "runcmd"), script);
  // runcmd's `sh` is the shell under test (dash is Ubuntu's sh).
  fs.mkdirSync(path.join(root, "shell"));
  fs.symlinkSync(shell, path.join(root, "shell", "sh"));
  const log = path.join(root, "calls.log");
  const result = spawnSync(shell, [path.join(root, "runcmd")], {
    encoding: "utf8",
    timeout: 20_000,
    env: {
      PATH: `${path.join(root, "shell")}:${bin}`,
      MLFLOW_VENV: venv,
      BOOT_LOG: log,
      ...acme,
      ...failures,
    },
  });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trimEnd().split("\n") : [];
  return { status: result.status, stderr: result.stderr, calls };
}

test("runcmd runs boot.sh under sh -eu, the written file", () => {
  expect(runcmdOf(userData)).toEqual([["sh", "-eu", BOOT_SCRIPT, BOOT_ENV]]);
});

const withoutSleeps = (calls: string[]) => calls.filter((c) => !c.startsWith("sleep "));
const fetchObject = (calls: string[]) => calls.filter((c) => c.includes(" fetch-object "));

describe.each(["/bin/sh", "/bin/bash"])("%s", (shell) => {
  test("a boot where everything works runs every step once, in order, heartbeat last, and exits 0", () => {
    const run = boot({}, shell);
    expect(run.stderr).toMatch(/mlflow-boot: boot done/);
    expect(run.status).toBe(0);
    expect(run.calls.map((c) => c.split(" ").slice(0, 2).join(" "))).toEqual([
      "id -u",
      "useradd --system",
      "apt-get -q",
      "apt-get -q",
      "python3 -m",
      "pip install",
      "python " + path.join("/opt/mlflow/server", "runtime_helper.py"),
      ...FETCHED.flatMap((f) => [
        "python " + path.join("/opt/mlflow/server", "runtime_helper.py"),
        `chmod ${FETCHED_SERVER_FILES[f]}`,
      ]),
      "pip install",
      "install -m",
      "systemctl daemon-reload",
      "systemctl enable",
      "systemctl enable",
      "systemctl enable",
      "systemctl restart",
      "systemctl enable",
    ]);
    expect(run.calls.at(-1)).toBe("systemctl enable --now mlflow-heartbeat.timer");
    const sources = exampleServerFileSources("mlflow-dev-server-runtime-0123abc");
    expect(fetchObject(run.calls)).toEqual([
      `python /opt/mlflow/server/runtime_helper.py fetch-object s3://mlflow-dev-server-runtime-0123abc/server/requirements-abc.txt ${serverFileSha256("requirements.txt")} /opt/mlflow/server/requirements.txt`,
      ...FETCHED.map(
        (f) =>
          `python /opt/mlflow/server/runtime_helper.py fetch-object ${sources[f].uri} ${serverFileSha256(f)} /opt/mlflow/server/${f}`,
      ),
    ]);
    expect(run.calls.filter((c) => c.startsWith("chmod "))).toEqual([
      "chmod 0755 /opt/mlflow/server/start.sh",
      "chmod 0644 /opt/mlflow/server/heartbeat.py",
      `chmod 0644 ${RDS_CA_BUNDLE_PATH}`,
      "chmod 0755 /opt/mlflow/server/tls.sh",
      "chmod 0644 /opt/mlflow/server/requirements-acme.txt",
    ]);
    // Plain mode: no ACME client, no stand-in, no certificate timers.
    expect(run.calls.join("\n")).not.toMatch(
      /tls\.sh self-signed|mlflow-cert|^pip install .*requirements-acme/m,
    );
  });

  test("fetch-object failing once (IAM not propagated yet, an S3 blip) is retried after 5 s, then boot goes on", () => {
    const lock = fetchObject(boot({}, shell).calls)[0];
    const run = boot({ FAIL_ONCE_LINE: lock }, shell);
    expect(run.status).toBe(0);
    const at = run.calls.indexOf(lock);
    expect(run.calls.slice(at, at + 3)).toEqual([lock, "sleep 5", lock]);
    expect(run.stderr).toMatch(/try 1 of 6 failed, again in 5s: .*fetch-object/);
    expect(run.calls.at(-1)).toBe("systemctl enable --now mlflow-heartbeat.timer");
  });
});

describe("a step that keeps failing stops the boot there, non-zero", () => {
  const steps = boot().calls.filter((c) => !c.startsWith("id "));

  test.each(steps.map((s, i) => [s.split(shared).join("<tmp>"), s, i] as const))(
    "%s",
    (_name, step, index) => {
      const run = boot({ FAIL_LINE: step });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/BOOT FAILED at step '[a-z][a-z0-9 ._-]*' \(exit [1-9]\d*\)/);
      const calls = withoutSleeps(run.calls).filter((c) => !c.startsWith("id "));
      const tries = calls.filter((c) => c === step).length;
      // Nothing after the failing step ran; downloads were tried 6 times with a capped backoff.
      expect(calls).toEqual([...steps.slice(0, index), ...Array(tries).fill(step)]);
      const download = /^(apt-get|pip) |fetch-object/.test(step);
      expect(tries).toBe(download ? 6 : 1);
      expect(run.calls.filter((c) => c.startsWith("sleep "))).toEqual(
        download ? ["sleep 5", "sleep 10", "sleep 20", "sleep 40", "sleep 60"] : [],
      );
    },
  );

  test("the heartbeat timer, the step that lets the alarm see a healthy server, is never reached", () => {
    for (const step of steps.slice(0, -1)) {
      expect(boot({ FAIL_LINE: step }).calls).not.toContain("systemctl enable --now mlflow-heartbeat.timer");
    }
  });
});

describe("acme mode (HTTPS)", () => {
  const steps = boot({}, "/bin/sh", acmeUserData).calls.filter((c) => !c.startsWith("id "));
  const standIn = steps.indexOf("tls.sh self-signed");

  test("the ACME client in its own venv, the stand-in before nginx starts, then the certificate timers", () => {
    const run = boot({}, "/bin/sh", acmeUserData);
    expect(run.status).toBe(0);
    const short = withoutSleeps(run.calls).map((c) => c.split(shared).join("<tmp>"));
    const at = (prefix: string) => short.findIndex((c) => c.startsWith(prefix));
    const serverPackages = short.findIndex(
      (c) => c.startsWith("pip install") && c.endsWith("<tmp>/server/requirements.txt"),
    );
    expect(short.slice(serverPackages + 1, serverPackages + 4)).toEqual([
      "python3 -m venv <tmp>/acme-venv",
      expect.stringMatching(
        /^pip install --no-cache-dir --require-hashes --only-binary=:all: -r <tmp>\/server\/requirements-acme\.txt$/,
      ),
      "tls.sh self-signed",
    ]);
    expect(at("tls.sh self-signed")).toBeLessThan(at("systemctl restart nginx"));
    expect(short.slice(-2)).toEqual([
      "systemctl enable --now mlflow-cert.timer mlflow-cert-renew.timer",
      "systemctl enable --now mlflow-heartbeat.timer",
    ]);
    // boot.sh's default venv is the one tls.env names for tls.sh.
    expect(fs.readFileSync(path.join(__dirname, "../../server/boot.sh"), "utf8")).toContain(
      `: "\${MLFLOW_ACME_VENV:=${TLS_PATHS.acmeVenv}}"`,
    );
  });

  test.each(steps.slice(standIn - 2, standIn + 1).map((s) => [s.split(shared).join("<tmp>"), s] as const))(
    "%s failing stops the boot before nginx starts (no server without its certificate)",
    (_name, step) => {
      const run = boot({ FAIL_LINE: step }, "/bin/sh", acmeUserData);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/BOOT FAILED at step '(acme client|self-signed certificate)'/);
      expect(run.calls.join("\n")).not.toMatch(/systemctl restart nginx|mlflow-cert|mlflow-heartbeat/);
    },
  );
});

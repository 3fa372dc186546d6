// The EC2 first boot as cloud-init runs it: the rendered runcmd (sh -eu boot.sh boot.env), in a real shell,
// with every command it calls replaced by a PATH shim that records its arguments (nothing is installed). A
// step made to fail stops the boot there, non-zero; a download that fails once is retried.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RDS_CA_BUNDLE_PATH, renderCloudInit, serverFileSha256 } from "../../server/render";
import { cloudInitFiles } from "../support/inspect";
import { BOOT_ENV, BOOT_SCRIPT, runcmdOf, runcmdScript, exampleServerFileSources } from "../support/boot";

const userData = renderCloudInit({
  artifactsDestination: "s3://my-bucket/mlflow",
  allowedHosts: ["203.0.113.10"],
  adminUsername: "admin",
  awsRegion: "eu-west-1",
  requirementsSource: {
    uri: "s3://mlflow-dev-server-runtime-0123abc/server/requirements-abc.txt",
    sha256: serverFileSha256("requirements.txt"),
  },
  serverFileSources: exampleServerFileSources("mlflow-dev-server-runtime-0123abc"),
});

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
afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));

/**
 * Write the cloud-config's files under a fresh root and run its runcmd the way cloud-init does (the script
 * `shellify` makes, under `shell`), with the written files' paths pointing into that root.
 */
function boot(failures: { FAIL_LINE?: string; FAIL_ONCE_LINE?: string } = {}, shell = "/bin/sh"): Boot {
  const root = fs.mkdtempSync(path.join(shared, "run-"));
  let script = runcmdScript(userData);
  for (const [file, content] of Object.entries(cloudInitFiles(userData))) {
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
    env: { PATH: `${path.join(root, "shell")}:${bin}`, MLFLOW_VENV: venv, BOOT_LOG: log, ...failures },
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
      "python " + path.join("/opt/mlflow/server", "runtime_helper.py"),
      "chmod 0755",
      "python " + path.join("/opt/mlflow/server", "runtime_helper.py"),
      "chmod 0644",
      "python " + path.join("/opt/mlflow/server", "runtime_helper.py"),
      "chmod 0644",
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
      ...["start.sh", "heartbeat.py", "rds-ca-bundle.pem"].map(
        (f) =>
          `python /opt/mlflow/server/runtime_helper.py fetch-object ${sources[f as "start.sh"].uri} ${serverFileSha256(f)} /opt/mlflow/server/${f}`,
      ),
    ]);
    expect(run.calls.filter((c) => c.startsWith("chmod "))).toEqual([
      "chmod 0755 /opt/mlflow/server/start.sh",
      "chmod 0644 /opt/mlflow/server/heartbeat.py",
      `chmod 0644 ${RDS_CA_BUNDLE_PATH}`,
    ]);
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

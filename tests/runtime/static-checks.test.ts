// The rendered files pass the real tools: shellcheck, nginx -t, systemd-analyze verify, cloud-init schema.
import { exampleServerFileSources } from "../support/boot";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  GC_SCHEDULE,
  renderCloudInit,
  renderGcServiceUnit,
  renderGcTimerUnit,
  renderNginxConfig,
  renderSystemdUnit,
  serverFileSha256,
} from "../../server/render";
import { SERVER_DIR, tmpDir } from "./support/proc";

jest.setTimeout(120_000);

const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });

const config = {
  artifactsDestination: "s3://my-bucket/mlflow",
  allowedHosts: ["203.0.113.10", "mlflow.example.com"],
  adminUsername: "admin",
  awsRegion: "eu-west-1",
  secretArns: {
    MLFLOW_BACKEND_STORE_URI: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
    MLFLOW_AUTH_ADMIN_PASSWORD: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pw-AbCdEf",
    MLFLOW_FLASK_SERVER_SECRET_KEY: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:fk-AbCdEf",
  },
};

test("shellcheck server/*.sh, scripts/*.sh and .ci/run", () => {
  const root = path.join(SERVER_DIR, "..");
  const inDir = (dir: string) =>
    fs
      .readdirSync(path.join(root, dir))
      .filter((f) => f.endsWith(".sh"))
      .map((f) => path.join(dir, f));
  const scripts = [...inDir("server"), ...inDir("scripts"), ".ci/run"];
  expect(scripts).toEqual(
    expect.arrayContaining(["server/start.sh", "scripts/use-node.sh", "scripts/sbom.sh"]),
  );
  // -x follows `source`d files (use-node.sh, python-tools.sh); run from the root so their paths resolve.
  execFileSync("shellcheck", ["-x", ...scripts], { cwd: root, encoding: "utf8" });
});

test("nginx -t accepts the rendered config", () => {
  const dir = tmpDir("nginx-t");
  const conf = path.join(dir, "nginx.conf");
  fs.writeFileSync(
    conf,
    renderNginxConfig({
      listenPort: 18080,
      listenAddress: "127.0.0.1",
      upstreamPort: 5000,
      serverNames: ["203.0.113.10", "mlflow.example.com"],
      pidFile: path.join(dir, "nginx.pid"),
      errorLog: path.join(dir, "error.log"),
      accessLog: path.join(dir, "access.log"),
      tempDir: dir,
    }),
  );
  const out = execFileSync("nginx", ["-t", "-c", conf, "-e", path.join(dir, "error.log")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  expect(out).toBe("");
});

test("systemd-analyze verify accepts the rendered unit", () => {
  const dir = tmpDir("systemd");
  const stub = path.join(dir, "start.sh");
  fs.writeFileSync(stub, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const envFile = path.join(dir, "mlflow.env");
  fs.writeFileSync(envFile, "A=1\n");
  const unit = path.join(dir, "mlflow.service");
  fs.writeFileSync(unit, renderSystemdUnit({ startScript: stub, envFile }));
  const text = fs.readFileSync(unit, "utf8");
  expect(text).toMatch(/^User=mlflow$/m);
  expect(text).toMatch(/^Restart=always$/m);
  expect(text).toMatch(/^NoNewPrivileges=yes$/m);
  expect(text).toMatch(/^ProtectSystem=strict$/m);
  const out = execFileSync("systemd-analyze", ["verify", unit], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  expect(out).not.toMatch(/error/i);
});

test("systemd-analyze verify accepts the rendered gc service and its timer", () => {
  const dir = tmpDir("systemd-gc");
  const stub = path.join(dir, "start.sh");
  fs.writeFileSync(stub, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const envFile = path.join(dir, "mlflow.env");
  fs.writeFileSync(envFile, "A=1\n");
  const service = path.join(dir, "mlflow-gc.service");
  const timer = path.join(dir, "mlflow-gc.timer");
  fs.writeFileSync(service, renderGcServiceUnit({ startScript: stub, envFile }));
  fs.writeFileSync(timer, renderGcTimerUnit());
  expect(fs.readFileSync(service, "utf8")).toMatch(/^ExecStart=\S+ gc$/m);
  const result = spawnSync("systemd-analyze", ["verify", service, timer], {
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/error|invalid|unknown|ignoring/i);
  expect(result.status).toBe(0);
  // The calendar expression is one systemd understands, and it is weekly.
  const calendar = run("systemd-analyze", ["calendar", "--iterations=2", GC_SCHEDULE.systemdOnCalendar]);
  expect(calendar).toMatch(/Next elapse: Sun /);
});

test("cloud-init schema accepts the rendered user data, which holds no secret values", () => {
  const dir = tmpDir("cloud-init");
  const file = path.join(dir, "user-data.yaml");
  const text = renderCloudInit({
    ...config,
    requirementsSource: {
      uri: "s3://mlflow-runtime/server/requirements.txt",
      sha256: serverFileSha256("requirements.txt"),
    },
    serverFileSources: exampleServerFileSources(),
  });
  fs.writeFileSync(file, text);
  expect(run("cloud-init", ["schema", "--config-file", file])).toMatch(/Valid/);
  expect(text.startsWith("#cloud-config\n")).toBe(true);
});

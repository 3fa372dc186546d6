// The rendered files pass the real tools: shellcheck, nginx -t, systemd-analyze verify, cloud-init schema.
import { exampleServerFileSources } from "../support/boot";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  CERT_SCHEDULE,
  GC_SCHEDULE,
  renderCertRenewTimerUnit,
  renderCertServiceUnit,
  renderCertTimerUnit,
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
    expect.arrayContaining(["server/start.sh", "server/tls.sh", "scripts/use-node.sh", "scripts/sbom.sh"]),
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

test("nginx -t accepts the rendered HTTPS config (TLS 1.2/1.3, port 80 for the challenge and a redirect)", () => {
  const dir = tmpDir("nginx-tls-t");
  run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"],
    ...["-subj", "/CN=t", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")],
  ]);
  const conf = path.join(dir, "nginx.conf");
  fs.writeFileSync(
    conf,
    renderNginxConfig({
      listenPort: 18080,
      listenAddress: "127.0.0.1",
      upstreamPort: 5000,
      serverNames: ["203.0.113.10"],
      pidFile: path.join(dir, "nginx.pid"),
      errorLog: path.join(dir, "error.log"),
      accessLog: path.join(dir, "access.log"),
      tempDir: dir,
      tls: {
        httpsPort: 18443,
        certificate: path.join(dir, "cert.pem"),
        key: path.join(dir, "key.pem"),
        acmeWebroot: dir,
      },
    }),
  );
  const result = spawnSync("nginx", ["-t", "-c", conf, "-e", path.join(dir, "error.log")], {
    encoding: "utf8",
  });
  expect(result.stderr).toMatch(/syntax is ok/);
  expect(result.stderr).not.toMatch(/\[warn\]|\[emerg\]/);
  expect(result.status).toBe(0);
});

test("systemd-analyze verify accepts the certificate units and their timers", () => {
  const dir = tmpDir("systemd-cert");
  const script = path.join(dir, "tls.sh");
  fs.writeFileSync(script, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const envFile = path.join(dir, "tls.env");
  fs.writeFileSync(envFile, "A=1\n");
  const files = {
    "mlflow-cert.service": renderCertServiceUnit("issue", { script, envFile }),
    "mlflow-cert.timer": renderCertTimerUnit(),
    "mlflow-cert-renew.service": renderCertServiceUnit("renew", { script, envFile }),
    "mlflow-cert-renew.timer": renderCertRenewTimerUnit(),
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  expect(files["mlflow-cert.service"]).toMatch(/^ExecStart=\S+ issue$/m);
  expect(files["mlflow-cert-renew.service"]).toMatch(/^ExecStart=\S+ renew$/m);
  const result = spawnSync(
    "systemd-analyze",
    ["verify", ...Object.keys(files).map((f) => path.join(dir, f))],
    {
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/error|invalid|unknown|ignoring/i);
  expect(result.status).toBe(0);
  // Four times a day.
  const calendar = run("systemd-analyze", ["calendar", "--iterations=5", CERT_SCHEDULE.renewOnCalendar]);
  expect(calendar.match(/Iter\. #\d+|Next elapse/g)).toHaveLength(5);
  expect(calendar).toMatch(/ 0?6:00:00 /);
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
  // With HTTPS (tls.env and the certificate units in write_files) too.
  const acme = path.join(dir, "user-data-acme.yaml");
  fs.writeFileSync(
    acme,
    renderCloudInit({
      ...config,
      requirementsSource: {
        uri: "s3://mlflow-runtime/server/requirements.txt",
        sha256: serverFileSha256("requirements.txt"),
      },
      serverFileSources: exampleServerFileSources(),
      tls: { mode: "acme", identifier: "203.0.113.10", challenge: "http-01", email: "ops@example.com" },
    }),
  );
  expect(run("cloud-init", ["schema", "--config-file", acme])).toMatch(/Valid/);
});

// Fast, pure tests of server/render.ts (no processes). Runtime behaviour is in tests/runtime.
import * as crypto from "crypto";
import { parse as parseYaml } from "yaml";
import {
  DEFAULT_WORKERS,
  pinnedMlflowVersion,
  readServerFile,
  renderCloudInit,
  renderEnvFile,
  renderNginxConfig,
  renderServerEnvironment,
  renderSystemdUnit,
  renderGcServiceUnit,
  renderGcTimerUnit,
  GC_SCHEDULE,
  SECRET_VARIABLES,
  ServerRuntimeConfig,
  parseArtifactDestinations,
  BOOTSTRAP_PACKAGES,
  EC2_USER_DATA_LIMIT_BYTES,
  requirementsSubset,
  serverFileSha256,
  compressUserData,
  renderHeartbeatServiceUnit,
  renderHeartbeatTimerUnit,
  HEARTBEAT,
  RDS_CA_BUNDLE_PATH,
  SERVER_ERRORS_METRIC,
  CERTIFICATE_METRIC,
  CERT_SCHEDULE,
  LETS_ENCRYPT_DIRECTORY,
  TLS_PATHS,
  renderCertServiceUnit,
  renderTlsEnv,
} from "../../server/render";
import { cloudInitFiles } from "../support/inspect";
import { bootCommands, exampleServerFileSources } from "../support/boot";
import * as zlib from "zlib";
import { IDLE_TIMEOUT_SECONDS } from "../../components/compute/container";

const arn = (n: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${n}-AbCdEf`;
const base: ServerRuntimeConfig = {
  artifactsDestination: "s3://my-bucket/mlflow",
  allowedHosts: ["203.0.113.10", "mlflow.example.com"],
  adminUsername: "admin",
  awsRegion: "eu-west-1",
  secretArns: {
    MLFLOW_BACKEND_STORE_URI: arn("db"),
    MLFLOW_AUTH_ADMIN_PASSWORD: arn("pw"),
    MLFLOW_FLASK_SERVER_SECRET_KEY: arn("fk"),
  },
};

describe("renderServerEnvironment", () => {
  test("non-secret values and *_SECRET_ARN entries only", () => {
    const env = renderServerEnvironment(base);
    expect(env).toMatchObject({
      MLFLOW_ARTIFACTS_DESTINATION: "s3://my-bucket/mlflow",
      MLFLOW_AUTH_ADMIN_USERNAME: "admin",
      MLFLOW_HOST: "127.0.0.1",
      MLFLOW_PORT: "5000",
      MLFLOW_WORKERS: String(DEFAULT_WORKERS),
      AWS_REGION: "eu-west-1",
      MLFLOW_BACKEND_STORE_URI_SECRET_ARN: arn("db"),
    });
    for (const name of SECRET_VARIABLES) expect(env).not.toHaveProperty(name);
    expect(env.MLFLOW_SERVER_ALLOWED_HOSTS.split(",")).toEqual(
      expect.arrayContaining(["203.0.113.10", "203.0.113.10:*", "mlflow.example.com", "localhost"]),
    );
    expect(Number(env.MLFLOW_SQLALCHEMYSTORE_POOL_SIZE)).toBeGreaterThan(0);
    expect(env.MLFLOW_GC_OLDER_THAN).toBe("30d");
    expect(renderServerEnvironment({ ...base, gcOlderThan: "7d" }).MLFLOW_GC_OLDER_THAN).toBe("7d");
  });

  test.each<[string, Partial<ServerRuntimeConfig>, RegExp]>([
    ["empty allowedHosts", { allowedHosts: [] }, /allowedHosts must list at least one/],
    ["bad host", { allowedHosts: ["http://x.com/"] }, /allowedHosts entry/],
    ["bad scheme", { artifactsDestination: "file:///tmp" }, /artifactsDestination must be/],
    ["azure without account", { artifactsDestination: "wasbs://c/prefix" }, /artifactsDestination must be/],
    ["port", { port: 70000 }, /port must be/],
    ["workers", { workers: 0 }, /workers must be/],
    [
      "secret in extraEnvironment",
      { extraEnvironment: { MLFLOW_AUTH_ADMIN_PASSWORD: "x" } },
      /must not set secret/,
    ],
    ["secret-looking name", { extraEnvironment: { AWS_SECRET_ACCESS_KEY: "x" } }, /looks like a secret/],
    ["ARN name in extraEnvironment", { extraEnvironment: { FOO_SECRET_ARN: "x" } }, /must not set secret/],
    [
      "not an ARN",
      { secretArns: { MLFLOW_BACKEND_STORE_URI: "postgresql://u:p@h/db" } },
      /must be a Secrets Manager ARN/,
    ],
    ["unknown secret", { secretArns: { FOO: arn("x") } as never }, /secretArns key 'FOO'/],
    ["multi-line value", { extraEnvironment: { GOOGLE_CLOUD_PROJECT: "a\nb" } }, /single-line/],
    ["gc retention in words", { gcOlderThan: "30 days" }, /gcOlderThan must be a duration/],
    ["empty gc retention", { gcOlderThan: "" }, /gcOlderThan must be a duration/],
  ])("rejects %s", (_name, patch, message) => {
    expect(() => renderServerEnvironment({ ...base, ...patch })).toThrow(message);
  });

  test("accepts the three destinations and non-secret extra settings", () => {
    for (const d of ["s3://b-1/p", "wasbs://mlflow@acct1.blob.core.windows.net/p", "gs://bucket_1/p"]) {
      expect(renderServerEnvironment({ ...base, artifactsDestination: d }).MLFLOW_ARTIFACTS_DESTINATION).toBe(
        d,
      );
    }
    const env = renderServerEnvironment({
      ...base,
      extraEnvironment: { GOOGLE_CLOUD_PROJECT: "p", GOOGLE_APPLICATION_CREDENTIALS: "/etc/mlflow/wif.json" },
    });
    expect(env.GOOGLE_APPLICATION_CREDENTIALS).toBe("/etc/mlflow/wif.json");
  });
});

describe("the artifact destinations, read from start.sh's ARTIFACT_DESTINATIONS", () => {
  const script = (...lines: string[]) => `X=1\nARTIFACT_DESTINATIONS=(\n${lines.join("\n")}\n)\nY=2\n`;

  test("forms and patterns, blank and comment lines skipped", () => {
    const parsed = parseArtifactDestinations(
      script("  's3://b/p ^s3://[a-z]+(/.*)?$'", "", "  # a note", "\t'x://h ^x://h$'"),
    );
    expect(parsed.map((d) => d.form)).toEqual(["s3://b/p", "x://h"]);
    expect(parsed[0].pattern.test("s3://bucket/p")).toBe(true);
  });

  test.each([
    ["no entry", script("  # nothing"), /needs '<form> <extended regex>' lines \(got none\)/],
    ["a double-quoted line", script('  "s3://b/p ^s3://"'), /got "s3:\/\/b\/p \^s3:\/\/"/],
    [
      "a pattern bash reads differently (\\d)",
      script("  'x://1 ^x://\\d+$'"),
      /\\d reads differently in bash and JavaScript/,
    ],
    [
      "a POSIX class JavaScript lacks",
      script("  'x://1 ^x://[[:digit:]]+$'"),
      /\[:digit:\] reads differently/,
    ],
    [
      "an invalid pattern",
      script("  'x://1 ^x://(a$'"),
      /ARTIFACT_DESTINATIONS 'x:\/\/1 \^x:\/\/\(a\$': Invalid regular expression/,
    ],
  ])("refuses %s, naming the line", (_what, text, message) => {
    expect(() => parseArtifactDestinations(text)).toThrow(message);
  });
});

test("renderEnvFile quotes values for systemd and sh", () => {
  const text = renderEnvFile({ ...base, extraEnvironment: { ODD: 'a "b" $c `d` \\e' } });
  expect(text).toContain('ODD="a \\"b\\" \\$c \\`d\\` \\\\e"');
  expect(text).toMatch(/^MLFLOW_BACKEND_STORE_URI_SECRET_ARN="arn:aws:secretsmanager:/m);
});

test("systemd unit: unprivileged user, restart, hardening", () => {
  const unit = renderSystemdUnit();
  for (const line of [
    "User=mlflow",
    "Restart=always",
    "EnvironmentFile=/etc/mlflow/mlflow.env",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "PrivateTmp=yes",
    "ExecStart=/opt/mlflow/server/start.sh",
  ]) {
    expect(unit.split("\n")).toContain(line);
  }
  expect(unit).not.toMatch(/\{\{/);
});

test("gc units: a oneshot `start.sh gc` with the server's user, env file and hardening; a weekly persistent timer", () => {
  const server = renderSystemdUnit().split("\n");
  const gc = renderGcServiceUnit().split("\n");
  for (const line of [
    "Type=oneshot",
    "ExecStart=/opt/mlflow/server/start.sh gc",
    "RuntimeDirectory=mlflow-gc",
    "After=network-online.target mlflow.service",
  ]) {
    expect(gc).toContain(line);
  }
  // Everything of the server's [Service] section but how it runs and restarts (and its own runtime dir).
  const own =
    /^(Type|ExecStart|Restart|RestartSec|TimeoutStartSec|TimeoutStopSec|LimitNOFILE|RuntimeDirectory)=/;
  const serviceSection = server.slice(server.indexOf("[Service]") + 1, server.indexOf("[Install]"));
  for (const line of serviceSection.filter((l) => l && !own.test(l))) expect(gc).toContain(line);
  expect(gc).not.toContain("[Install]"); // started by the timer only
  const timer = renderGcTimerUnit().split("\n");
  for (const line of [
    `OnCalendar=${GC_SCHEDULE.systemdOnCalendar}`,
    `RandomizedDelaySec=${GC_SCHEDULE.windowMinutes * 60}`,
    "Persistent=true",
    "Unit=mlflow-gc.service",
    "WantedBy=timers.target",
  ]) {
    expect(timer).toContain(line);
  }
  expect(renderGcTimerUnit({ onCalendar: "daily", randomizedDelaySec: 0 })).toMatch(/^OnCalendar=daily$/m);
  expect(() => renderGcTimerUnit({ onCalendar: "weekly\nExecStart=/bin/sh" })).toThrow(/onCalendar/);
  expect(() => renderGcTimerUnit({ randomizedDelaySec: -1 })).toThrow(/randomizedDelaySec/);
  expect(renderGcServiceUnit() + renderGcTimerUnit()).not.toMatch(/\{\{/);
});

test("heartbeat units: a oneshot probe of /health as the server's user, with its hardening, every minute", () => {
  const unit = renderHeartbeatServiceUnit({ namespace: "mlflow-platform/mlflow-prod" }).split("\n");
  for (const line of [
    "Type=oneshot",
    "User=mlflow",
    "EnvironmentFile=/etc/mlflow/mlflow.env",
    "Environment=MLFLOW_HEARTBEAT_URL=http://127.0.0.1/health",
    "Environment=MLFLOW_HEARTBEAT_NAMESPACE=mlflow-platform/mlflow-prod",
    `Environment=MLFLOW_HEARTBEAT_METRIC=${HEARTBEAT.metricName}`,
    `Environment=MLFLOW_HEARTBEAT_ERRORS_METRIC=${SERVER_ERRORS_METRIC.metricName}`,
    "Environment=MLFLOW_HEARTBEAT_ACCESS_LOG=/var/log/nginx/access.log",
    // nginx's logs are www-data:adm 0640 on Debian/Ubuntu; the read position needs a writable directory.
    "SupplementaryGroups=adm",
    "StateDirectory=mlflow-heartbeat",
    "ExecStart=/opt/mlflow/venv/bin/python /opt/mlflow/server/heartbeat.py",
    "After=network-online.target nginx.service mlflow.service",
  ]) {
    expect(unit).toContain(line);
  }
  // The server's hardening, all of it (a probe needs no more rights than the server).
  const server = renderSystemdUnit().split("\n");
  const hardening = server.filter((l) =>
    /^(NoNewPrivileges|Protect|Private|Restrict|LockPersonality|CapabilityBoundingSet|AmbientCapabilities|SystemCallArchitectures|UMask)/.test(
      l,
    ),
  );
  expect(hardening.length).toBeGreaterThan(15);
  for (const line of hardening) expect(unit).toContain(line);
  expect(unit).not.toContain("[Install]"); // started by its timer only
  const timer = renderHeartbeatTimerUnit().split("\n");
  for (const line of [
    "OnActiveSec=0",
    `OnUnitActiveSec=${HEARTBEAT.periodSeconds}s`,
    "Unit=mlflow-heartbeat.service",
    "WantedBy=timers.target",
  ]) {
    expect(timer).toContain(line);
  }
  expect(renderHeartbeatServiceUnit() + renderHeartbeatTimerUnit()).not.toMatch(/\{\{/);
  // The alarm's dimension is the one the script publishes.
  expect(readServerFile("heartbeat.py")).toContain(`dimensions = [{"Name": "${HEARTBEAT.dimensionName}"`);
  expect(() => renderHeartbeatServiceUnit({ namespace: "AWS/EC2" })).toThrow(/namespace/);
  expect(() => renderHeartbeatServiceUnit({ namespace: "a b\nExecStart=/bin/sh" })).toThrow(/namespace/);
  expect(() => renderHeartbeatServiceUnit({ healthUrl: "http://x/health\nUser=root" })).toThrow(/healthUrl/);
  expect(() => renderHeartbeatServiceUnit({ accessLog: "log\nUser=root" })).toThrow(/accessLog/);
  expect(
    renderCloudInit({
      ...base,
      httpPort: 8080,
      requirementsSource: {
        uri: "s3://mlflow-runtime/server/requirements.txt",
        sha256: serverFileSha256("requirements.txt"),
      },
      serverFileSources: exampleServerFileSources(),
    }),
  ).toContain("Environment=MLFLOW_HEARTBEAT_URL=http://127.0.0.1:8080/health");
});

test("nginx config: no body limit, unbuffered uploads, long timeouts, forwarded headers", () => {
  const conf = renderNginxConfig({ listenPort: 80, upstreamPort: 5000, serverNames: ["mlflow.example.com"] });
  for (const s of [
    "client_max_body_size 0;",
    "proxy_request_buffering off;",
    "proxy_read_timeout 3600s;",
    "proxy_send_timeout 3600s;",
    "proxy_set_header Host $host;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
    "location = /health",
    "server 127.0.0.1:5000;",
  ]) {
    expect(conf).toContain(s);
  }
  expect(() => renderNginxConfig({ listenPort: 0, upstreamPort: 5000, serverNames: [] })).toThrow(
    /listenPort/,
  );
});

describe("renderCloudInit", () => {
  // The files as cloud-init will write them (YAML parsed, not pattern-matched).
  const gunzipFile = (doc: string, file: string) => {
    const content = cloudInitFiles(doc)[file];
    if (content === undefined) throw new Error(`no ${file}`);
    return content;
  };
  const requirementsSource = {
    uri: "s3://mlflow-dev-server-runtime-0123abc/server/requirements-abc.txt",
    sha256: serverFileSha256("requirements.txt"),
  };
  const serverFileSources = exampleServerFileSources("mlflow-dev-server-runtime-0123abc");
  const doc = renderCloudInit({ ...base, requirementsSource, serverFileSources });

  test("gzipped, fits EC2's 16 KB user data limit with room to spare; too large is refused", () => {
    const gzipped = Buffer.from(compressUserData(doc), "base64");
    expect(zlib.gunzipSync(gzipped).toString("utf8")).toBe(doc);
    // At least 4 KB of headroom for the next change to the runtime files.
    expect(gzipped.length).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT_BYTES - 4096);
    expect(EC2_USER_DATA_LIMIT_BYTES).toBe(16384);
    const incompressible = crypto.randomBytes(12_000).toString("base64");
    expect(() => compressUserData(doc + incompressible)).toThrow(/gzipped; EC2 allows 16384/);
  });

  test("every runcmd entry is a list of plain strings; pip installs binary wheels only", () => {
    const runcmd = (parseYaml(doc) as { runcmd: unknown[][] }).runcmd;
    for (const command of runcmd) {
      // An unquoted "x:y" in a flow list turns into a mapping, which cloud-init rejects at boot.
      expect(command.every((word) => typeof word === "string")).toBe(true);
    }
    const installs = bootCommands(doc).filter((c) =>
      c.replace(/^retry /, "").startsWith('"$MLFLOW_VENV/bin/pip" install'),
    );
    expect(installs).toHaveLength(2);
    for (const install of installs) {
      expect(install).toContain(" --require-hashes ");
      expect(install).toContain(" --only-binary=:all: ");
    }
  });

  test("runcmd is one step, boot.sh under sh -eu: cloud-init judges runcmd by its last command only", () => {
    // cloud-init writes runcmd into one shell script and reports it failed only when its last command
    // fails: a list of steps would hide every failure but the last one's.
    const runcmd = (parseYaml(doc) as { runcmd: unknown[][] }).runcmd;
    expect(runcmd).toEqual([["sh", "-eu", "/opt/mlflow/server/boot.sh", "/etc/mlflow/boot.env"]]);
    const files = cloudInitFiles(doc);
    const boot = files["/opt/mlflow/server/boot.sh"];
    expect(boot).toBe(readServerFile("boot.sh"));
    // Stops at the first failure even when run without sh's flags (by hand, or as ./boot.sh).
    expect(boot.split("\n").find((l) => l && !l.startsWith("#"))).toBe("set -eu");
    // No step swallows its failure (|| true, ; true) and nothing is backgrounded.
    for (const command of bootCommands(doc)) {
      expect(command).not.toMatch(/\|\|\s*(true|:)\s*$|;\s*true\s*$|&\s*$/);
    }
    expect(files["/etc/mlflow/boot.env"]).toBe(
      [
        "# Rendered by server/render.ts: what server/boot.sh installs.",
        'AWS_DEFAULT_REGION="eu-west-1"',
        'AWS_REGION="eu-west-1"',
        'MLFLOW_BOOT_OS_PACKAGES="nginx python3-venv"',
        'MLFLOW_BOOT_PYTHON="python3"',
        `MLFLOW_REQUIREMENTS_SHA256="${requirementsSource.sha256}"`,
        `MLFLOW_REQUIREMENTS_URI="${requirementsSource.uri}"`,
        `MLFLOW_SERVER_FILES="${Object.entries(serverFileSources)
          .map(([file, src]) => `${file}|${src.uri}|${src.sha256}|${file.endsWith(".sh") ? "0755" : "0644"}`)
          .join(" ")}"`,
        'MLFLOW_TLS="plain"',
        "",
      ].join("\n"),
    );
  });

  test("downloads are retried (apt, both pip installs, the lock and the server files from S3); local steps are not", () => {
    const commands = bootCommands(doc);
    const retried = commands.filter((c) => c.startsWith("retry "));
    expect(retried.map((c) => c.split(" ").slice(1, 3).join(" "))).toEqual([
      "apt-get -q",
      "apt-get -q",
      '"$MLFLOW_VENV/bin/pip" install',
      '"$MLFLOW_VENV/bin/python" "$SERVER_DIR/runtime_helper.py"',
      '"$MLFLOW_VENV/bin/python" "$SERVER_DIR/runtime_helper.py"',
      '"$MLFLOW_VENV/bin/pip" install',
      '"$MLFLOW_ACME_VENV/bin/pip" install',
    ]);
    expect(retried[0]).toContain(" update --error-on=any");
    expect(retried[3]).toContain(" fetch-object ");
    expect(retried[4]).toContain(' fetch-object "$uri" "$sha256" "$SERVER_DIR/$file"');
    const notRetried = commands.filter((c) => !c.startsWith("retry "));
    expect(
      notRetried.filter((c) => /^(apt-get|"\$MLFLOW_(ACME_)?VENV\/bin\/pip")|fetch-object/.test(c)),
    ).toEqual([]);
  });

  test("files keep their exact text, trailing newlines included", () => {
    const files = cloudInitFiles(doc);
    for (const content of Object.values(files)) expect(content.length).toBeGreaterThan(0);
    expect(files["/opt/mlflow/server/runtime_helper.py"]).toBe(readServerFile("runtime_helper.py"));
  });

  test("installs boto3 from a hash-locked subset of the lock, then fetches and checks the full lock", () => {
    const bootstrap = gunzipFile(doc, "/opt/mlflow/server/bootstrap-requirements.txt");
    expect(bootstrap).toBe(requirementsSubset(BOOTSTRAP_PACKAGES));
    const lock = readServerFile("requirements.txt");
    for (const entry of bootstrap.split(/\n(?=[a-z])/)) {
      const [pin, ...hashes] = entry.trim().split(/ \\\n\s+/);
      expect(lock).toContain(pin);
      expect(hashes.length).toBeGreaterThan(0);
      for (const hash of hashes) expect(lock).toContain(hash.replace(/ \\$/, ""));
    }
    expect(
      bootstrap
        .match(/^[a-z0-9-]+==/gm)
        ?.map((p) => p.slice(0, -2))
        .sort(),
    ).toEqual([...BOOTSTRAP_PACKAGES].sort());
    const fetch =
      '"$SERVER_DIR/runtime_helper.py" fetch-object "$MLFLOW_REQUIREMENTS_URI" "$MLFLOW_REQUIREMENTS_SHA256" "$SERVER_DIR/requirements.txt"';
    const commands = bootCommands(doc);
    const at = (needle: string) => commands.findIndex((c) => c.includes(needle));
    expect(at(fetch)).toBeGreaterThan(at('-r "$SERVER_DIR/bootstrap-requirements.txt"'));
    expect(at('-r "$SERVER_DIR/requirements.txt"')).toBeGreaterThan(at(fetch));
    const bootEnv = gunzipFile(doc, "/etc/mlflow/boot.env");
    expect(bootEnv).toContain(`MLFLOW_REQUIREMENTS_URI="${requirementsSource.uri}"`);
    expect(bootEnv).toContain(`MLFLOW_REQUIREMENTS_SHA256="${requirementsSource.sha256}"`);
  });

  test("refuses a requirements source without an s3 uri or sha256", () => {
    expect(() =>
      renderCloudInit({
        ...base,
        serverFileSources,
        requirementsSource: { uri: "https://x/y", sha256: requirementsSource.sha256 },
      }),
    ).toThrow(/requirementsSource/);
    expect(() =>
      renderCloudInit({
        ...base,
        serverFileSources,
        requirementsSource: { ...requirementsSource, sha256: "abc" },
      }),
    ).toThrow(/sha256/);
    // A fetched file's source must name its sha256, and an s3 object.
    const startSh = serverFileSources["start.sh"];
    expect(() =>
      renderCloudInit({
        ...base,
        requirementsSource,
        serverFileSources: { ...serverFileSources, "start.sh": { ...startSh, sha256: "0".repeat(64) } },
      }),
    ).toThrow(/serverFileSources.start.sh needs .* the sha256 of server\/start.sh/);
    expect(() =>
      renderCloudInit({
        ...base,
        requirementsSource,
        serverFileSources: { ...serverFileSources, "start.sh": { ...startSh, uri: "https://x/start.sh" } },
      }),
    ).toThrow(/serverFileSources.start.sh/);
  });

  test("requirementsSubset names what the lock lacks", () => {
    expect(() => requirementsSubset(["boto3", "no-such-package"])).toThrow(/does not lock no-such-package/);
  });

  test("writes the server files verbatim and the rendered env, unit and nginx config", () => {
    expect(doc.startsWith("#cloud-config\n")).toBe(true);
    // start.sh, heartbeat.py and the RDS CA bundle are fetched by boot.sh (too large for the user data
    // with the rest).
    expect(cloudInitFiles(doc)["/opt/mlflow/server/start.sh"]).toBeUndefined();
    expect(cloudInitFiles(doc)["/opt/mlflow/server/heartbeat.py"]).toBeUndefined();
    expect(cloudInitFiles(doc)[RDS_CA_BUNDLE_PATH]).toBeUndefined();
    expect(gunzipFile(doc, "/etc/mlflow/boot.env")).toContain(
      `MLFLOW_SERVER_FILES="start.sh|${serverFileSources["start.sh"].uri}|${serverFileSha256("start.sh")}|0755 ` +
        `heartbeat.py|${serverFileSources["heartbeat.py"].uri}|${serverFileSha256("heartbeat.py")}|0644 ` +
        `rds-ca-bundle.pem|${serverFileSources["rds-ca-bundle.pem"].uri}|${serverFileSha256("rds-ca-bundle.pem")}|0644 ` +
        `tls.sh|${serverFileSources["tls.sh"].uri}|${serverFileSha256("tls.sh")}|0755 ` +
        `requirements-acme.txt|${serverFileSources["requirements-acme.txt"].uri}|` +
        `${serverFileSha256("requirements-acme.txt")}|0644"`,
    );
    expect(gunzipFile(doc, "/etc/mlflow/mlflow.env")).toBe(renderEnvFile(base));
    expect(gunzipFile(doc, "/etc/systemd/system/mlflow.service")).toBe(renderSystemdUnit());
    expect(gunzipFile(doc, "/etc/systemd/system/mlflow-gc.service")).toBe(renderGcServiceUnit());
    expect(gunzipFile(doc, "/etc/systemd/system/mlflow-gc.timer")).toBe(renderGcTimerUnit());
    expect(gunzipFile(doc, "/opt/mlflow/server/boot.sh")).toBe(readServerFile("boot.sh"));
    expect(gunzipFile(doc, "/etc/systemd/system/mlflow-heartbeat.service")).toBe(
      renderHeartbeatServiceUnit(),
    );
    expect(gunzipFile(doc, "/etc/systemd/system/mlflow-heartbeat.timer")).toBe(renderHeartbeatTimerUnit());
    expect(bootCommands(doc)).toContain("systemctl enable --now mlflow-gc.timer");
    expect(gunzipFile(doc, "/etc/mlflow/nginx.conf")).toContain(
      "server_name 203.0.113.10 mlflow.example.com;",
    );
    expect(doc).toContain("--require-hashes");
    expect(doc).toContain("useradd --system");
  });

  test("holds no secret values", () => {
    const env = gunzipFile(doc, "/etc/mlflow/mlflow.env");
    for (const name of SECRET_VARIABLES) expect(env).not.toMatch(new RegExp(`^${name}=`, "m"));
    expect(env).toContain(arn("db"));
  });
});

test("pinnedMlflowVersion reads requirements.txt, which is hash-locked", () => {
  expect(pinnedMlflowVersion()).toMatch(/^3\.\d+\.\d+$/);
  const req = readServerFile("requirements.txt");
  for (const pkg of [
    "psycopg2-binary",
    "boto3",
    "azure-storage-blob",
    "azure-identity",
    "google-cloud-storage",
    "flask-wtf",
  ]) {
    expect(req).toMatch(new RegExp(`^${pkg}==\\S+ \\\\\\n\\s+--hash=sha256:`, "m"));
  }
  expect(() => readServerFile("../package.json")).toThrow();
});

describe("keep-alive order: the server closes an idle connection only after every proxy in front of it", () => {
  // What start.sh hands uvicorn: `--uvicorn-opts "--timeout-keep-alive $VAR"` and VAR's one assignment.
  const uvicornKeepAliveSeconds = (): number => {
    const script = readServerFile("start.sh");
    const launch = script.slice(script.indexOf('exec "$MLFLOW_VENV/bin/mlflow" server'));
    const opt = /--uvicorn-opts "[^"]*--timeout-keep-alive \$\{?([A-Z_]+)\}?[^"]*"/.exec(launch);
    if (!opt) throw new Error("start.sh does not pass --timeout-keep-alive to uvicorn (its default is 5 s)");
    const assignments = [...script.matchAll(new RegExp(`^\\s*${opt[1]}=(\\d+)$`, "gm"))];
    expect(assignments).toHaveLength(1);
    return Number(assignments[0][1]);
  };
  const nginxUpstreamKeepAliveSeconds = (): number => {
    const conf = renderNginxConfig({
      listenPort: 80,
      upstreamPort: 5000,
      serverNames: ["mlflow.example.com"],
    });
    const upstream = /upstream mlflow \{([^}]*)\}/.exec(conf)?.[1] ?? "";
    const m = /^\s*keepalive_timeout (\d+)s;$/m.exec(upstream);
    if (!m) throw new Error("nginx's upstream block sets no explicit keepalive_timeout");
    return Number(m[1]);
  };

  test("nothing in the rendered environment overrides the uvicorn options start.sh passes", () => {
    const env = renderServerEnvironment(base);
    expect(Object.keys(env).filter((k) => /UVICORN|KEEP_ALIVE/.test(k))).toEqual([]);
  });

  test("container: uvicorn keeps idle connections longer than the load balancer's idle timeout", () => {
    expect(uvicornKeepAliveSeconds()).toBeGreaterThan(IDLE_TIMEOUT_SECONDS);
  });

  test("EC2: uvicorn keeps idle connections longer than nginx's upstream keepalive_timeout", () => {
    expect(uvicornKeepAliveSeconds()).toBeGreaterThan(nginxUpstreamKeepAliveSeconds());
  });
});

describe("HTTPS (tls.mode acme)", () => {
  const sources = {
    requirementsSource: {
      uri: "s3://mlflow-dev-server-runtime-0123abc/server/requirements-abc.txt",
      sha256: serverFileSha256("requirements.txt"),
    },
    serverFileSources: exampleServerFileSources("mlflow-dev-server-runtime-0123abc"),
  };
  const ip = { mode: "acme", identifier: "203.0.113.10", challenge: "http-01" } as const;
  const dns = {
    mode: "acme",
    identifier: "mlflow.example.com",
    challenge: "dns-01",
    hostedZoneId: "Z0123ABC",
  } as const;
  const doc = renderCloudInit({ ...base, ...sources, tls: ip });
  const files = cloudInitFiles(doc);
  const nginx = files["/etc/mlflow/nginx.conf"];
  /** The text of the nginx server block that listens on `listen`. */
  const serverBlock = (conf: string, listen: string) => {
    const start = conf.indexOf(`listen ${listen}`);
    expect(start).toBeGreaterThan(0);
    const next = conf.indexOf("server {", start);
    return conf.slice(start, next === -1 ? undefined : next);
  };

  test("nginx: HTTPS on 443 with TLS 1.2/1.3 and every proxy setting; port 80 only the challenge and a redirect", () => {
    const https = serverBlock(nginx, "443 ssl default_server;");
    for (const line of [
      `ssl_certificate ${TLS_PATHS.certificate};`,
      `ssl_certificate_key ${TLS_PATHS.key};`,
      "ssl_protocols TLSv1.2 TLSv1.3;",
      "client_max_body_size 0;",
      "proxy_request_buffering off;",
      "proxy_read_timeout 3600s;",
      "proxy_set_header Host $host;",
      "proxy_set_header X-Forwarded-Proto $scheme;",
      "location = /health",
      "proxy_pass http://mlflow;",
    ]) {
      expect(https).toContain(line);
    }
    const http = serverBlock(nginx, "80 default_server;");
    expect(http).toContain(
      `location ^~ /.well-known/acme-challenge/ {\n            root ${TLS_PATHS.webroot};`,
    );
    expect(http).toContain("return 301 https://$host$request_uri;");
    // Nothing on port 80 reaches MLflow: no credential sent in clear is ever proxied.
    expect(http).not.toMatch(/proxy_pass/);
    expect(nginx.match(/proxy_pass/g)).toHaveLength(2);
    // The plain config (allowPlainHttp) is unchanged: one server on 80, no TLS.
    const plain = renderNginxConfig({ listenPort: 80, upstreamPort: 5000, serverNames: ["x.example.com"] });
    expect(plain).not.toMatch(/ssl|acme-challenge|return 301/);
    // A non-default HTTPS port is kept in the redirect.
    const tlsOpts = { httpsPort: 8443, certificate: "/c.pem", key: "/k.pem", acmeWebroot: "/w" };
    const other = renderNginxConfig({
      listenPort: 8080,
      upstreamPort: 5000,
      serverNames: ["x"],
      tls: tlsOpts,
    });
    expect(other).toContain("return 301 https://$host:8443$request_uri;");
    expect(() =>
      renderNginxConfig({
        listenPort: 8080,
        upstreamPort: 5000,
        serverNames: ["x"],
        tls: { ...tlsOpts, httpsPort: 8080 },
      }),
    ).toThrow(/httpsPort/);
  });

  test("user data: tls.env, the certificate units and their timers; boot.env says acme; tls.sh is fetched", () => {
    expect(parseEnv(files[TLS_PATHS.envFile])).toEqual({
      AWS_REGION: base.awsRegion,
      AWS_DEFAULT_REGION: base.awsRegion,
      MLFLOW_TLS_IDENTIFIER: "203.0.113.10",
      MLFLOW_TLS_CHALLENGE: "http-01",
      MLFLOW_TLS_DIRECTORY_URL: LETS_ENCRYPT_DIRECTORY,
    });
    // The paths are tls.sh's defaults, the same as TLS_PATHS.
    const tlsSh = readServerFile("tls.sh");
    for (const [variable, value] of [
      ["MLFLOW_TLS_DIR", TLS_PATHS.dir],
      ["MLFLOW_TLS_WEBROOT", TLS_PATHS.webroot],
      ["MLFLOW_TLS_STATE_DIR", TLS_PATHS.stateDir],
      ["MLFLOW_ACME_VENV", TLS_PATHS.acmeVenv],
      ["MLFLOW_TLS_ENV", TLS_PATHS.envFile],
    ]) {
      expect(tlsSh).toMatch(new RegExp(`\\$\\{${variable}:[-=]${value.replace(/[.]/g, "\\.")}\\}`));
    }
    expect(tlsSh).toContain('CERT="$MLFLOW_TLS_DIR/fullchain.pem"');
    expect(tlsSh).toContain('KEY="$MLFLOW_TLS_DIR/privkey.pem"');
    expect(TLS_PATHS.certificate).toBe(`${TLS_PATHS.dir}/fullchain.pem`);
    expect(TLS_PATHS.key).toBe(`${TLS_PATHS.dir}/privkey.pem`);
    expect(files["/etc/systemd/system/mlflow-cert.service"]).toBe(renderCertServiceUnit("issue"));
    expect(files["/etc/systemd/system/mlflow-cert-renew.service"]).toBe(renderCertServiceUnit("renew"));
    expect(files["/etc/systemd/system/mlflow-cert.timer"]).toContain(
      `OnUnitInactiveSec=${CERT_SCHEDULE.issuePeriodSeconds}s`,
    );
    expect(files["/etc/systemd/system/mlflow-cert-renew.timer"]).toContain(
      `OnCalendar=${CERT_SCHEDULE.renewOnCalendar}`,
    );
    expect(renderCertServiceUnit("issue")).toContain(`ExecStart=${TLS_PATHS.script} issue`);
    expect(renderCertServiceUnit("renew")).toContain(`EnvironmentFile=${TLS_PATHS.envFile}`);
    const bootEnv = parseEnv(files["/etc/mlflow/boot.env"]);
    expect(bootEnv.MLFLOW_TLS).toBe("acme");
    expect(bootEnv.MLFLOW_BOOT_OS_PACKAGES).toBe("nginx python3-venv openssl curl");
    expect(bootEnv.MLFLOW_SERVER_FILES).toContain(`tls.sh|`);
    expect(TLS_PATHS.script).toBe("/opt/mlflow/server/tls.sh");
    // Plain mode writes none of it.
    const plain = cloudInitFiles(renderCloudInit({ ...base, ...sources, tls: { mode: "plain" } }));
    expect(Object.keys(plain).filter((f) => /tls|cert/.test(f))).toEqual([]);
    expect(plain["/etc/mlflow/nginx.conf"]).not.toMatch(/ssl/);
  });

  test("the heartbeat probes HTTPS on loopback and publishes the certificate's days left", () => {
    const unit = files["/etc/systemd/system/mlflow-heartbeat.service"];
    expect(unit).toContain("Environment=MLFLOW_HEARTBEAT_URL=https://127.0.0.1/health");
    expect(unit).toContain(`Environment=MLFLOW_TLS_CERTIFICATE=${TLS_PATHS.certificate}`);
    expect(unit).toContain(`Environment=MLFLOW_CERTIFICATE_METRIC=${CERTIFICATE_METRIC.metricName}`);
    expect(CERTIFICATE_METRIC.dimensionName).toBe(HEARTBEAT.dimensionName);
    expect(() => renderHeartbeatServiceUnit({ healthUrl: "https://203.0.113.10/health" })).toThrow(
      /healthUrl/,
    );
  });

  test("fits EC2's user data limit with 3 KB to spare; HTTPS costs at most 800 bytes over plain", () => {
    // Measured: acme 12889 bytes gzipped with the 5xx count and the RDS CA bundle entry (12194-12291 before;
    // the fetched files' sha256s compress differently). runtime_helper.py is about 6 KB of it: the next change
    // that needs room moves it to S3 behind a minimal fetch step (FETCHED_SERVER_FILES).
    const size = (text: string) => Buffer.from(compressUserData(text), "base64").length;
    const plain = renderCloudInit({ ...base, ...sources, tls: { mode: "plain" } });
    expect(size(doc)).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT_BYTES - 3072);
    expect(size(doc) - size(plain)).toBeLessThanOrEqual(800);
  });

  test("tls.env names the stack's region: certbot-dns-route53's boto3 signs for that partition (GovCloud, China)", () => {
    const gov = cloudInitFiles(
      renderCloudInit({ ...base, ...sources, awsRegion: "us-gov-west-1", tls: dns }),
    );
    expect(parseEnv(gov[TLS_PATHS.envFile])).toMatchObject({
      AWS_REGION: "us-gov-west-1",
      AWS_DEFAULT_REGION: "us-gov-west-1",
    });
    expect(parseEnv(gov["/etc/mlflow/boot.env"]).AWS_REGION).toBe("us-gov-west-1");
  });

  test("dns-01 for a domain in Route 53; every invalid setting is refused naming the field", () => {
    expect(parseEnv(renderTlsEnv({ ...dns, email: "ops@example.com" }))).toMatchObject({
      MLFLOW_TLS_IDENTIFIER: "mlflow.example.com",
      MLFLOW_TLS_CHALLENGE: "dns-01",
      MLFLOW_TLS_HOSTED_ZONE_ID: "Z0123ABC",
      MLFLOW_TLS_EMAIL: "ops@example.com",
    });
    for (const [bad, message] of [
      [{ ...ip, identifier: "203.0.113.300" }, /tls\.identifier .*'203\.0\.113\.300'/],
      [{ ...ip, identifier: "Bad_Name" }, /tls\.identifier/],
      [{ ...ip, directoryUrl: "http://acme.example/dir" }, /tls\.directoryUrl .*https/],
      [{ ...ip, email: "not an email" }, /tls\.email/],
      [{ ...ip, challenge: "tls-alpn-01" }, /tls\.challenge must be http-01 or dns-01/],
      [
        { ...ip, challenge: "dns-01", hostedZoneId: "Z1" },
        /tls\.identifier must be a domain name for dns-01/,
      ],
      [{ ...dns, hostedZoneId: undefined }, /tls\.hostedZoneId/],
      [{ ...ip, identifier: "203.0.113.10\nMLFLOW_TLS_DIR=/" }, /tls\.identifier/],
    ] as const) {
      expect(() => renderTlsEnv(bad as never)).toThrow(message);
      expect(() => renderCloudInit({ ...base, ...sources, tls: bad as never })).toThrow(message);
    }
  });
});

/** KEY="value" lines of a rendered env file. */
function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    [...text.matchAll(/^([A-Z0-9_]+)="((?:[^"\\]|\\.)*)"$/gm)].map((m) => [
      m[1],
      m[2].replace(/\\(.)/g, "$1"),
    ]),
  );
}

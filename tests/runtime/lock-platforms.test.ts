// The hash-locked requirements must install where the server runs, not only on this machine: Ubuntu 24.04's
// CPython 3.12 on EC2 (x86_64, and arm64 for Graviton instance types) and the image's CPython 3.11
// (linux/amd64). pip resolves each target from the index, dependencies included, as binary wheels whose
// hashes match: a package missing for a target's Python, or a dependency only it needs, fails here.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SERVER_DIR, ensureVenv, tmpDir } from "./support/proc";

jest.setTimeout(900_000);

// The targets, and the glibc range, are shared with `npm run lock:server`, which checks them after re-locking.
const LOCK_TARGETS: {
  glibc: { from: string; to: string };
  targets: { where: string; python: string; arch: string }[];
} = JSON.parse(fs.readFileSync(path.join(SERVER_DIR, "lock-targets.json"), "utf8"));
const TARGETS = LOCK_TARGETS.targets;
const minor = (v: string) => Number(v.split(".")[1]);

/** pip's dry run of `lock` (a file in server/) for a target: hash-checked binary wheels only. */
function dryRun(lock: string, { python, arch }: { python: string; arch: string }) {
  const venv = ensureVenv();
  const { from, to } = LOCK_TARGETS.glibc;
  const platforms = Array.from({ length: minor(to) - minor(from) + 1 }, (_, i) => [
    "--platform",
    `manylinux_2_${minor(from) + i}_${arch}`,
  ]).flat();
  return spawnSync(
    path.join(venv, "bin", "pip"),
    [
      "install",
      "--dry-run",
      "--ignore-installed",
      "--require-hashes",
      "--only-binary=:all:",
      "--implementation",
      "cp",
      "--python-version",
      python,
      ...platforms,
      "--platform",
      `manylinux2014_${arch}`,
      "--target",
      tmpDir(`lock-${python}-${arch}`),
      "-r",
      path.join(SERVER_DIR, lock),
    ],
    { encoding: "utf8", timeout: 600_000 },
  );
}

test.each(TARGETS)("the lock installs as hash-checked wheels on $where (CPython $python)", (target) => {
  const result = dryRun("requirements.txt", target);
  expect(result.stderr).not.toMatch(/ERROR/);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/Would install .*mlflow-\d/);
  expect(result.stdout).toMatch(/psycopg2_binary-\d|psycopg2-binary-\d/);
});

// The EC2 server's ACME client (docs/https.md), in its own venv there; the container does not install it.
test.each(TARGETS.filter((t) => t.where.startsWith("EC2")))(
  "the ACME client's lock installs as hash-checked wheels on $where (CPython $python)",
  (target) => {
    const result = dryRun("requirements-acme.txt", target);
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /Would install .*certbot-\d.*certbot-dns-route53-\d|certbot-dns-route53-\d.*certbot-\d/,
    );
  },
);

// The hash-locked requirements must install where the server runs, not only on this machine: Ubuntu 24.04's
// CPython 3.12 on EC2 (x86_64, and arm64 for Graviton instance types) and the image's CPython 3.11
// (linux/amd64). pip resolves each target from the index, dependencies included, as binary wheels whose
// hashes match: a package missing for a target's Python, or a dependency only it needs, fails here.
import { spawnSync } from "child_process";
import * as path from "path";
import { SERVER_DIR, ensureVenv, tmpDir } from "./support/proc";

jest.setTimeout(900_000);

const TARGETS = [
  { where: "EC2 Ubuntu 24.04, x86_64", python: "3.12", arch: "x86_64" },
  { where: "EC2 Ubuntu 24.04, arm64", python: "3.12", arch: "aarch64" },
  { where: "container image, linux/amd64", python: "3.11", arch: "x86_64" },
];

test.each(TARGETS)(
  "the lock installs as hash-checked wheels on $where (CPython $python)",
  ({ python, arch }) => {
    const venv = ensureVenv();
    // glibc 2.17 (manylinux2014) up to Ubuntu 24.04's 2.39.
    const platforms = Array.from({ length: 23 }, (_, i) => [
      "--platform",
      `manylinux_2_${17 + i}_${arch}`,
    ]).flat();
    const result = spawnSync(
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
        path.join(SERVER_DIR, "requirements.txt"),
      ],
      { encoding: "utf8", timeout: 600_000 },
    );
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Would install .*mlflow-\d/);
    expect(result.stdout).toMatch(/psycopg2_binary-\d|psycopg2-binary-\d/);
  },
);

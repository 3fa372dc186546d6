#!/usr/bin/env bash
# npm run lock:server: re-locks every hash-locked Python requirements file with pip-compile (pinned in
# scripts/python-tools.txt), keeping the pins it can keep, then checks that server/requirements.txt
# and server/requirements-acme.txt (the EC2 server's ACME client) still install as hash-checked binary wheels on
# every target in server/lock-targets.json.
#   npm run lock:server                 re-lock after editing a requirements*.in
#   npm run lock:server -- --upgrade    move every pin to the newest release the .in files allow
#   npm run lock:server -- --upgrade-package mlflow   move one package
# pip-compile writes the hashes of every file the index has for each pinned version (all platforms);
# dependencies that only some target needs (environment markers) are what the target check catches.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/python-tools.sh
. scripts/python-tools.sh

compile() { # <dir> <in> <out> [extra pip-compile args...]
  local dir=$1 in=$2 out=$3
  shift 3
  echo "lock-server: $dir/$out from $dir/$in"
  (cd "$dir" && pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
    --no-emit-find-links --output-file="$out" "$@" "$in")
}

compile server requirements.in requirements.txt "$@"
compile server requirements-migrate.in requirements-migrate.txt "$@"
compile server requirements-acme.in requirements-acme.txt "$@"
compile scripts python-tools.in python-tools.txt "$@"

check_target() { # <python> <arch> <lock>
  local python=$1 arch=$2 lock=$3 platforms=() from to minor
  from=$(node -p 'require("./server/lock-targets.json").glibc.from.split(".")[1]')
  to=$(node -p 'require("./server/lock-targets.json").glibc.to.split(".")[1]')
  for ((minor = from; minor <= to; minor++)); do platforms+=(--platform "manylinux_2_${minor}_${arch}"); done
  pip install --quiet --dry-run --ignore-installed --require-hashes --only-binary=:all: \
    --implementation cp --python-version "$python" "${platforms[@]}" --platform "manylinux2014_${arch}" \
    --target "$(mktemp -d)" -r "$lock"
}

node -p 'require("./server/lock-targets.json").targets.map(t => [t.python, t.arch, t.where].join("\t")).join("\n")' |
  while IFS=$'\t' read -r python arch where; do
    echo "lock-server: checking $where (CPython $python, $arch)"
    # Each lock alone: they install into separate venvs (the ACME client's pins never meet MLflow's).
    for lock in server/requirements.txt server/requirements-acme.txt; do
      check_target "$python" "$arch" "$lock" || { echo "lock-server: $lock does not install on $where" >&2; exit 1; }
    done
  done
echo "lock-server: ok"

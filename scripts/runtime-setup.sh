#!/usr/bin/env bash
# Everything the runtime tests (npm run test:runtime) need beyond `npm install`. Idempotent; fast
# when already installed. Needs root (apt-get) and reaches only Debian's apt and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in nginx:nginx shellcheck:shellcheck cloud-init:cloud-init htpasswd:apache2-utils psql:postgresql-client openssl:openssl pebble:pebble; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
# initdb/pg_ctl for the throwaway TLS cluster of tests/runtime/database-tls.test.ts.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
  echo "runtime-setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v python3 >/dev/null || { echo "runtime-setup: python3 (>= 3.11) is required" >&2; exit 1; }

# PostgreSQL on 127.0.0.1:5432 (trust auth for user postgres), started if it is down.
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  for v in /etc/postgresql/*; do
    pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start || true
  done
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "runtime-setup: PostgreSQL is not up" >&2; exit 1; }
fi

# Azurite comes from npm (devDependency); npm here skips install scripts, so check it runs.
[ -x node_modules/.bin/azurite-blob ] || npm install --no-audit --no-fund
node_modules/.bin/azurite-blob --version >/dev/null

# Warm the Python venv cache (.venv-runtime/<hash>) the tests use.
npx tsx -e 'require("./tests/runtime/support/proc").ensureVenv()'
npx tsx -e 'require("./tests/runtime/support/proc").ensureAcmeVenv()'
npx tsx -e 'require("./tests/runtime/support/migrate").ensureMigrateVenv()'
echo "runtime-setup: ok"

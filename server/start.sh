#!/usr/bin/env bash
# Start the MLflow tracking server. The one start script for every compute mode (EC2 under systemd,
# container on ECS). All configuration comes from environment variables (see server/render.ts):
#   MLFLOW_BACKEND_STORE_URI        postgresql://user:pass@host:5432/db          (secret)
#   MLFLOW_ARTIFACTS_DESTINATION    one of ARTIFACT_DESTINATIONS below (s3://bucket/prefix, ...)
#   MLFLOW_AUTH_ADMIN_USERNAME      basic-auth admin user
#   MLFLOW_AUTH_ADMIN_PASSWORD      its bootstrap password                       (secret)
#   MLFLOW_FLASK_SERVER_SECRET_KEY  CSRF key, the same on every replica           (secret)
#   MLFLOW_SERVER_ALLOWED_HOSTS     comma-separated Host header values MLflow accepts
#   MLFLOW_HOST, MLFLOW_PORT, MLFLOW_WORKERS, MLFLOW_SQLALCHEMYSTORE_POOL_SIZE, ...
#   the artifact store's credential, if it has one (SECRET_NAMES below)           (secret, optional)
# A secret X may instead be given as X_SECRET_ARN: it is then read from AWS Secrets Manager.
# Secrets never reach a command line: the backend URI goes to mlflow through the environment.
# `start.sh gc`: instead of serving, purge what was deleted more than MLFLOW_GC_OLDER_THAN (30d, 12h, 0s;
# default 30d) ago, rows and artifacts (weekly: systemd timer on EC2, scheduled task on ECS).
set -euo pipefail
umask 077

SERVER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MLFLOW_VENV=${MLFLOW_VENV:-/opt/mlflow/venv}
PYTHON=${MLFLOW_PYTHON:-$MLFLOW_VENV/bin/python}
# The artifact destinations this runtime serves: "<form> <extended regex>", one per kind of store.
# server/render.ts refuses any other destination when it renders the server's environment (it reads these
# lines, as JavaScript regexes), so a deploy fails before a server would. Write patterns both read alike:
# no \d, \s, \w, \b or [[:class:]].
ARTIFACT_DESTINATIONS=(
  's3://bucket/prefix ^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$'
  'wasbs://container@account.blob.core.windows.net/prefix ^wasbs://[a-z0-9$-]+@[a-z0-9]+\.blob\.core\.windows\.net(/.*)?$'
  'gs://bucket/prefix ^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/.*)?$'
)
SECRET_NAMES="MLFLOW_BACKEND_STORE_URI MLFLOW_AUTH_ADMIN_PASSWORD MLFLOW_FLASK_SERVER_SECRET_KEY AZURE_STORAGE_CONNECTION_STRING GOOGLE_CREDENTIALS_JSON"
MODE=serve
LOG_PREFIX=mlflow-start

log() { printf '%s: %s\n' "$LOG_PREFIX" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 64
}
# "a", "a or b", "a, b or c"
one_of() {
  local last=${!#}
  if [ "$#" -eq 1 ]; then
    printf '%s' "$last"
  else
    printf '%s' "$1"
    shift
    while [ "$#" -gt 1 ]; do
      printf ', %s' "$1"
      shift
    done
    printf ' or %s' "$last"
  fi
}
is_uint() { [[ $1 =~ ^[0-9]{1,9}$ ]]; }
in_range() { is_uint "$1" && [ "$((10#$1))" -ge "$2" ] && [ "$((10#$1))" -le "$3" ]; }

case "$#:${1:-}" in
  0:) ;;
  1:gc)
    MODE=gc
    LOG_PREFIX=mlflow-gc
    SECRET_NAMES="MLFLOW_BACKEND_STORE_URI AZURE_STORAGE_CONNECTION_STRING GOOGLE_CREDENTIALS_JSON"
    unset MLFLOW_AUTH_ADMIN_PASSWORD MLFLOW_FLASK_SERVER_SECRET_KEY
    ;;
  *) die "usage: start.sh [gc] (no argument: serve; gc: purge deleted runs once)" ;;
esac

[ -x "$PYTHON" ] || die "python not found at $PYTHON (set MLFLOW_VENV or MLFLOW_PYTHON)"

# A private directory for files that hold secrets (auth config, GCP credentials).
if [ -n "${MLFLOW_RUNTIME_DIR:-}" ]; then
  RUNTIME_DIR=$MLFLOW_RUNTIME_DIR
elif [ -n "${RUNTIME_DIRECTORY:-}" ]; then # systemd RuntimeDirectory=
  RUNTIME_DIR=$RUNTIME_DIRECTORY
else
  RUNTIME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mlflow-runtime.XXXXXX")
fi
mkdir -p "$RUNTIME_DIR"
chmod 700 "$RUNTIME_DIR"

# 1. Resolve X from X_SECRET_ARN where X itself is not set.
fetch_args=()
for name in $SECRET_NAMES; do
  arn_var="${name}_SECRET_ARN"
  if [ -z "${!name:-}" ] && [ -n "${!arn_var:-}" ]; then
    [[ ${!arn_var} == arn:* ]] || die "$arn_var is not an ARN: '${!arn_var}'"
    fetch_args+=("$name=${!arn_var}")
  fi
done
if [ "${#fetch_args[@]}" -gt 0 ]; then
  secrets_file="$RUNTIME_DIR/secrets.$$"
  log "reading ${#fetch_args[@]} secret(s) from AWS Secrets Manager"
  if ! "$PYTHON" "$SERVER_DIR/runtime_helper.py" fetch-secrets "${fetch_args[@]}" >"$secrets_file"; then
    rm -f "$secrets_file"
    die "could not resolve the *_SECRET_ARN variables (see above)"
  fi
  while IFS= read -r -d '' name && IFS= read -r -d '' value; do
    export "$name=$value"
  done <"$secrets_file"
  rm -f "$secrets_file"
fi

# GCP service-account key JSON -> a 0600 file for Application Default Credentials.
if [ -n "${GOOGLE_CREDENTIALS_JSON:-}" ]; then
  printf '%s' "$GOOGLE_CREDENTIALS_JSON" >"$RUNTIME_DIR/gcp-credentials.json"
  chmod 600 "$RUNTIME_DIR/gcp-credentials.json"
  export GOOGLE_APPLICATION_CREDENTIALS="$RUNTIME_DIR/gcp-credentials.json"
  unset GOOGLE_CREDENTIALS_JSON
fi

# 2. Validate.
require() {
  local name=$1
  [ -n "${!name:-}" ] || die "$name is not set${2:+ ($2)}"
}
require MLFLOW_BACKEND_STORE_URI "or MLFLOW_BACKEND_STORE_URI_SECRET_ARN"
require MLFLOW_ARTIFACTS_DESTINATION
if [ "$MODE" = serve ]; then
  require MLFLOW_AUTH_ADMIN_USERNAME
  require MLFLOW_AUTH_ADMIN_PASSWORD "or MLFLOW_AUTH_ADMIN_PASSWORD_SECRET_ARN"
  require MLFLOW_FLASK_SERVER_SECRET_KEY "or MLFLOW_FLASK_SERVER_SECRET_KEY_SECRET_ARN"
  require MLFLOW_SERVER_ALLOWED_HOSTS
fi

case "$MLFLOW_BACKEND_STORE_URI" in
  postgresql://?* | postgresql+psycopg2://?*) ;;
  *) die "MLFLOW_BACKEND_STORE_URI must be a postgresql:// URI (got scheme '${MLFLOW_BACKEND_STORE_URI%%:*}')" ;;
esac
[[ $MLFLOW_BACKEND_STORE_URI != *[[:space:]]* ]] || die "MLFLOW_BACKEND_STORE_URI contains whitespace"
# SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; the server ships psycopg2.
if [[ $MLFLOW_BACKEND_STORE_URI == postgresql://* ]]; then
  MLFLOW_BACKEND_STORE_URI="postgresql+psycopg2://${MLFLOW_BACKEND_STORE_URI#postgresql://}"
fi
destination_ok=
destination_forms=()
for destination in "${ARTIFACT_DESTINATIONS[@]}"; do
  destination_forms+=("${destination%% *}")
  if [[ $MLFLOW_ARTIFACTS_DESTINATION =~ ${destination#* } ]]; then destination_ok=1; fi
done
[ -n "$destination_ok" ] || die "MLFLOW_ARTIFACTS_DESTINATION must be $(one_of "${destination_forms[@]}") (got '$MLFLOW_ARTIFACTS_DESTINATION')"

if [ "$MODE" = gc ]; then
  : "${MLFLOW_GC_OLDER_THAN:=30d}"
  if ! [[ $MLFLOW_GC_OLDER_THAN =~ ^([0-9]{1,5}d)?([0-9]{1,6}h)?([0-9]{1,7}m)?([0-9]{1,9}s)?$ ]]; then
    die "MLFLOW_GC_OLDER_THAN must be a duration such as 30d, 12h, 90m or 0s (got '$MLFLOW_GC_OLDER_THAN')"
  fi
  export MLFLOW_BACKEND_STORE_URI MLFLOW_ARTIFACTS_DESTINATION MLFLOW_GC_OLDER_THAN
  exec "$PYTHON" "$SERVER_DIR/runtime_helper.py" gc
fi
[[ $MLFLOW_SERVER_ALLOWED_HOSTS != *[[:space:]]* ]] || die "MLFLOW_SERVER_ALLOWED_HOSTS must be comma-separated without spaces (got '$MLFLOW_SERVER_ALLOWED_HOSTS')"
[[ $MLFLOW_AUTH_ADMIN_USERNAME =~ ^[A-Za-z0-9._@-]+$ ]] || die "MLFLOW_AUTH_ADMIN_USERNAME has invalid characters (got '$MLFLOW_AUTH_ADMIN_USERNAME')"

MLFLOW_HOST=${MLFLOW_HOST:-127.0.0.1}
MLFLOW_PORT=${MLFLOW_PORT:-5000}
MLFLOW_WORKERS=${MLFLOW_WORKERS:-2}
in_range "$MLFLOW_PORT" 1 65535 || die "MLFLOW_PORT must be a number in 1-65535 (got '$MLFLOW_PORT')"
in_range "$MLFLOW_WORKERS" 1 64 || die "MLFLOW_WORKERS must be a number in 1-64 (got '$MLFLOW_WORKERS')"
for name in MLFLOW_SQLALCHEMYSTORE_POOL_SIZE MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE MLFLOW_AUTH_CACHE_TTL_SECONDS; do
  if [ -n "${!name:-}" ]; then is_uint "${!name}" || die "$name must be a whole number (got '${!name}')"; fi
done
case "${MLFLOW_AUTH_DEFAULT_PERMISSION:=READ}" in
  READ | EDIT | MANAGE | NO_PERMISSIONS) ;;
  *) die "MLFLOW_AUTH_DEFAULT_PERMISSION must be READ, EDIT, MANAGE or NO_PERMISSIONS (got '$MLFLOW_AUTH_DEFAULT_PERMISSION')" ;;
esac
# GenAI job runners are not needed for tracking; opt in with MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true.
: "${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:=false}"
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION MLFLOW_HOST MLFLOW_PORT MLFLOW_WORKERS MLFLOW_BACKEND_STORE_URI MLFLOW_AUTH_ADMIN_USERNAME \
  MLFLOW_AUTH_ADMIN_PASSWORD MLFLOW_FLASK_SERVER_SECRET_KEY MLFLOW_SERVER_ALLOWED_HOSTS

# 3. The basic-auth app keeps its users in the same PostgreSQL database (its own tables and
#    alembic_version_auth), configured through a private 0600 file, never sqlite.
MLFLOW_AUTH_CONFIG_PATH="$RUNTIME_DIR/basic_auth.ini"
{
  printf '[mlflow]\n'
  printf 'default_permission = %s\n' "$MLFLOW_AUTH_DEFAULT_PERMISSION"
  # configparser interpolates %: escape it (URL-encoded passwords contain %XX).
  printf 'database_uri = %s\n' "${MLFLOW_BACKEND_STORE_URI//%/%%}"
  printf 'authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n'
  printf 'auth_cache_ttl_seconds = %s\n' "${MLFLOW_AUTH_CACHE_TTL_SECONDS:-0}"
} >"$MLFLOW_AUTH_CONFIG_PATH"
chmod 600 "$MLFLOW_AUTH_CONFIG_PATH"
export MLFLOW_AUTH_CONFIG_PATH

# 4. A wrong or expired Azure/GCS credential stops the start here, not as 500s on every artifact call.
"$PYTHON" "$SERVER_DIR/runtime_helper.py" check-artifacts || die "the artifact store is not usable with the server's credential (see above)"

# 5. Migrations, exactly once across servers starting together (PostgreSQL advisory lock).
"$PYTHON" "$SERVER_DIR/runtime_helper.py" migrate || die "database migration failed (see above)"

# 6. Azure and GCS artifacts go through the server's own artifact repository (an MLflow plugin in
#    runtime_helper.py: a clean "not supported" for multipart uploads it cannot sign). A renewed credential
#    reaches the running server without a restart: a watcher rewrites a 0600 file that the plugin reloads.
credential_var=
case "$MLFLOW_ARTIFACTS_DESTINATION" in
  wasbs://*) credential_var=AZURE_STORAGE_CONNECTION_STRING ;;
  gs://*) credential_var=GOOGLE_CREDENTIALS_JSON ;;
esac
credential_arn=
if [ -n "$credential_var" ]; then
  for pair in "${fetch_args[@]}"; do
    [[ $pair == "$credential_var="* ]] && credential_arn=${pair#*=}
  done
fi
if [ "$MODE" = serve ] && [ -n "$credential_var" ]; then
  plugin="$RUNTIME_DIR/plugins/mlflow_platform_credentials-1.0.dist-info"
  mkdir -p "$plugin"
  printf 'Metadata-Version: 2.1\nName: mlflow-platform-credentials\nVersion: 1.0\n' >"$plugin/METADATA"
  printf '[mlflow.artifact_repository]\nwasbs = runtime_helper:azure_repository\ngs = runtime_helper:gcs_repository\n' >"$plugin/entry_points.txt"
  export PYTHONPATH="$RUNTIME_DIR/plugins:$SERVER_DIR${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ "$MODE" = serve ] && [ -n "$credential_arn" ]; then
  if [ "$credential_var" = AZURE_STORAGE_CONNECTION_STRING ]; then
    credential_file="$RUNTIME_DIR/azure-connection-string"
    printf '%s' "$AZURE_STORAGE_CONNECTION_STRING" >"$credential_file"
    chmod 600 "$credential_file"
  else
    credential_file=$GOOGLE_APPLICATION_CREDENTIALS
  fi
  export MLFLOW_ARTIFACT_CREDENTIAL_FILE=$credential_file
  "$PYTHON" "$SERVER_DIR/runtime_helper.py" watch-credential "$credential_var=$credential_arn" "$credential_file" &
fi

# 7. Serve. Backend URI, admin password and secret key reach mlflow through the environment only.
# Idle connections: the server must outlive every proxy in front of it (ALB idle timeout 900 s, nginx
# upstream keepalive_timeout 60 s), else a proxy reuses a socket uvicorn just closed (its default: 5 s)
# and a POST on it ends as a 502. tests/unit/server-render.test.ts checks the order.
UVICORN_KEEP_ALIVE_SECONDS=960
# Requests a worker runs at once: fewer than its SQLAlchemy pool holds. MLflow's log_batch keeps its
# session's connection while each of _log_params/_log_metrics/_set_tags checks out a second one, so with
# as many log_batch calls in flight as the pool has connections, each holds one and waits for another
# until the pool's 30 s timeout: the benchmark's 30-second stall (server/BENCHMARKS.md). anyio's default
# of 40 request threads per worker would need 41 connections; instead the rest wait, holding none.
# MLflow ignores a pool size or overflow of 0 (SQLAlchemy's defaults 5 and 10 apply) and NullPool has no limit.
pool_size=$((10#${MLFLOW_SQLALCHEMYSTORE_POOL_SIZE:-0}))
pool_overflow=$((10#${MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW:-0}))
[ "$pool_size" -gt 0 ] || pool_size=5
[ "$pool_overflow" -gt 0 ] || pool_overflow=10
case "${MLFLOW_SQLALCHEMYSTORE_POOLCLASS:-QueuePool}" in
  QueuePool) MLFLOW_WORKER_REQUEST_THREADS=$((pool_size + pool_overflow - 1)) ;;
  *) MLFLOW_WORKER_REQUEST_THREADS=40 ;;
esac
export MLFLOW_WORKER_REQUEST_THREADS
# uvicorn's supervisor SIGKILLs a worker that does not answer its ping within --timeout-worker-healthcheck
# (default 5 s), losing every request in flight there; a CPU-starved worker (a burstable instance out of
# credits, a busy task) misses 5 s, and its replacement's minute of imports starves the others further.
UVICORN_WORKER_HEALTHCHECK_SECONDS=30
# uvicorn runs each worker on the event loop this factory makes (--loop module:callable, uvicorn/config.py
# get_loop_factory); its first task sets the thread limit MLflow's WSGI bridge (anyio.to_thread) uses.
cat >"$RUNTIME_DIR/mlflow_worker_loop.py" <<'PY'
import asyncio
import os
import sys

from uvicorn.loops.auto import auto_loop_factory


async def _limit_request_threads():
    import anyio.to_thread

    threads = int(os.environ["MLFLOW_WORKER_REQUEST_THREADS"])
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    print(f"mlflow-worker[{os.getpid()}]: at most {threads} requests at once", file=sys.stderr, flush=True)


def new_event_loop() -> asyncio.AbstractEventLoop:
    loop = auto_loop_factory(use_subprocess=True)()
    loop.create_task(_limit_request_threads())
    return loop
PY
export PYTHONPATH="$RUNTIME_DIR${PYTHONPATH:+:$PYTHONPATH}"
log "starting mlflow server on $MLFLOW_HOST:$MLFLOW_PORT with $MLFLOW_WORKERS worker(s)"
exec "$MLFLOW_VENV/bin/mlflow" server \
  --uvicorn-opts "--timeout-keep-alive $UVICORN_KEEP_ALIVE_SECONDS --timeout-worker-healthcheck $UVICORN_WORKER_HEALTHCHECK_SECONDS --loop mlflow_worker_loop:new_event_loop" \
  --serve-artifacts \
  --artifacts-destination "$MLFLOW_ARTIFACTS_DESTINATION" \
  --host "$MLFLOW_HOST" \
  --port "$MLFLOW_PORT" \
  --workers "$MLFLOW_WORKERS" \
  --allowed-hosts "$MLFLOW_SERVER_ALLOWED_HOSTS" \
  --app-name basic-auth

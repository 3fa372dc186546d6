#!/bin/sh
# EC2 first boot, the only runcmd step (cloud-init judges runcmd by its last command alone). Under set -eu
# the first failing step stops the boot, names itself and fails cloud-init; downloads are retried with a
# bounded backoff; the heartbeat timer comes last, so a stopped boot leaves its alarm without data
# (breaching). Re-run by hand: sudo sh -eu /opt/mlflow/server/boot.sh /etc/mlflow/boot.env
set -eu

# MLFLOW_BOOT_PYTHON, MLFLOW_BOOT_OS_PACKAGES, MLFLOW_REQUIREMENTS_URI, MLFLOW_REQUIREMENTS_SHA256,
# MLFLOW_SERVER_FILES, MLFLOW_TLS (acme|plain), and AWS_REGION/AWS_DEFAULT_REGION when the stack has one
# shellcheck source=/dev/null
. "$1"
# The region, when boot.env names it, for the S3 downloads below (boto3 reads it from the environment).
if [ -n "${AWS_REGION:-}" ]; then export AWS_REGION AWS_DEFAULT_REGION; fi
: "${MLFLOW_VENV:=/opt/mlflow/venv}"
# The ACME client's venv (TLS_PATHS.acmeVenv); overridable like SERVER_DIR, for tests.
: "${MLFLOW_ACME_VENV:=/opt/mlflow/acme-venv}"
SERVER_DIR=${MLFLOW_SERVER_DIR:-/opt/mlflow/server}
# A download: 6 tries, 5+10+20+40+60 s apart.
RETRY_ATTEMPTS=6
RETRY_MAX_DELAY=60

log() { echo "mlflow-boot: $*" >&2; }

step="start"
on_exit() {
  rc=$?
  if [ "$rc" -ne 0 ]; then
    log "BOOT FAILED at step '$step' (exit $rc); the server is not started"
  fi
}
trap on_exit EXIT

# retry COMMAND...: until it succeeds, at most RETRY_ATTEMPTS tries, the wait doubling up to a cap.
retry() {
  attempt=1
  delay=5
  until "$@"; do
    if [ "$attempt" -ge "$RETRY_ATTEMPTS" ]; then
      log "giving up after $attempt tries: $*"
      return 1
    fi
    log "try $attempt of $RETRY_ATTEMPTS failed, again in ${delay}s: $*"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2))
    if [ "$delay" -gt "$RETRY_MAX_DELAY" ]; then delay=$RETRY_MAX_DELAY; fi
  done
}

step="user"
id -u mlflow >/dev/null 2>&1 ||
  useradd --system --user-group --home-dir /var/lib/mlflow --no-create-home --shell /usr/sbin/nologin mlflow

step="os packages"
export DEBIAN_FRONTEND=noninteractive
# --error-on=any: a failed index download fails (and is retried), not just a warning.
retry apt-get -q -o DPkg::Lock::Timeout=300 update --error-on=any
# shellcheck disable=SC2086 # a list of package names
retry apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends $MLFLOW_BOOT_OS_PACKAGES

step="python venv"
"$MLFLOW_BOOT_PYTHON" -m venv "$MLFLOW_VENV"

step="bootstrap packages"
retry "$MLFLOW_VENV/bin/pip" install --no-cache-dir --require-hashes --only-binary=:all: \
  -r "$SERVER_DIR/bootstrap-requirements.txt"

step="requirements lock"
retry "$MLFLOW_VENV/bin/python" "$SERVER_DIR/runtime_helper.py" fetch-object \
  "$MLFLOW_REQUIREMENTS_URI" "$MLFLOW_REQUIREMENTS_SHA256" "$SERVER_DIR/requirements.txt"

# MLFLOW_SERVER_FILES: "name|s3-uri|sha256|mode ..." (server/render.ts FETCHED_SERVER_FILES).
for entry in $MLFLOW_SERVER_FILES; do
  file=${entry%%|*}
  rest=${entry#*|}
  uri=${rest%%|*}
  rest=${rest#*|}
  sha256=${rest%%|*}
  mode=${rest#*|}
  step="server file $file"
  retry "$MLFLOW_VENV/bin/python" "$SERVER_DIR/runtime_helper.py" fetch-object "$uri" "$sha256" "$SERVER_DIR/$file"
  chmod "$mode" "$SERVER_DIR/$file"
done

step="server packages"
retry "$MLFLOW_VENV/bin/pip" install --no-cache-dir --require-hashes --only-binary=:all: \
  -r "$SERVER_DIR/requirements.txt"

if [ "$MLFLOW_TLS" = acme ]; then
  # Its own venv: its pins never meet MLflow's.
  step="acme client"
  "$MLFLOW_BOOT_PYTHON" -m venv "$MLFLOW_ACME_VENV"
  retry "$MLFLOW_ACME_VENV/bin/pip" install --no-cache-dir --require-hashes --only-binary=:all: \
    -r "$SERVER_DIR/requirements-acme.txt"

  # nginx serves HTTPS from its first start, self-signed until the CA's certificate is in.
  step="self-signed certificate"
  "$SERVER_DIR/tls.sh" self-signed
fi

step="nginx config"
install -m 0644 /etc/mlflow/nginx.conf /etc/nginx/nginx.conf

step="services"
systemctl daemon-reload
systemctl enable --now mlflow.service
systemctl enable --now mlflow-gc.timer
systemctl enable nginx.service
systemctl restart nginx.service

if [ "$MLFLOW_TLS" = acme ]; then
  # Issuance starts now, retried in the background; renewal checks 4 times a day.
  step="certificate timers"
  systemctl enable --now mlflow-cert.timer mlflow-cert-renew.timer
fi

step="heartbeat"
systemctl enable --now mlflow-heartbeat.timer

step="done"
log "boot done"

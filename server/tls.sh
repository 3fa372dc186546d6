#!/bin/sh
# The EC2 server's HTTPS certificate (docs/https.md), run as root with /etc/mlflow/tls.env (server/render.ts
# renderTlsEnv) in the environment:
#   tls.sh self-signed   boot.sh, before nginx first starts: a self-signed stand-in (SAN = the identifier) at
#                        the paths nginx reads, unless a certificate is there already. nginx never serves HTTP.
#   tls.sh issue         mlflow-cert.service (every 5 min): the first certificate from the ACME CA, with a
#                        backoff between failed tries; once certbot has one, only that it is installed.
#   tls.sh renew [ARGS]  mlflow-cert-renew.service (4 times a day): certbot renew, which renews when ARI says
#                        so, or at half the lifetime of a certificate shorter than 10 days (certbot >= 4.0).
#   tls.sh deploy        certbot's deploy hook: the new certificate to the paths nginx reads, nginx reloaded
#                        gracefully (old workers finish their requests).
set -eu

# The units load tls.env (EnvironmentFile=); boot.sh and a person at a shell get it here.
if [ -z "${MLFLOW_TLS_IDENTIFIER:-}" ]; then
  set -a
  # shellcheck source=/dev/null
  . "${MLFLOW_TLS_ENV:-/etc/mlflow/tls.env}"
  set +a
fi
: "${MLFLOW_TLS_IDENTIFIER:?}" "${MLFLOW_TLS_DIRECTORY_URL:?}" "${MLFLOW_TLS_CHALLENGE:?}"
: "${MLFLOW_TLS_DIR:=/etc/mlflow/tls}"
: "${MLFLOW_TLS_WEBROOT:=/var/lib/mlflow-acme}"
: "${MLFLOW_TLS_STATE_DIR:=/var/lib/mlflow-tls}"
: "${MLFLOW_ACME_VENV:=/opt/mlflow/acme-venv}"
: "${MLFLOW_TLS_RELOAD:=systemctl reload nginx.service}"
: "${MLFLOW_TLS_EIP_WAIT_SECONDS:=600}"
# botocore's name for it; tests point it at a fake
: "${AWS_EC2_METADATA_SERVICE_ENDPOINT:=http://169.254.169.254}"
CERT="$MLFLOW_TLS_DIR/fullchain.pem"
KEY="$MLFLOW_TLS_DIR/privkey.pem"
NAME=mlflow
BACKOFF_FILE="$MLFLOW_TLS_STATE_DIR/issue-backoff"
# Failed issuance: 5 min, doubling to 6 h between tries. At most 4 failures in the first hour (Let's Encrypt
# allows 5 failed authorizations per identifier per hour), then about 4 a day.
BACKOFF_FIRST=300
BACKOFF_MAX=21600

log() { echo "mlflow-tls: $*" >&2; }

is_ipv4() { echo "$1" | grep -Eq '^[0-9]{1,3}(\.[0-9]{1,3}){3}$'; }

certbot() {
  "$MLFLOW_ACME_VENV/bin/certbot" --non-interactive --config-dir "$MLFLOW_TLS_STATE_DIR/letsencrypt" \
    --work-dir "$MLFLOW_TLS_STATE_DIR/work" --logs-dir "$MLFLOW_TLS_STATE_DIR/logs" "$@"
}

has_lineage() { [ -f "$MLFLOW_TLS_STATE_DIR/letsencrypt/renewal/$NAME.conf" ]; }

self_signed() {
  # The directories the units may write (ProtectSystem=strict needs them to exist); the webroot readable by
  # nginx's workers, which serve certbot's challenge files from it (the units' UMask is 0077).
  mkdir -p "$MLFLOW_TLS_STATE_DIR"
  install -d -m 0755 "$MLFLOW_TLS_WEBROOT"
  if [ -s "$CERT" ] && [ -s "$KEY" ]; then return 0; fi
  if is_ipv4 "$MLFLOW_TLS_IDENTIFIER"; then san="IP:$MLFLOW_TLS_IDENTIFIER"; else san="DNS:$MLFLOW_TLS_IDENTIFIER"; fi
  # Readable by the heartbeat (the server's user) for the certificate metric; the key file stays 0600.
  install -d -m 0755 "$MLFLOW_TLS_DIR"
  umask 077
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=$MLFLOW_TLS_IDENTIFIER (self-signed until the ACME certificate is issued)" \
    -addext "subjectAltName=$san" -keyout "$KEY.new" -out "$CERT.new" 2>/dev/null
  chmod 0644 "$CERT.new"
  mv "$KEY.new" "$KEY"
  mv "$CERT.new" "$CERT"
  log "self-signed stand-in for $MLFLOW_TLS_IDENTIFIER in $MLFLOW_TLS_DIR"
}

# The Elastic IP is associated seconds after the instance starts: until IMDSv2 reports it as the public
# IPv4, the CA's http-01 request would not reach this instance (and count as a failed validation).
wait_for_eip() {
  deadline=$(($(date +%s) + MLFLOW_TLS_EIP_WAIT_SECONDS))
  while :; do
    token=$(curl -sf -m 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" \
      "$AWS_EC2_METADATA_SERVICE_ENDPOINT/latest/api/token" || true)
    ip=$(curl -sf -m 5 -H "X-aws-ec2-metadata-token: $token" \
      "$AWS_EC2_METADATA_SERVICE_ENDPOINT/latest/meta-data/public-ipv4" || true)
    [ "$ip" = "$MLFLOW_TLS_IDENTIFIER" ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "the instance's public IPv4 is '${ip:-none}', not $MLFLOW_TLS_IDENTIFIER, after ${MLFLOW_TLS_EIP_WAIT_SECONDS}s"
      return 1
    fi
    sleep 5
  done
}

record_failure() {
  failures=$((failures + 1))
  delay=$BACKOFF_FIRST
  n=1
  while [ "$n" -lt "$failures" ] && [ "$delay" -lt "$BACKOFF_MAX" ]; do
    delay=$((delay * 2))
    n=$((n + 1))
  done
  if [ "$delay" -gt "$BACKOFF_MAX" ]; then delay=$BACKOFF_MAX; fi
  echo "$failures $(($(date +%s) + delay))" >"$BACKOFF_FILE"
  log "issuance failed ($failures in a row); next try in ${delay}s; nginx keeps the self-signed certificate"
}

# certbot saves the lineage before it runs the deploy hook, and reports a failed hook only in its log: a
# reload that failed, or a certificate certbot stored and then could not read, would leave nginx on the
# stand-in with nothing left to retry. Until the lineage's certificate is the one installed, install it.
install_saved() {
  live="$MLFLOW_TLS_STATE_DIR/letsencrypt/live/$NAME"
  if cmp -s "$live/fullchain.pem" "$CERT"; then return 0; fi
  log "the CA's certificate is saved but not installed: installing it"
  RENEWED_LINEAGE="$live" deploy
}

issue() {
  mkdir -p "$MLFLOW_TLS_STATE_DIR"
  # nginx's workers read the challenge files certbot writes here (the unit's UMask is 0077).
  install -d -m 0755 "$MLFLOW_TLS_WEBROOT"
  failures=0
  next=0
  if [ -f "$BACKOFF_FILE" ]; then read -r failures next <"$BACKOFF_FILE" || true; fi
  if [ "$(date +%s)" -lt "$next" ]; then
    log "backing off after $failures failed tries; next try after $(date -u -d "@$next" +%FT%TZ)"
    return 0
  fi
  if has_lineage; then
    if install_saved; then
      rm -f "$BACKOFF_FILE"
      return 0
    fi
    record_failure
    return 1
  fi
  set -- certonly --cert-name "$NAME" --server "$MLFLOW_TLS_DIRECTORY_URL" --agree-tos \
    --key-type ecdsa --deploy-hook "$0 deploy"
  if [ -n "${MLFLOW_TLS_EMAIL:-}" ]; then
    set -- "$@" --email "$MLFLOW_TLS_EMAIL"
  else
    set -- "$@" --register-unsafely-without-email
  fi
  if is_ipv4 "$MLFLOW_TLS_IDENTIFIER"; then
    # Let's Encrypt issues IP address certificates only with the 6-day `shortlived` profile.
    set -- "$@" --ip-address "$MLFLOW_TLS_IDENTIFIER" --preferred-profile shortlived
    wait_for_eip || {
      record_failure
      return 1
    }
  else
    set -- "$@" --domain "$MLFLOW_TLS_IDENTIFIER"
  fi
  if [ "$MLFLOW_TLS_CHALLENGE" = "dns-01" ]; then
    set -- "$@" --dns-route53
  else
    set -- "$@" --webroot --webroot-path "$MLFLOW_TLS_WEBROOT"
  fi
  if certbot "$@"; then
    rm -f "$BACKOFF_FILE"
    log "certificate for $MLFLOW_TLS_IDENTIFIER issued"
  else
    record_failure
    return 1
  fi
}

renew() {
  if ! has_lineage; then
    log "no certificate from the CA yet: mlflow-cert.service issues it"
    return 0
  fi
  # The timer already spreads renewals (RandomizedDelaySec, fixed per instance): no second random sleep.
  certbot renew --cert-name "$NAME" --no-random-sleep-on-renew "$@"
}

deploy() {
  lineage="${RENEWED_LINEAGE:?deploy runs as certbot\'s deploy hook}"
  # Readable by the heartbeat (the server's user) for the certificate metric; the key file stays 0600.
  install -d -m 0755 "$MLFLOW_TLS_DIR"
  umask 077
  cp "$lineage/privkey.pem" "$KEY.new"
  cp "$lineage/fullchain.pem" "$CERT.new"
  chmod 0644 "$CERT.new"
  # nginx reads both files at reload: each is replaced whole (rename), the key first.
  mv "$KEY.new" "$KEY"
  mv "$CERT.new" "$CERT"
  # shellcheck disable=SC2086 # a command line
  $MLFLOW_TLS_RELOAD
  log "installed $(openssl x509 -noout -serial -enddate -in "$CERT" | tr '\n' ' ')and reloaded nginx"
}

action="${1:-}"
if [ "$#" -gt 0 ]; then shift; fi
case "$action" in
  self-signed) self_signed ;;
  issue) issue ;;
  renew) renew "$@" ;;
  deploy) deploy ;;
  *)
    echo "usage: tls.sh self-signed|issue|renew [certbot renew options]|deploy" >&2
    exit 2
    ;;
esac

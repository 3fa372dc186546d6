"""Runtime helper for server/start.sh, run with the server venv's python.

Subcommands:
  fetch-secrets NAME=ARN ...   print NAME\0VALUE\0 pairs for each secret (AWS Secrets Manager;
                               boto3 honours AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL)
  migrate                      under a PostgreSQL advisory lock: migrate the tracking schema (what
                               `mlflow db upgrade` does), then the basic-auth schema and admin user
  fetch-object S3_URI SHA256 DEST
                               download one S3 object (the instance role's credentials), check its
                               sha256 and write it to DEST; used by EC2 boot for the requirements lock,
                               which is too large for user data
"""

import os
import sys
import time

# Fixed key shared by every server of a deployment: "mlflow" as an integer.
MIGRATION_LOCK_KEY = 0x6D6C666C6F77


def log(message: str) -> None:
    print(f"mlflow-start: {message}", file=sys.stderr, flush=True)


def fetch_secrets(pairs: list[str]) -> int:
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    client = boto3.client("secretsmanager", region_name=region)
    out = sys.stdout.buffer
    for pair in pairs:
        name, _, arn = pair.partition("=")
        try:
            response = client.get_secret_value(SecretId=arn)
        except Exception as e:  # noqa: BLE001 - report which secret failed, never its value
            log(f"ERROR: cannot read {name}_SECRET_ARN={arn} from Secrets Manager: {e}")
            return 1
        value = response.get("SecretString")
        if not value:
            log(f"ERROR: secret {arn} for {name} has no SecretString")
            return 1
        if "\0" in value:
            log(f"ERROR: secret {arn} for {name} contains a NUL byte")
            return 1
        out.write(name.encode() + b"\0" + value.encode() + b"\0")
    out.flush()
    return 0


def _libpq_dsn(uri: str) -> str:
    # SQLAlchemy URI (postgresql+psycopg2://...) -> libpq URI (postgresql://...)
    scheme, sep, rest = uri.partition("://")
    return "postgresql" + sep + rest if scheme.startswith("postgresql") else uri


def migrate() -> int:
    import psycopg2

    uri = os.environ["MLFLOW_BACKEND_STORE_URI"]
    timeout = float(os.environ.get("MLFLOW_MIGRATION_LOCK_TIMEOUT_SECONDS", "900"))
    deadline = time.monotonic() + timeout
    conn = None
    while conn is None:
        try:
            conn = psycopg2.connect(_libpq_dsn(uri), connect_timeout=10)
        except psycopg2.OperationalError as e:
            if time.monotonic() > deadline:
                log(f"ERROR: cannot connect to the backend store database: {str(e).strip()}")
                return 1
            log("database not reachable yet, retrying")
            time.sleep(2)
    conn.autocommit = True
    waited = False
    with conn.cursor() as cur:
        while True:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
            if cur.fetchone()[0]:
                break
            if time.monotonic() > deadline:
                log(f"ERROR: migration lock not acquired within {timeout:.0f}s")
                return 1
            if not waited:
                log("another server is migrating the database; waiting for the migration lock")
                waited = True
            time.sleep(0.5)
    try:
        log("migration lock acquired; upgrading the tracking schema")
        # The body of `mlflow db upgrade <url>`, called in-process so the URI stays off argv.
        from mlflow.db import upgrade

        upgrade.callback(uri)
        log("upgrading the basic-auth schema and bootstrapping the admin user")
        from mlflow.server.auth import bootstrap_admin_user

        bootstrap_admin_user()
        log("migrations done")
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        conn.close()
    return 0


def fetch_object(uri: str, sha256: str, dest: str) -> int:
    import hashlib

    import boto3

    if not uri.startswith("s3://") or "/" not in uri[5:]:
        log(f"ERROR: fetch-object needs s3://bucket/key, got {uri}")
        return 2
    bucket, _, key = uri[5:].partition("/")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    body = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)["Body"].read()
    digest = hashlib.sha256(body).hexdigest()
    if digest != sha256.lower():
        log(f"ERROR: {uri} has sha256 {digest}, expected {sha256}: refusing to use it")
        return 1
    tmp = f"{dest}.tmp"
    with open(tmp, "wb") as f:
        f.write(body)
    os.replace(tmp, dest)
    log(f"fetched {uri} ({len(body)} bytes, sha256 ok) to {dest}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "fetch-secrets":
        return fetch_secrets(argv[1:])
    if argv == ["migrate"]:
        return migrate()
    if len(argv) == 4 and argv[0] == "fetch-object":
        return fetch_object(*argv[1:])
    log("usage: runtime_helper.py fetch-secrets NAME=ARN... | migrate | fetch-object S3_URI SHA256 DEST")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

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
  gc                           `mlflow gc` in-process (the URI stays off argv): purge what was deleted
                               more than MLFLOW_GC_OLDER_THAN (default 30d) ago, rows and artifacts
"""

import os
import sys
import time

# Fixed key shared by every server of a deployment: "mlflow" as an integer.
MIGRATION_LOCK_KEY = 0x6D6C666C6F77
GC_LOCK_KEY = 0x6D6C666763  # one gc at a time per database


LOG_PREFIX = "mlflow-start"


def log(message: str) -> None:
    print(f"{LOG_PREFIX}: {message}", file=sys.stderr, flush=True)


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


def _resolve_proxied_artifacts(destination: str) -> None:
    # gc deletes artifacts through the repository of each run's URI, mlflow-artifacts:/<exp>/<run>/...
    # with --serve-artifacts, which MLflow resolves only through an HTTP server (gc's
    # --artifacts-destination just sets the store's default root). Map it as the server's proxy does.
    from urllib.parse import urlparse

    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact import artifact_repository_registry as registry

    def proxied(uri, tracking_uri=None, registry_uri=None):
        parts = [p for p in urlparse(uri).path.split("/") if p]
        # A run's or a model's folder only, never the destination itself or outside it.
        if len(parts) < 2 or "." in parts or ".." in parts:
            raise MlflowException(f"refusing to delete artifacts at {uri}")
        return registry.get_artifact_repository(destination.rstrip("/") + "/" + "/".join(parts))

    registry._artifact_repository_registry.register("mlflow-artifacts", proxied)


def gc() -> int:
    import psycopg2

    uri = os.environ["MLFLOW_BACKEND_STORE_URI"]
    destination = os.environ["MLFLOW_ARTIFACTS_DESTINATION"]
    older_than = os.environ.get("MLFLOW_GC_OLDER_THAN") or "30d"
    try:
        conn = psycopg2.connect(_libpq_dsn(uri), connect_timeout=10)
    except psycopg2.OperationalError as e:
        log(f"ERROR: cannot connect to the backend store database: {str(e).strip()}")
        return 1
    conn.autocommit = True
    cur = conn.cursor()
    deleted = "SELECT count(*) FROM runs WHERE lifecycle_stage = 'deleted'"
    try:
        # MLflow's store would create a missing schema outside the migration lock.
        cur.execute("SELECT to_regclass('alembic_version') IS NULL OR to_regclass('runs') IS NULL")
        if cur.fetchone()[0]:
            log("nothing to collect: the server has not created the tracking schema yet")
            return 0
        cur.execute("SELECT pg_try_advisory_lock(%s)", (GC_LOCK_KEY,))
        if not cur.fetchone()[0]:
            log("another gc is running on this database; skipping")
            return 0
        cur.execute(deleted)
        before = cur.fetchone()[0]
        import mlflow
        from mlflow.cli import gc as gc_command

        _resolve_proxied_artifacts(destination)
        mlflow.set_tracking_uri(uri)  # gc wants one; in-process, as the server does
        log(f"purging what was deleted more than {older_than} ago (artifacts under {destination})")
        # The store's default root is the server's with --serve-artifacts.
        args = ["--backend-store-uri", uri, "--artifacts-destination", "mlflow-artifacts:/", "--older-than", older_than]
        try:
            gc_command.main(args, prog_name="mlflow gc", standalone_mode=False)
        except Exception as e:  # noqa: BLE001
            log(f"ERROR: gc failed: {type(e).__name__}: {str(e).replace(uri, '<backend store URI>')}")
            return 1
        finally:
            sys.stdout.flush()
        cur.execute(deleted)
        after = cur.fetchone()[0]
        log(f"gc done: {before - after} deleted run(s) purged, {after} within the retention kept")
        return 0
    finally:
        conn.close()  # and with it the lock


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "fetch-secrets":
        return fetch_secrets(argv[1:])
    if argv == ["migrate"]:
        return migrate()
    if len(argv) == 4 and argv[0] == "fetch-object":
        return fetch_object(*argv[1:])
    if argv == ["gc"]:
        global LOG_PREFIX
        LOG_PREFIX = "mlflow-gc"
        return gc()
    log("usage: runtime_helper.py fetch-secrets NAME=ARN... | migrate | fetch-object S3_URI SHA256 DEST | gc")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

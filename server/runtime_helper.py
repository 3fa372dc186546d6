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
  watch-credential NAME=ARN FILE  write the secret's new values to FILE for the server to reload
  check-artifacts              list one blob under the Azure/GCS destination with the server's credential
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
    last_error = None
    while conn is None:
        try:
            conn = psycopg2.connect(_libpq_dsn(uri), connect_timeout=10)
        except psycopg2.OperationalError as e:
            if time.monotonic() > deadline:
                log(f"ERROR: cannot connect to the backend store database: {str(e).strip()}")
                return 1
            # The reason, once per new reason: a refused certificate is not a database still starting.
            if str(e) != last_error:
                log(f"database not reachable yet, retrying: {str(e).strip()}")
                last_error = str(e)
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
        repo = registry.get_artifact_repository(destination.rstrip("/") + "/" + "/".join(parts))
        return _tolerating_missing_artifacts(repo)

    registry._artifact_repository_registry.register("mlflow-artifacts", proxied)


def _tolerating_missing_artifacts(repo):
    # MLflow's Azure repository raises "No such file or directory" for a run without blobs and `mlflow gc`
    # then aborts (mlflow/mlflow#15461, open in 3.17.2). Nothing to delete is success, on every backend.
    from mlflow.exceptions import MlflowException

    delete = repo.delete_artifacts

    def delete_artifacts(artifact_path=None):
        try:
            delete(artifact_path)
        except MlflowException as e:
            if "No such file or directory" not in e.message:
                raise
        except FileNotFoundError:
            pass

    repo.delete_artifacts = delete_artifacts
    return repo


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


def watch_credential(pair: str, path: str) -> int:
    import boto3

    name, _, arn = pair.partition("=")
    interval = float(os.environ.get("MLFLOW_CREDENTIAL_REFRESH_SECONDS", "300"))
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    client = boto3.client("secretsmanager", region_name=region)
    server = os.getppid()  # start.sh, which becomes the server (exec)
    while os.getppid() == server:
        time.sleep(interval)
        try:
            value = client.get_secret_value(SecretId=arn)["SecretString"]
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except Exception as e:  # noqa: BLE001 - keep the value in use
            log(f"WARNING: cannot re-read {name} from {arn}: {type(e).__name__}: {e}")
            continue
        if value and value != current:
            tmp = f"{path}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(value)
            os.replace(tmp, path)
            log(f"{name} has a new value in Secrets Manager: the server uses it from its next artifact request")
    return 0


class _RefreshingCredential:
    # MLflow artifact repository mixin (a plugin start.sh registers): self.client is rebuilt when the file
    # MLFLOW_ARTIFACT_CREDENTIAL_FILE changed, so a renewed SAS or key needs no restart.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._credential_stamp = None
        self._reload_if_changed()

    def __getattribute__(self, name):
        if name == "client":
            object.__getattribute__(self, "_reload_if_changed")()
        return object.__getattribute__(self, name)

    def _reload_if_changed(self):
        path = os.environ.get("MLFLOW_ARTIFACT_CREDENTIAL_FILE")
        if not path or "_credential_stamp" not in self.__dict__:
            return  # not watched, or still in the base class's __init__
        try:
            stat = os.stat(path)
        except OSError:
            return
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._credential_stamp:
            first = self._credential_stamp is None
            self._credential_stamp = stamp
            self.__dict__["client"] = self._new_client(path)
            if not first:
                log(f"artifact store credential reloaded from {path}")


def azure_repository(*args, **kwargs):
    from azure.storage.blob import BlobServiceClient
    from mlflow.store.artifact.azure_blob_artifact_repo import AzureBlobArtifactRepository

    class Repository(_RefreshingCredential, AzureBlobArtifactRepository):
        def _new_client(self, path):
            with open(path, encoding="utf-8") as f:
                os.environ["AZURE_STORAGE_CONNECTION_STRING"] = f.read()
            return BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])

    return Repository(*args, **kwargs)


def gcs_repository(*args, **kwargs):
    from google.cloud import storage
    from mlflow.store.artifact.gcs_artifact_repo import GCSArtifactRepository

    class Repository(_RefreshingCredential, GCSArtifactRepository):
        def _new_client(self, path):
            return storage.Client()  # ADC: GOOGLE_APPLICATION_CREDENTIALS is this file

        def create_multipart_upload(self, local_file, num_parts=1, artifact_path=None):
            # Proxied multipart upload hands the client V4 URLs signed with the server's credential. Workload
            # identity (EC2: google.auth.aws.Credentials) cannot sign: MLflow would initiate the upload, then
            # fail with AttributeError (HTTP 500, the client gives up) and leave the upload orphaned. "Not
            # supported" (501) before anything is initiated makes the client fall back to one proxied PUT.
            from google.auth.credentials import Signing
            from mlflow.exceptions import _UnsupportedMultipartUploadException

            if not isinstance(getattr(self.client, "_credentials", None), Signing):
                raise _UnsupportedMultipartUploadException()
            return super().create_multipart_upload(local_file, num_parts, artifact_path)

    return Repository(*args, **kwargs)


class PermanentCheckError(Exception):
    pass  # no retry can fix it


def _azure_sas_expiry(connection_string: str):
    import re
    from datetime import datetime
    from urllib.parse import unquote

    found = re.search(r"SharedAccessSignature=[^;]*?\bse=([^&;]+)", connection_string)
    return datetime.fromisoformat(unquote(found.group(1)).replace("Z", "+00:00")) if found else None


def _check_azure(destination: str) -> None:
    from datetime import datetime, timezone

    from azure.storage.blob import BlobServiceClient
    from mlflow.store.artifact.azure_blob_artifact_repo import AzureBlobArtifactRepository

    connection_string = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if not connection_string:
        raise PermanentCheckError("AZURE_STORAGE_CONNECTION_STRING is not set (or its *_SECRET_ARN)")
    expiry = _azure_sas_expiry(connection_string)
    if expiry is not None:
        days = (expiry - datetime.now(timezone.utc)).total_seconds() / 86400
        if days <= 0:
            raise PermanentCheckError(
                f"the Azure SAS expired on {expiry.isoformat()}: set a later artifactStore.azureBlob.sasExpiresOn and run pulumi up"
            )
        log(f"the Azure SAS expires on {expiry.date().isoformat()} ({days:.0f} days left)")
    container, _, prefix, _ = AzureBlobArtifactRepository.parse_wasbs_uri(destination)
    client = BlobServiceClient.from_connection_string(connection_string)
    blobs = client.get_container_client(container).list_blobs(name_starts_with=prefix, results_per_page=1)
    next(iter(blobs.by_page()), None)


def _check_gcs(destination: str) -> None:
    import google.auth
    from google.auth.credentials import AnonymousCredentials
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import storage

    bucket, _, prefix = destination[len("gs://") :].partition("/")
    project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    if os.environ.get("STORAGE_EMULATOR_HOST") and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        credentials = AnonymousCredentials()  # the local emulator (tests)
    else:
        # MLflow would fall back to an anonymous client here and fail every request later.
        try:
            credentials, found_project = google.auth.default()
        except DefaultCredentialsError as e:
            raise PermanentCheckError(f"no usable GCP credential (GOOGLE_CREDENTIALS_JSON): {e}") from None
        project = project or found_project
    client = storage.Client(project=project, credentials=credentials)
    next(iter(client.list_blobs(bucket, prefix=prefix.rstrip("/") + "/", max_results=1)), None)


def check_artifacts() -> int:
    destination = os.environ["MLFLOW_ARTIFACTS_DESTINATION"]
    if destination.startswith("wasbs://"):
        check = _check_azure
    elif destination.startswith("gs://"):
        check = _check_gcs
    else:
        return 0  # S3: the instance or task role; nothing to expire
    timeout = float(os.environ.get("MLFLOW_ARTIFACTS_CHECK_TIMEOUT_SECONDS", "300"))
    deadline = time.monotonic() + timeout
    delay = 2.0
    while True:
        try:
            check(destination)
            log(f"artifact store reachable with the server's credential: {destination}")
            return 0
        except PermanentCheckError as e:
            log(f"ERROR: artifact store check failed for {destination}: {e}")
            return 1
        except Exception as e:  # noqa: BLE001 - name the cause; retried, e.g. while IAM propagates
            reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            if time.monotonic() + delay > deadline:
                log(f"ERROR: artifact store check failed for {destination} (for {timeout:.0f}s): {reason}")
                return 1
            log(f"artifact store not usable yet ({reason}); retrying in {delay:.0f}s")
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "fetch-secrets":
        return fetch_secrets(argv[1:])
    if argv == ["migrate"]:
        return migrate()
    if len(argv) == 4 and argv[0] == "fetch-object":
        return fetch_object(*argv[1:])
    if len(argv) == 3 and argv[0] == "watch-credential":
        return watch_credential(argv[1], argv[2])
    if argv == ["check-artifacts"]:
        return check_artifacts()
    if argv == ["gc"]:
        global LOG_PREFIX
        LOG_PREFIX = "mlflow-gc"
        return gc()
    log(
        "usage: runtime_helper.py fetch-secrets NAME=ARN... | migrate | fetch-object S3_URI SHA256 DEST | gc"
        " | check-artifacts | watch-credential NAME=ARN FILE"
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

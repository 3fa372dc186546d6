"""Heartbeat, every minute (mlflow-heartbeat.timer): GET /health through nginx, put 1 (200) or 0 into
CloudWatch for this instance; with HTTPS, also the days the served certificate has left (0 while it is the
self-signed stand-in). Their alarms treat missing data as breaching: a stopped boot alarms too. With them, the
number of 5xx answers nginx logged since the last run (its own alarm)."""

import datetime
import json
import os
import re
import ssl
import sys
import urllib.parse
import urllib.request

# botocore's name for it; tests point it at a fake
IMDS = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254").rstrip("/")


def instance_id() -> str:
    # IMDSv2 (httpTokens: required)
    token_request = urllib.request.Request(
        f"{IMDS}/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    with urllib.request.urlopen(token_request, timeout=5) as response:
        token = response.read().decode()
    request = urllib.request.Request(
        f"{IMDS}/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode().strip()


def healthy(url: str) -> bool:
    # https://127.0.0.1: the certificate names the public address (or is the stand-in): not verified here,
    # the probe sends no credential; the certificate's own health is certificate_days_left's.
    context = ssl._create_unverified_context() if url.startswith("https://127.0.0.1") else None
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as response:
            return response.status == 200
    except Exception:  # noqa: BLE001 - any failure to answer 200 is "not healthy"
        return False


# nginx's default "combined" format: ... [$time_local] "$request" $status ... A '"' inside a logged value is
# written as \x22, so the first '] "' ends the timestamp and the request has no raw quote.
STATUS = re.compile(rb'\] "[^"]*" (\d{3}) ')


class _Count:
    """5xx answers and lines without a status, over complete log lines."""

    def __init__(self) -> None:
        self.errors = 0
        self.unparsed = 0

    def read(self, log, offset: int) -> int:
        """Count the complete lines of the open `log` from `offset` on, line by line (a busy day's log need not
        fit in memory); the offset after the last complete line, where the next read starts."""
        log.seek(offset)
        for line in log:
            if not line.endswith(b"\n"):
                break  # a line nginx is still writing: counted next time
            offset += len(line)
            match = STATUS.search(line)
            if match is None:
                self.unparsed += 1
            elif match.group(1).startswith(b"5"):
                self.errors += 1
        return offset


def server_errors_since_last_run(access_log: str, state_file: str) -> int:
    """5xx answers nginx logged in `access_log` since the previous call, which `state_file` remembers (inode
    and offset). The first call (no state) starts at the end: nothing before it is reported. Rotation is
    followed: when the inode changes, the rest of the old file (`access_log`.1, logrotate's delaycompress)
    is read before the new one; a file shorter than the offset (copytruncate) is read from its start."""
    try:
        with open(state_file, encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        state = None
    count = _Count()
    with open(access_log, "rb") as log:
        current = os.fstat(log.fileno())
        if state is None:
            offset = current.st_size
        elif state["inode"] == current.st_ino:
            offset = state["offset"] if state["offset"] <= current.st_size else 0
        else:
            _count_rotated(f"{access_log}.1", state, count)
            offset = 0
        offset = count.read(log, offset)
    if count.unparsed:
        message = f"mlflow-heartbeat: {access_log}: {count.unparsed} line(s) without a status"
        print(f"{message} (not nginx's combined format)", file=sys.stderr, flush=True)
    temporary = f"{state_file}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump({"inode": current.st_ino, "offset": offset}, f)
    os.replace(temporary, state_file)
    return count.errors


def _count_rotated(rotated: str, state: dict, count: _Count) -> None:
    """The rest of the file the state points into, if logrotate renamed it to `rotated`."""
    try:
        with open(rotated, "rb") as log:
            if os.fstat(log.fileno()).st_ino == state["inode"]:
                count.read(log, state["offset"])
    except FileNotFoundError:
        pass  # rotated twice since, or removed: those lines are gone


def server_errors_metric() -> dict | None:
    """The 5xx count as a metric datum (0 too, so its alarm sees data). Without it (log unreadable, no state
    directory) the health metric still goes out; the error says why."""
    try:
        count = server_errors_since_last_run(
            os.environ["MLFLOW_HEARTBEAT_ACCESS_LOG"],
            os.path.join(os.environ["STATE_DIRECTORY"], "access-log-position.json"),
        )
    except Exception as error:  # noqa: BLE001 - the health metric must not depend on the log
        print(f"mlflow-heartbeat: no 5xx count: {error!r}", file=sys.stderr, flush=True)
        return None
    return {"MetricName": os.environ["MLFLOW_HEARTBEAT_ERRORS_METRIC"], "Value": float(count), "Unit": "Count"}


def certificate_days_left(url: str) -> float:
    """Days until the certificate nginx serves at `url`'s address expires: what clients get, not the file (a
    certificate installed without a working reload is still the old one to them). 0 when none is served or it
    is self-signed (the stand-in, not trusted)."""
    from cryptography import x509

    address = urllib.parse.urlsplit(url)
    try:
        # No verification (CERT_NONE without ca_certs): the point is to read it, whatever it is.
        pem = ssl.get_server_certificate((address.hostname, address.port or 443), timeout=10)
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (OSError, ValueError):
        return 0.0
    if cert.issuer == cert.subject:
        return 0.0
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, round(left.total_seconds() / 86400, 2))


def certificate_metric(url: str) -> list:
    """The CERTIFICATE_METRIC datum (server/render.ts), when nginx serves HTTPS (MLFLOW_TLS_CERTIFICATE set)."""
    if not os.environ.get("MLFLOW_TLS_CERTIFICATE"):
        return []
    return [{"MetricName": os.environ["MLFLOW_CERTIFICATE_METRIC"], "Value": certificate_days_left(url)}]


def main() -> int:
    import boto3

    url = os.environ["MLFLOW_HEARTBEAT_URL"]
    value = 1.0 if healthy(url) else 0.0
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    dimensions = [{"Name": "InstanceId", "Value": instance_id()}]
    metrics = [{"MetricName": os.environ["MLFLOW_HEARTBEAT_METRIC"], "Value": value, "Unit": "Count"}]
    metrics += [{**m, "Unit": "None"} for m in certificate_metric(url)]
    errors = server_errors_metric()
    if errors is not None:
        metrics.append(errors)
    boto3.client("cloudwatch", region_name=region).put_metric_data(
        Namespace=os.environ["MLFLOW_HEARTBEAT_NAMESPACE"],
        MetricData=[{**m, "Dimensions": dimensions} for m in metrics],
    )
    if value == 0.0:
        print(f"mlflow-heartbeat: {url} is not healthy", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

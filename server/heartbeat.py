"""Heartbeat, every minute (mlflow-heartbeat.timer): GET /health through nginx, put 1 (200) or 0 into
CloudWatch for this instance; with HTTPS, also the days the served certificate has left (0 while it is the
self-signed stand-in). Their alarms treat missing data as breaching: a stopped boot alarms too."""

import datetime
import os
import ssl
import sys
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


def certificate_days_left(path: str) -> float:
    """Days until the served certificate expires; 0 when absent, unreadable or self-signed (not trusted)."""
    from cryptography import x509

    try:
        with open(path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
    except (OSError, ValueError):
        return 0.0
    if cert.issuer == cert.subject:
        return 0.0
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, round(left.total_seconds() / 86400, 2))


def certificate_metric() -> list:
    """The CERTIFICATE_METRIC datum (server/render.ts), when nginx serves HTTPS (MLFLOW_TLS_CERTIFICATE)."""
    path = os.environ.get("MLFLOW_TLS_CERTIFICATE")
    if not path:
        return []
    return [{"MetricName": os.environ["MLFLOW_CERTIFICATE_METRIC"], "Value": certificate_days_left(path)}]


def main() -> int:
    import boto3

    url = os.environ["MLFLOW_HEARTBEAT_URL"]
    value = 1.0 if healthy(url) else 0.0
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    dimensions = [{"Name": "InstanceId", "Value": instance_id()}]
    metrics = [{"MetricName": os.environ["MLFLOW_HEARTBEAT_METRIC"], "Value": value, "Unit": "Count"}]
    metrics += [{**m, "Unit": "None"} for m in certificate_metric()]
    boto3.client("cloudwatch", region_name=region).put_metric_data(
        Namespace=os.environ["MLFLOW_HEARTBEAT_NAMESPACE"],
        MetricData=[{**m, "Dimensions": dimensions} for m in metrics],
    )
    if value == 0.0:
        print(f"mlflow-heartbeat: {url} is not healthy", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

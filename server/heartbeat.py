"""Heartbeat, every minute (mlflow-heartbeat.timer): GET /health through nginx, put 1 (200) or 0 into
CloudWatch for this instance. Its alarm treats missing data as breaching: a stopped boot alarms too."""

import os
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
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status == 200
    except Exception:  # noqa: BLE001 - any failure to answer 200 is "not healthy"
        return False


def main() -> int:
    import boto3

    url = os.environ["MLFLOW_HEARTBEAT_URL"]
    value = 1.0 if healthy(url) else 0.0
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    boto3.client("cloudwatch", region_name=region).put_metric_data(
        Namespace=os.environ["MLFLOW_HEARTBEAT_NAMESPACE"],
        MetricData=[
            {
                "MetricName": os.environ["MLFLOW_HEARTBEAT_METRIC"],
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id()}],
                "Value": value,
                "Unit": "Count",
            }
        ],
    )
    if value == 0.0:
        print(f"mlflow-heartbeat: {url} is not healthy", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

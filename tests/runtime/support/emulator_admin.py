"""Admin side of the emulators for the runtime tests (never used by the MLflow client).

usage: emulator_admin.py ACTION [ARG...]; prints JSON.
  s3-create BUCKET | s3-list BUCKET           (endpoint: S3_ENDPOINT, dummy AWS keys in env)
  s3-put BUCKET KEY FILE                       (uploads FILE's bytes)
  sm-put NAME VALUE                            (Secrets Manager on S3_ENDPOINT's moto, prints ARN)
  az-create CONTAINER | az-list CONTAINER      (AZURE_STORAGE_CONNECTION_STRING in env)
  gcs-create BUCKET | gcs-list BUCKET          (STORAGE_EMULATOR_HOST in env)
"""

import json
import os
import sys


def main(action, *args):
    if action.startswith("s3-") or action == "sm-put":
        import boto3

        kw = dict(endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1")
        if action == "s3-create":
            boto3.client("s3", **kw).create_bucket(Bucket=args[0])
            return {"ok": True}
        if action == "s3-put":
            with open(args[2], "rb") as f:
                boto3.client("s3", **kw).put_object(Bucket=args[0], Key=args[1], Body=f.read())
            return {"ok": True}
        if action == "s3-list":
            out = boto3.client("s3", **kw).list_objects_v2(Bucket=args[0])
            return {"keys": [o["Key"] for o in out.get("Contents", [])]}
        if action == "sm-put":
            out = boto3.client("secretsmanager", **kw).create_secret(Name=args[0], SecretString=args[1])
            return {"arn": out["ARN"]}
    if action.startswith("az-"):
        from azure.storage.blob import BlobServiceClient

        svc = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
        if action == "az-create":
            svc.create_container(args[0])
            return {"ok": True}
        if action == "az-list":
            return {"keys": [b.name for b in svc.get_container_client(args[0]).list_blobs()]}
    if action.startswith("gcs-"):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        client = storage.Client(project="test", credentials=AnonymousCredentials())
        if action == "gcs-create":
            client.create_bucket(args[0])
            return {"ok": True}
        if action == "gcs-list":
            return {"keys": [b.name for b in client.list_blobs(args[0])]}
    raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))

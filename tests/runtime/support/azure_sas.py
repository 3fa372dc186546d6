"""A production-shaped Azure connection string for Azurite: BlobEndpoint plus a container SAS (sr=c, racwdl,
as components/artifact-backends/azureBlob.ts asks ARM for), signed with the account key of the connection
string in AZURE_STORAGE_CONNECTION_STRING.

usage: azure_sas.py CONTAINER START EXPIRY   (ISO 8601 UTC, e.g. 2026-01-01T00:00:00Z); prints the string.
"""

import os
import sys
from datetime import datetime

from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas


def main(container, start, expiry):
    account = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    sas = generate_container_sas(
        account.account_name,
        container,
        account_key=account.credential.account_key,
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True, delete=True, list=True),
        start=parse(start),
        expiry=parse(expiry),
    )
    endpoint = account.url.rstrip("/")
    print(f"BlobEndpoint={endpoint};SharedAccessSignature={sas}")


if __name__ == "__main__":
    main(*sys.argv[1:])

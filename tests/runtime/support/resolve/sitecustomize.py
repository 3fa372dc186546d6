"""Test-only, on a client's PYTHONPATH: resolve the names in MLFLOW_TEST_HOSTS ("name=ip,...") as an /etc/hosts
entry would, so that a client can reach a loopback server by the name its certificate is issued for."""

import os
import socket

_HOSTS = dict(entry.split("=", 1) for entry in os.environ.get("MLFLOW_TEST_HOSTS", "").split(",") if entry)

if _HOSTS:
    _getaddrinfo = socket.getaddrinfo

    def _resolve(host, *args, **kwargs):
        return _getaddrinfo(_HOSTS.get(host, host), *args, **kwargs)

    socket.getaddrinfo = _resolve

# Source it: `. scripts/python-tools.sh` puts a venv with the hash-locked scripts/python-tools.txt
# (pip-compile, cyclonedx-py) first on PATH. The venv is keyed by the lock's hash, so a re-lock builds
# a new one and an unchanged lock costs nothing.
# shellcheck shell=bash
_python_tools() {
  local root key venv
  root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
  key="$(sha256sum "$root/scripts/python-tools.txt" | cut -c1-16)"
  venv="$root/.venv-tools/$key"
  if [ ! -x "$venv/bin/pip-compile" ] || [ ! -x "$venv/bin/cyclonedx-py" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install --quiet --require-hashes --only-binary=:all: -r "$root/scripts/python-tools.txt" || return 1
  fi
  PATH="$venv/bin:$PATH"
  export PATH
}
_python_tools

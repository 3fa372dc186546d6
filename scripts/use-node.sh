# Puts the pinned Node.js (.node-version) first on PATH for this shell, installing it from the npm
# registry when the machine's own Node.js is older. Source it, don't run it:
#   . scripts/use-node.sh
# The npm registry's node-linux-<arch> package carries the official binary, so nothing is downloaded
# from anywhere but the registry that `npm install` already uses. It lands in .tools/ (git-ignored).
# shellcheck shell=bash
_use_node() {
  local root want arch dir bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
  want="$(tr -d ' \n' <"$root/.node-version")"
  if [ "$(node --version 2>/dev/null)" = "v$want" ]; then
    echo "use-node: Node.js $(node --version) ($(command -v node))"
    return 0
  fi
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "use-node: no node-linux package for $(uname -m)" >&2; return 1 ;;
  esac
  dir="$root/.tools/node-$want"
  bin="$dir/node_modules/node-linux-$arch/bin"
  if [ "$("$bin/node" --version 2>/dev/null)" != "v$want" ]; then
    echo "use-node: installing Node.js $want (npm package node-linux-$arch@$want) into $dir"
    mkdir -p "$dir"
    # --prefix keeps it out of the project's package.json and lockfile.
    npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "node-linux-$arch@$want" || return 1
  fi
  PATH="$bin:$PATH"
  export PATH
  hash -r 2>/dev/null || true
  [ "$(node --version)" = "v$want" ] || { echo "use-node: node on PATH is $(node --version), not v$want" >&2; return 1; }
  echo "use-node: Node.js $(node --version) ($(command -v node)), npm $(npm --version)"
}
_use_node

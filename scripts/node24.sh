#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH. The system Node may be older
# (this machine ships 20); we never touch it, we bring our own from the npm
# registry (node-linux-<arch>) into a per-user cache and prepend it.
set -euo pipefail
NODE_VERSION="${VISITE_NODE_VERSION:-24.22.3}"
CACHE="${VISITE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/visite}"

current_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(current_major)" -lt 24 ]; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) echo "node24: unsupported CPU $(uname -m); install Node.js 24 yourself" >&2; exit 1 ;;
  esac
  prefix="$CACHE/node-$NODE_VERSION"
  bin="$prefix/node_modules/node-linux-$arch/bin"
  if [ ! -x "$bin/node" ]; then
    command -v npm >/dev/null 2>&1 || { echo "node24: npm is needed once to fetch Node.js $NODE_VERSION" >&2; exit 1; }
    echo "node24: fetching Node.js $NODE_VERSION (node-linux-$arch) into $prefix" >&2
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@$NODE_VERSION" >&2
  fi
  export PATH="$bin:$PATH"
fi
exec "$@"

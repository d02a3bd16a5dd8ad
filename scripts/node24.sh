#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH and the project's locked
# dependencies installed. The system Node may be older (this machine ships 20);
# we never touch it, we bring our own from the npm registry (node-linux-<arch>)
# into a per-user cache and prepend it. node_modules is (re)installed with
# `npm ci` when it is missing or was installed from another package.json or
# package-lock.json: a stamp file in node_modules holds the hash of both.
set -euo pipefail
NODE_VERSION="${VISITE_NODE_VERSION:-24.22.3}"
CACHE="${VISITE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/visite}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

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

STAMP="$ROOT/node_modules/.visite-deps-hash"
deps_hash() {
  if command -v sha256sum >/dev/null 2>&1; then
    cat "$ROOT/package.json" "$ROOT/package-lock.json" | sha256sum | cut -d' ' -f1
  else
    cat "$ROOT/package.json" "$ROOT/package-lock.json" | node -e 'process.stdin.pipe(require("node:crypto").createHash("sha256").setEncoding("hex")).on("finish", function () { console.log(this.read()) })'
  fi
}
write_stamp() { if [ -d "$ROOT/node_modules" ]; then deps_hash >"$STAMP"; fi; }

case "${1:-} ${2:-}" in
  "npm ci"|"npm install"|"npm i"|"npm uninstall")
    # The caller installs itself: run it, then remember what node_modules now matches.
    status=0
    VISITE_DEPS_INSTALLING=1 "$@" || status=$?
    if [ "$status" -eq 0 ]; then write_stamp; fi
    exit "$status"
    ;;
esac

# VISITE_DEPS_INSTALLING: set for the npm ci below, so nothing it runs installs again.
if [ -z "${VISITE_DEPS_INSTALLING:-}" ] && { [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(deps_hash)" ]; }; then
  mkdir -p "$ROOT/.cache"
  exec 9>"$ROOT/.cache/npm-ci.lock"
  command -v flock >/dev/null 2>&1 && flock 9
  # Another call may have installed while we waited for the lock.
  if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(deps_hash)" ]; then
    echo "node24: installing the locked dependencies (npm ci): node_modules is missing or older than package-lock.json" >&2
    (cd "$ROOT" && VISITE_DEPS_INSTALLING=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    write_stamp
  fi
  exec 9>&-
fi
exec "$@"

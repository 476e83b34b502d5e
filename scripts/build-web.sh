#!/usr/bin/env bash
# Build the web console into web/dist, only when its sources changed since the last build.
# `npm ci` runs only when package-lock.json changed (or node_modules is missing).
# Usage: scripts/build-web.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/../web"

stamp_of() {
  # A fingerprint of the given files: their paths and contents.
  find "$@" -type f -not -path '*/node_modules/*' -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed to build the web console (Node 20+)" >&2
  exit 1
fi

deps_stamp=$(stamp_of package.json package-lock.json)
if [ ! -d node_modules ] || [ "$(cat node_modules/.loomworks-deps 2>/dev/null)" != "$deps_stamp" ]; then
  npm ci --no-audit --no-fund
  echo "$deps_stamp" > node_modules/.loomworks-deps
fi

src_stamp=$(stamp_of src public index.html package.json package-lock.json tsconfig.json vite.config.ts)
if [ "${1:-}" != "--force" ] && [ -f dist/index.html ] && [ "$(cat dist/.loomworks-build 2>/dev/null)" = "$src_stamp" ]; then
  echo "web console is up to date (web/dist)"
  exit 0
fi
npm run build
echo "$src_stamp" > dist/.loomworks-build
echo "web console built into web/dist"

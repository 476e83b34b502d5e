#!/usr/bin/env bash
# Install what the code sandbox needs (idempotent; quick when done):
#   bubblewrap + libseccomp (Debian packages, when `bwrap` is missing; needs root),
#   Python 3 for the sandboxed code (Debian's /usr/bin/python3), and
#   Deno for JavaScript, from the npm registry into .venv/deno.
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || missing+=(libseccomp2)
[ -x /usr/bin/python3 ] || missing+=(python3)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-sandbox: need root to install ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

deno=.venv/deno/node_modules/@deno/linux-x64-glibc/deno
if [ ! -x "$deno" ] || ! "$deno" --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  command -v npm >/dev/null 2>&1 || { echo "install-sandbox: npm is needed to fetch Deno" >&2; exit 1; }
  npm install --silent --no-audit --no-fund --prefix .venv/deno "deno@$DENO_VERSION" >/dev/null
  "$deno" --version >/dev/null
fi

#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/web/), and the Noto CJK fonts so the
# Chinese screenshots show glyphs instead of boxes; each only when it is missing.
# Playwright's own browser download is never used: the tests launch /usr/bin/chromium.
set -euo pipefail
missing=()
if [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed"; then
  missing+=(fonts-noto-cjk)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "chromium and fonts-noto-cjk already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: installing ${missing[*]} needs root (run as root or install sudo)" >&2
    exit 1
  fi
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
/usr/bin/chromium --version

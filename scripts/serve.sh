#!/usr/bin/env bash
# Install what is needed, then start `loomworks serve` on 127.0.0.1:5001 with its data in ./data.
# Extra arguments go to `loomworks serve` (e.g. --port 5002).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/loomworks serve --host "${LOOMWORKS_HOST:-127.0.0.1}" --port "${LOOMWORKS_PORT:-5001}" \
  --data-dir "${LOOMWORKS_DATA_DIR:-./data}" "$@"

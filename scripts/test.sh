#!/usr/bin/env bash
# Run every check and the whole test suite (SQLite and PostgreSQL). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --dev
scripts/install-sandbox.sh
scripts/services.sh
scripts/install-browser.sh
.venv/bin/ruff check loomworks tests bench tools
.venv/bin/lint-imports --no-cache >/dev/null
.venv/bin/loomworks settings-doc --check
(cd web && npm run lint --silent && npm test --silent)
exec .venv/bin/pytest "$@"

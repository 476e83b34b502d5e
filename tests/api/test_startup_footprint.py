"""What a server loads at start-up: libraries needed only by some requests wait for them (DESIGN §7, idle RSS).

A fresh interpreter builds the app the way `serve` does; each library below costs megabytes of
resident memory for the life of the process (bench/README.md, start-up section).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Loaded on first use: migrations (a forked child runs them), HTML parsers (web tools), secrets'
# ciphers, the embedded vector index and local model, templates, the scaled mode's client, tokens.
ON_FIRST_USE = ("alembic", "mako", "bs4", "lxml", "cryptography", "numpy", "jinja2", "redis", "jwt", "websockets")

SCRIPT = """
import json, sys
from loomworks.api.app import create_app
from loomworks.core.config import Settings
create_app(Settings(data_dir=sys.argv[1], migrate_on_start=False, sandbox_check_on_start=False))
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_building_the_app_leaves_first_use_libraries_unloaded(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data")], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "fastapi" in loaded  # the probe did build the app
    assert sorted(loaded.intersection(ON_FIRST_USE)) == []

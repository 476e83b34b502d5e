"""Write the server's OpenAPI document (from the live app factory) to web/openapi.json."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from loomworks.api.app import create_app
from loomworks.core.config import Settings


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "openapi.json"
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), secret_key="openapi-dump-secret-key-0123456789abcdef")
        document = create_app(settings).openapi()
    target.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {target} ({len(document['paths'])} paths)\n")


if __name__ == "__main__":
    main()

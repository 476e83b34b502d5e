"""`migrate(in_child=True)`: a pending upgrade runs in a forked child, so Alembic never loads into the server.

Each case runs in a fresh interpreter: this test process imported Alembic long ago and runs threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the child is forked (Linux)")


PRELUDE = """
import json, sys, threading
from sqlalchemy import inspect, text
from loomworks.store.db import Database, MigrationError
db = Database(sys.argv[1], pool_size=1)
out = {}
"""


def _run(tmp_path: Path, body: str) -> dict[str, Any]:
    script = PRELUDE + textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    done = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path}/loomworks.db"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_fresh_database_is_migrated_by_a_child(tmp_path: Path) -> None:
    out = _run(
        tmp_path,
        """
        db.migrate(in_child=True)
        out["alembic_loaded"] = "alembic" in sys.modules or "mako" in sys.modules
        out["tables"] = sorted(inspect(db.engine).get_table_names())
        with db.engine.connect() as connection:
            out["marker"] = connection.execute(text("SELECT count(*) FROM loomworks_schema")).scalar()
        db.migrate(in_child=True)  # up to date: nothing to run, here or in a child
        out["alembic_after_second"] = "alembic" in sys.modules
        """,
    )
    assert out["alembic_loaded"] is False
    assert {"accounts", "apps", "alembic_version", "loomworks_schema"} <= set(out["tables"])
    assert out["marker"] == 1
    assert out["alembic_after_second"] is False


def test_a_failed_upgrade_in_the_child_fails_the_start(tmp_path: Path) -> None:
    out = _run(
        tmp_path,
        """
        with db.engine.begin() as connection:  # a table in the way of the first migration
            connection.execute(text("CREATE TABLE tenants (id INTEGER PRIMARY KEY)"))
        try:
            db.migrate(in_child=True)
            out["raised"] = None
        except MigrationError as exc:
            out["raised"] = str(exc)
        out["alembic_loaded"] = "alembic" in sys.modules
        """,
    )
    assert out["raised"] is not None
    assert "exit status 1" in out["raised"]
    assert out["alembic_loaded"] is False


def test_with_other_threads_running_it_migrates_in_process(tmp_path: Path) -> None:
    out = _run(
        tmp_path,
        """
        stop = threading.Event()
        worker = threading.Thread(target=stop.wait)
        worker.start()
        db.migrate(in_child=True)  # forking beside another thread is not safe: done here instead
        stop.set()
        worker.join()
        out["alembic_loaded"] = "alembic" in sys.modules
        out["has_apps"] = "apps" in inspect(db.engine).get_table_names()
        """,
    )
    assert out["alembic_loaded"] is True
    assert out["has_apps"] is True

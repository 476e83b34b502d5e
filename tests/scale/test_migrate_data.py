"""`loomworks migrate-data`: an embedded install (SQLite + files + vectors) copied into PostgreSQL and S3."""

from __future__ import annotations

import sys
from pathlib import Path
from subprocess import run

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from loomworks.api.app import create_app
from loomworks.core.config import Settings
from loomworks.store.db import Database
from loomworks.store.s3 import S3Storage
from loomworks.store.tables import Account, Base
from tests.scale._services import ROOT, clean_env, moto_s3, pg_database

pytestmark = pytest.mark.integration


def test_rows_files_and_vectors_reach_the_scaled_stores(tmp_path: Path) -> None:
    data = tmp_path / "embedded"
    settings = Settings(data_dir=data, secret_key="k" * 40, sandbox_check_on_start=False, log_json=False)
    with TestClient(create_app(settings)) as client:
        setup = client.post("/console/api/setup", json={"email": "m@example.com", "name": "M", "password": "Passw0rd!"})
        assert setup.status_code == 201, setup.text
        client.app.state.loom.storage.save("upload_files/t1/report.txt", b"quarterly numbers")  # type: ignore[attr-defined]
    (data / "vectors").mkdir(exist_ok=True)
    (data / "vectors" / "index.bin").write_bytes(b"\x00\x01vectors")
    source = Database(settings.resolved_database_url)
    with source.session() as session:
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    source.dispose()
    assert counts["accounts"] == 1

    with pg_database("loomworks_migrate") as url, moto_s3() as endpoint:
        env = {
            **clean_env(),
            "LOOMWORKS_STORAGE": "s3",
            "LOOMWORKS_S3_ENDPOINT": endpoint,
            "LOOMWORKS_S3_ACCESS_KEY": "AK",
            "LOOMWORKS_S3_SECRET_KEY": "SK",
        }
        command = [sys.executable, "-m", "loomworks.cli", "migrate-data", "--data-dir", str(data)]
        target_dir = tmp_path / "scaled"
        to = url.replace("postgresql+psycopg://", "postgresql://")
        command += ["--to", to, "--target-data-dir", str(target_dir)]
        done = run(command, env=env, cwd=ROOT, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
        assert b"copied" in done.stdout
        target = Database(url)
        with target.session() as session:
            copied = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
            assert session.scalar(select(Account.email)) == "m@example.com"
        target.dispose()
        assert copied == counts
        bucket = S3Storage(endpoint=endpoint, bucket="loomworks", access_key="AK", secret_key="SK")
        assert bucket.load("upload_files/t1/report.txt") == b"quarterly numbers"
        bucket.close()
        assert (target_dir / "vectors" / "index.bin").read_bytes() == b"\x00\x01vectors"
        # A second copy into the now full target is refused unless forced.
        again = run(
            [*command, "--to", to, "--target-data-dir", str(target_dir)], env=env, cwd=ROOT, capture_output=True
        )
        assert again.returncode == 1
        assert b"--force" in again.stderr

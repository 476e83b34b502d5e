"""Start the real `loomworks serve` process and drive the README's path over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import PG_ADMIN_DSN, _pg_url

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def server_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMWORKS_")}
    if request.param == "sqlite":
        yield env
        return
    name = f"loomworks_serve_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield {**env, "LOOMWORKS_DATABASE_URL": _pg_url(name)}
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_serve_setup_login_app_key_info(server_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    command = [sys.executable, "-m", "loomworks.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, env=server_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
                assert time.monotonic() < deadline, "server did not become healthy"
                time.sleep(0.05)
            assert (
                http.post(
                    "/console/api/setup", json={"email": "me@example.com", "name": "Me", "password": "Passw0rd!"}
                ).status_code
                == 201
            )
            login = http.post("/console/api/login", json={"email": "me@example.com", "password": "Passw0rd!"}).json()
            console = {"Authorization": f"Bearer {login['data']['access_token']}"}
            app = http.post("/console/api/apps", headers=console, json={"name": "Curl bot", "mode": "chat"}).json()
            key = http.post(f"/console/api/apps/{app['id']}/api-keys", headers=console).json()["token"]
            info = http.get("/v1/info", headers={"Authorization": f"Bearer {key}"})
            assert info.status_code == 200
            assert info.json()["name"] == "Curl bot"
            assert info.headers["x-request-id"]
        if "LOOMWORKS_DATABASE_URL" not in server_env:
            assert (data_dir / "loomworks.db").exists()
            assert (data_dir / "secret_key").stat().st_mode & 0o077 == 0
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0].decode()
    # uvicorn re-raises SIGTERM once it has shut down cleanly, so -15 is a clean exit too.
    assert process.returncode in (0, -15), output
    assert "Application shutdown complete." in output
    # Logs are structured: every line is one JSON object, and requests carry their id.
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines
    assert all(line.startswith("{") for line in lines), output[:2000]
    assert any('"request_id"' in line and '"/v1/info"' in line for line in lines)

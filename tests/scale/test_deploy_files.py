"""The deployment files: docker-compose.yaml (no engine runs here, so it is checked as data), nginx, Dockerfile."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from loomworks.core.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Read by the web-console route, not a setting (it says where the built assets are).
NOT_SETTINGS = {"LOOMWORKS_WEB_DIST"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())


def test_services_and_their_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"api", "worker", "nginx", "postgres", "redis", "migrate"}
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert services["api"]["command"][:2] == ["loomworks", "serve"]
    assert services["worker"]["command"] == ["loomworks", "worker"]
    assert services["api"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2
    # Migrations run once, before any API or worker process starts.
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["api"]["environment"]["LOOMWORKS_MIGRATE_ON_START"] == "false"
    for name, service in services.items():
        if name != "migrate":
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency in (service.get("depends_on") or {}).values():
            assert dependency["condition"] in ("service_healthy", "service_completed_successfully")


def test_every_loomworks_variable_is_a_real_setting(compose: dict[str, Any]) -> None:
    fields = {f"LOOMWORKS_{name.upper()}" for name in Settings.model_fields}
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    named = set(re.findall(r"LOOMWORKS_[A-Z0-9_]+", dockerfile))
    for service in compose["services"].values():
        named |= {key for key in service.get("environment") or {} if key.startswith("LOOMWORKS_")}
    assert named - NOT_SETTINGS <= fields, named - NOT_SETTINGS - fields
    # The scaled switch is on for the processes that need it, and it parses as settings.
    env = compose["services"]["worker"]["environment"]
    values = {k[len("LOOMWORKS_") :].lower(): v for k, v in env.items() if "${" not in str(v)}
    settings = Settings(**values)
    assert settings.job_backend == "celery"
    assert settings.run_in_worker is True


def test_nginx_keeps_event_streams_flowing() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    for directive in ("proxy_buffering off;", "proxy_read_timeout 3600s;", "proxy_http_version 1.1;"):
        assert directive in conf
    assert "server api:5001" in conf


def test_compose_config_when_docker_compose_is_installed() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed here (the file is checked as data above)")
    env = {"LOOMWORKS_SECRET_KEY": "x", "LOOMWORKS_ENCRYPTION_KEYS": "k:eA==", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [docker, "compose", "-f", str(DEPLOY / "docker-compose.yaml"), "config", "--quiet"],
        capture_output=True,
        env=env,
        text=True,
    )
    assert result.returncode == 0, result.stderr

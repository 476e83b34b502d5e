"""A tool runtime over a real database and an SSRF client that may reach only `*.test` names (→ 127.0.0.1)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from loomworks.core.crypto import KeyRing
from loomworks.core.ssrf import EgressPolicy, SafeHttpClient
from loomworks.services.tools.base import ToolRuntime
from loomworks.services.tools.port import build_tool_runtime
from loomworks.services.tools.registry import ToolServices
from loomworks.services.workflow_ports import StorageFilePort
from loomworks.store.db import Database
from loomworks.store.storage import LocalStorage
from loomworks.store.tables import Tenant


def allowed_client(timeout: float = 5.0) -> SafeHttpClient:
    """Names under `.test` resolve to 127.0.0.1 and are allow-listed; bare loopback URLs stay refused."""

    def resolve(host: str) -> list[str]:
        if host.endswith(".test"):
            return ["127.0.0.1"]
        raise OSError(f"no such host {host}")

    return SafeHttpClient(EgressPolicy.build(allow_hosts="*.test"), resolver=resolve, timeout=timeout)


def named(url: str, name: str = "fake.test") -> str:
    """`http://127.0.0.1:PORT/...` as `http://fake.test:PORT/...` (the allow-listed spelling)."""
    parts = urlsplit(url)
    return url.replace(f"{parts.hostname}:", f"{name}:", 1)


@dataclass
class Setup:
    db: Database
    keyring: KeyRing
    http: SafeHttpClient
    runtime: ToolRuntime
    tenant_id: str
    services: ToolServices


async def make_setup(database_url: str, tmp_path: Path, *, tool_timeout: float = 5.0) -> AsyncIterator[Setup]:
    db = Database(database_url)
    db.migrate()
    keyring = KeyRing({"k1": os.urandom(32)}, "k1")
    http = allowed_client()
    storage = LocalStorage(tmp_path / "files")
    services = ToolServices(
        db=db, storage=storage, keyring=keyring, http=http, files=StorageFilePort(db, storage, http)
    )
    runtime = build_tool_runtime(
        db=db, keyring=keyring, http=http, services=services, workflow_runs=lambda: None, timeout=tool_timeout
    )
    with db.session() as session:
        tenant = Tenant(name="Tools")
        session.add(tenant)
        session.flush()
        tenant_id = tenant.id
    yield Setup(db, keyring, http, runtime, tenant_id, services)
    await http.aclose()
    db.dispose()

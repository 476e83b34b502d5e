"""Regression tests for real advisories in this field: each would have caught its bug here.

- Langflow CVE-2025-3248: unauthenticated code execution through a code "validation" endpoint
  that `compile()`d and `exec()`d user code. Here: no module outside `loomworks/sandbox/` calls
  `exec`, `eval` or `compile` (nor builds a non-sandboxed Jinja2 environment), and no route with
  "code" or "validate" in its path runs code posted to it.
- Dify CVE-2024-11822: SSRF to internal addresses through user-supplied URLs. Here: the client
  refuses the metadata address and a redirect to a private address, and so does DSL-from-URL.
- Flowise / n8n path traversal in file handling: an upload named `../../etc/passwd` is stored
  under a key we choose, inside the storage directory, with a sanitised name.
"""

from __future__ import annotations

import ast
import io
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient

from loomworks.api.app import create_app
from loomworks.core.config import Settings
from loomworks.core.ssrf import EgressPolicy, SafeHttpClient, SSRFBlockedError
from loomworks.store.storage import LocalStorage
from loomworks.store.tables import UploadFile
from tests._console import OWNER_EMAIL, OWNER_PASSWORD, Console

PACKAGE = Path(__file__).resolve().parents[2] / "loomworks"
DSL = yaml.safe_dump(
    {
        "app": {"name": "From a URL", "mode": "workflow"},
        "kind": "app",
        "version": "0.6.0",
        "workflow": {"graph": {"nodes": [], "edges": []}, "features": {}},
    }
)

# --- Langflow CVE-2025-3248 ---------------------------------------------------------------------

_DYNAMIC = frozenset({"exec", "eval", "compile"})


def _dynamic_code_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Calls of exec/eval/compile (bare, via builtins, via getattr) and non-sandboxed Jinja2 environments."""
    jinja_names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "jinja2"
        for alias in node.names
        if alias.name in ("Environment", "Template")
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and (func.id in _DYNAMIC or func.id in jinja_names):
            found.append((node.lineno, func.id))
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in ("builtins", "__builtins__") and func.attr in _DYNAMIC:
                found.append((node.lineno, f"{func.value.id}.{func.attr}"))
            if func.value.id == "jinja2" and func.attr in ("Environment", "Template"):
                found.append((node.lineno, f"jinja2.{func.attr}"))
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and name.value in _DYNAMIC:
                found.append((node.lineno, f"getattr(..., {name.value!r})"))
    return found


def test_the_scanner_finds_what_it_looks_for() -> None:
    sample = ast.parse(
        "exec(x)\neval(y)\ncompile(s, 'f', 'exec')\nimport builtins\nbuiltins.exec(z)\ngetattr(builtins, 'eval')(w)\n"
        "import jinja2\njinja2.Environment()\nfrom jinja2 import Template as T\nT(s)\nre.compile('a')\n"
    )
    assert [name for _, name in sorted(_dynamic_code_calls(sample))] == [
        "exec",
        "eval",
        "compile",
        "builtins.exec",
        "getattr(..., 'eval')",
        "jinja2.Environment",
        "T",
    ]


def test_no_module_outside_the_sandbox_runs_or_compiles_code() -> None:
    modules = [p for p in PACKAGE.rglob("*.py") if "sandbox" not in p.relative_to(PACKAGE).parts]
    assert len(modules) > 50, "the scan must see the whole package"
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {name}"
        for path in modules
        for line, name in _dynamic_code_calls(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    ]
    assert offenders == []


def _code_payloads(marker: Path) -> list[str]:
    effect = f"open({str(marker)!r}, 'w').write('pwned')"
    return [
        effect,
        # Langflow's exploit: a decorator (or default argument) runs when the definition is executed.
        f"@exec({effect!r})\ndef check():\n    pass\n",
        f"def check(x=exec({effect!r})):\n    pass\n",
    ]


def test_no_code_or_validate_endpoint_executes_posted_code(owner: Console, client: TestClient, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    paths = client.app.openapi()["paths"]
    suspicious = [p for p in paths if re.search(r"code|validat", p, re.IGNORECASE) and "post" in paths[p]]
    # Langflow's own path and Dify-like ones, whether or not we route them.
    targets = [*suspicious, "/api/v1/validate/code", "/console/api/validate/code", "/v1/validate/code"]
    for path in targets:
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        for code in _code_payloads(marker):
            for body in ({"code": code}, {"code": code, "language": "python3"}, {"source": code}, {"text": code}):
                for headers in ({}, owner.headers):
                    client.post(url, json=body, headers=headers)
    assert not marker.exists()


# --- Dify CVE-2024-11822 ------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.hits.append(url.path)
        if url.path == "/redirect":
            body, status, extra = b"", 302, {"Location": parse_qs(url.query)["to"][0]}
        else:
            body, status, extra = DSL.encode(), 200, {"Content-Type": "application/x-yaml"}
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def _yaml_server() -> Iterator[tuple[int, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.hits  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def yaml_server() -> Iterator[tuple[int, list[str]]]:
    with _yaml_server() as served:
        yield served


async def test_the_client_refuses_metadata_and_a_redirect_to_private(yaml_server: tuple[int, list[str]]) -> None:
    port, hits = yaml_server
    async with SafeHttpClient() as client:
        for url in ("http://169.254.169.254/latest/meta-data/iam/", "http://[::ffff:a9fe:a9fe]/", "http://2852039166/"):
            with pytest.raises(SSRFBlockedError, match="metadata"):
                await client.get(url)
    # The source is allowed by name; the redirect's target (the same machine, by address) is not.
    async with SafeHttpClient(EgressPolicy.build(allow_hosts="localhost")) as client:
        with pytest.raises(SSRFBlockedError, match="loopback"):
            await client.get(f"http://localhost:{port}/redirect", params={"to": f"http://127.0.0.1:{port}/app.yml"})
    assert hits == ["/redirect"]


def _import_url(console: Console, url: str) -> tuple[int, dict[str, Any]]:
    response = console.post("/apps/imports", json={"mode": "yaml-url", "yaml_url": url})
    return response.status_code, response.json()


def test_dsl_from_a_url_cannot_reach_internal_addresses(owner: Console, yaml_server: tuple[int, list[str]]) -> None:
    port, hits = yaml_server
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        f"http://127.0.0.1:{port}/app.yml",
        f"http://localhost:{port}/app.yml",
        f"http://[::ffff:127.0.0.1]:{port}/app.yml",
        f"http://0x7f.1:{port}/app.yml",
        "file:///etc/passwd",
    ):
        status, body = _import_url(owner, url)
        assert (status, body["status"]) == (400, "failed"), url
        assert "not allowed" in body["error"], url
    assert hits == []


def test_dsl_from_a_url_is_fetched_when_allowed_but_not_redirected_inside(
    settings: Settings, yaml_server: tuple[int, list[str]]
) -> None:
    port, hits = yaml_server
    allowed = Settings(**{**settings.model_dump(), "ssrf_allow_hosts": "localhost"})
    with TestClient(create_app(allowed)) as client:
        client.post("/console/api/setup", json={"email": OWNER_EMAIL, "name": "Owner", "password": OWNER_PASSWORD})
        console = Console(client, OWNER_EMAIL, OWNER_PASSWORD).login()
        status, body = _import_url(console, f"http://localhost:{port}/app.yml")
        assert (status, body["status"]) == (200, "completed"), body
        status, body = _import_url(console, f"http://localhost:{port}/redirect?to=http://127.0.0.1:{port}/app.yml")
        assert (status, body["status"]) == (400, "failed")
        assert "not allowed" in body["error"]
    assert hits == ["/app.yml", "/redirect"]


# --- Flowise / n8n path traversal ---------------------------------------------------------------

TRAVERSAL_NAMES = [
    "../../etc/passwd.txt",
    "..\\..\\x.txt",
    "/etc/cron.d/evil.txt",
    "C:\\Windows\\System32\\evil.txt",
    "....//....//y.txt",
    "a/../../../z.md",
]
_SAFE_KEY = re.compile(r"^upload_files/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+\.[a-z0-9]+$")


def _check_stored(client: TestClient, file_id: str, name: str, tmp_path: Path) -> None:
    state = client.app.state.loom
    with state.db.session() as session:
        row = session.get(UploadFile, file_id)
        assert row is not None
        key, stored_name = row.key, row.name
    assert _SAFE_KEY.match(key), key
    root = state.storage.root
    path = (root / key).resolve()
    assert root in path.parents
    assert path.is_file()
    assert stored_name == name
    assert "/" not in stored_name
    assert "\\" not in stored_name
    assert not stored_name.startswith("..")
    # Nothing landed outside the storage directory.
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and root not in p.parents]
    assert not [p for p in outside if p.name.endswith((".txt", ".md")) or p.name == "passwd"]


def test_service_api_upload_names_never_become_paths(owner: Console, client: TestClient, tmp_path: Path) -> None:
    app = owner.create_app("Uploads")
    headers = {"Authorization": f"Bearer {owner.create_key(app['id'])}"}
    for filename in TRAVERSAL_NAMES:
        response = client.post(
            "/v1/files/upload", headers=headers, files={"file": (filename, b"hi")}, data={"user": "u"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        expected = re.split(r"[\\/]", filename)[-1]
        assert body["name"] == expected
        _check_stored(client, body["id"], expected, tmp_path)
    # An archive format whose parser would inflate a bomb, or write a traversal name, is refused.
    for members in ({"word/document.xml": b"\0" * (16 * 1024 * 1024)}, {"../../evil.xml": b"x"}):
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for name, data in members.items():
                zipped.writestr(name, data)
        response = client.post(
            "/v1/files/upload", headers=headers, files={"file": ("report.docx", archive.getvalue())}, data={"user": "u"}
        )
        assert (response.status_code, response.json()["code"]) == (400, "unsafe_archive")


def test_console_upload_names_never_become_paths(owner: Console, client: TestClient, tmp_path: Path) -> None:
    for filename in TRAVERSAL_NAMES:
        response = owner.post("/files/upload", files={"file": (filename, b"hi")})
        assert response.status_code == 201, response.text
        body = response.json()
        expected = re.split(r"[\\/]", filename)[-1]
        assert body["name"] == expected
        _check_stored(client, body["id"], expected, tmp_path)


def test_names_without_an_allowed_extension_are_refused_not_written(
    owner: Console, client: TestClient, tmp_path: Path
) -> None:
    app = owner.create_app("Uploads")
    headers = {"Authorization": f"Bearer {owner.create_key(app['id'])}"}
    for filename in ("../../etc/passwd", "..\\..\\x", "../"):
        response = client.post(
            "/v1/files/upload", headers=headers, files={"file": (filename, b"hi")}, data={"user": "u"}
        )
        assert (response.status_code, response.json()["code"]) == (415, "unsupported_file_type"), filename
    root = client.app.state.loom.storage.root
    assert not [p for p in root.rglob("*") if p.is_file()]
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "", "a//b", "./a", "a/.."])
def test_storage_refuses_keys_that_leave_its_directory(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "storage")
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.save(key, b"x")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_uploads_whose_content_contradicts_their_name_are_refused(owner: Console, client: TestClient) -> None:
    """Flowise-style disguised uploads: the type is judged by content, not by the name."""
    import openpyxl

    app = owner.create_app("Disguises")
    headers = {"Authorization": f"Bearer {owner.create_key(app['id'])}"}
    book = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "b"])
    workbook.save(book)
    disguised = {
        "report.docx": book.getvalue(),  # a spreadsheet named as a Word document
        "photo.png": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",  # a PDF named as an image
        "invoice.pdf": b"MZ\x90\x00" + b"\x00" * 60,  # a Windows executable named as a PDF
    }
    for name, data in disguised.items():
        response = client.post("/v1/files/upload", headers=headers, files={"file": (name, data)}, data={"user": "u"})
        assert (response.status_code, response.json()["code"]) == (415, "unsupported_file_type"), name
    real = client.post(
        "/v1/files/upload", headers=headers, files={"file": ("sheet.xlsx", book.getvalue())}, data={"user": "u"}
    )
    assert real.status_code == 201, real.text

"""Custom tools from OpenAPI / Swagger: parsing with line-precise errors, auth, calls through the SSRF client."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from loomworks.services.tools import api_tools
from loomworks.services.tools.base import ToolProviderError
from loomworks.services.tools.openapi import OpenAPISchemaError, parse_schema
from tests.fakes.openapi_petstore import API_KEY, PetstoreFake, petstore_fake
from tests.services.tools._setup import Setup, make_setup, named


@pytest.fixture
async def setup(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Setup]:
    target = tmp_path / "tools.db"
    shutil.copy(sqlite_template, target)
    async for ready in make_setup(f"sqlite:///{target}", tmp_path):
        yield ready


@pytest.fixture(scope="module")
def pets() -> Iterator[PetstoreFake]:
    with petstore_fake() as fake:
        yield fake


def test_openapi_operations_become_typed_tools(pets: PetstoreFake) -> None:
    kind, operations = parse_schema(pets.openapi())
    assert kind == "openapi"
    by_id = {op.operation_id: op for op in operations}
    assert set(by_id) == {"listPets", "createPet", "showPetById"}
    show = by_id["showPetById"].descriptor("p1", "pets")
    assert [(p.name, p.type, p.required) for p in show.parameters] == [("petId", "string", True)]
    create = by_id["createPet"].descriptor("p1", "pets").llm_spec()
    assert create.parameters["required"] == ["name"]
    assert create.parameters["properties"]["name"] == {"type": "string", "description": "The pet's name"}
    assert by_id["listPets"].descriptor("p1", "pets").parameters[0].type == "number"


def test_swagger_2_json_is_read_too() -> None:
    kind, operations = parse_schema(
        json.dumps(
            {
                "swagger": "2.0",
                "info": {"title": "t", "version": "1"},
                "host": "api.example.org",
                "basePath": "/v1",
                "paths": {
                    "/things/{id}": {
                        "get": {"parameters": [{"name": "id", "in": "path", "type": "string"}], "responses": {}}
                    }
                },
            }
        )
    )
    assert kind == "swagger"
    assert operations[0].operation_id == "get_things_id"  # method + path when there is no operationId
    assert operations[0].server_url == "https://api.example.org/v1"


@pytest.mark.parametrize(
    ("document", "line", "message"),
    [
        ("openapi: 3.0.0\ninfo:\n  title: x\npaths:\n  /a:\n    get: [unclosed\n", 7, "not valid YAML"),
        ('{\n  "openapi": "3.0.0",\n  "paths": {,}\n}', 3, "not valid JSON"),
        ("openapi: 3.0.0\nservers:\n  - url: https://x.org\npaths: {}\n", 4, "no `paths`"),
        ("info:\n  title: x\npaths:\n  /a: {}\n", 1, "openapi: 3.x"),
        (
            "openapi: 3.1.0\nservers:\n  - url: https://x.org\npaths:\n  /a:\n    get:\n      parameters:\n"
            "        - $ref: '#/components/parameters/Nope'\n",
            8,
            "points to nothing",
        ),
        ("openapi: 3.0.0\npaths:\n  /a:\n    get:\n      summary: s\n", 1, "no absolute server URL"),
        (
            "openapi: 3.0.0\nservers:\n  - url: https://x.org\npaths:\n  /a:\n    get:\n      parameters:\n"
            "        - name: q\n          in: body-ish\n",
            9,
            "`in` must be",
        ),
    ],
)
def test_invalid_documents_name_the_line(document: str, line: int, message: str) -> None:
    with pytest.raises(OpenAPISchemaError, match=message) as caught:
        parse_schema(document)
    assert caught.value.line == line
    assert caught.value.message.startswith(f"line {line}: ")


async def test_api_provider_calls_with_a_sealed_api_key(setup: Setup, pets: PetstoreFake) -> None:
    server = named(pets.base_url, "pets.test")
    with setup.db.session() as session:
        row = api_tools.save_provider(
            session,
            keyring=setup.keyring,
            tenant_id=setup.tenant_id,
            account_id=None,
            name="pets",
            schema=pets.openapi(server),
            credentials={"auth_type": "api_key", "api_key_header": "X-API-Key", "api_key_value": API_KEY},
        )
        provider_id = row.id
        assert API_KEY not in json.dumps(row.sealed)
        assert "api_key_value" not in row.credentials
    tools = {d.name for d in setup.runtime.list_tools(setup.tenant_id) if d.provider_type == "api"}
    assert tools == {"listPets", "createPet", "showPetById"}
    shown = await setup.runtime.invoke(setup.tenant_id, "api", provider_id, "showPetById", {"petId": "1"})
    assert shown.json == [{"id": "1", "name": "Rex", "tag": "dog"}]
    listed = await setup.runtime.invoke(setup.tenant_id, "api", "pets", "listPets", {"limit": "1"})  # by name too
    assert json.loads(listed.text) == {"pets": [{"id": "1", "name": "Rex", "tag": "dog"}]}
    assert pets.requests[-1]["query"] == {"limit": "1"}
    created = await setup.runtime.invoke(setup.tenant_id, "api", provider_id, "createPet", {"name": "Kit"})
    assert created.json[0]["name"] == "Kit"
    assert json.loads(pets.requests[-1]["body"]) == {"name": "Kit"}
    with pytest.raises(ToolProviderError, match="pets/showPetById.*HTTP 404"):
        await setup.runtime.invoke(setup.tenant_id, "api", provider_id, "showPetById", {"petId": "99"})


@pytest.mark.parametrize(
    ("credentials", "header", "value"),
    [
        ({"auth_type": "bearer", "api_key_value": "tok"}, "authorization", "Bearer tok"),
        ({"auth_type": "basic", "username": "u", "password": "p"}, "authorization", "Basic dTpw"),
        ({"auth_type": "api_key_query", "api_key_query_param": "key", "api_key_value": "q1"}, None, "q1"),
    ],
)
async def test_auth_kinds(
    setup: Setup, pets: PetstoreFake, credentials: dict[str, str], header: str | None, value: str
) -> None:
    with setup.db.session() as session:
        row = api_tools.save_provider(
            session,
            keyring=setup.keyring,
            tenant_id=setup.tenant_id,
            account_id=None,
            name="pets",
            schema=pets.openapi(named(pets.base_url, "pets.test")),
            credentials=credentials,
        )
    with pytest.raises(ToolProviderError, match="HTTP 401"):  # the fake wants X-API-Key; we check what was sent
        await setup.runtime.invoke(setup.tenant_id, "api", row.id, "listPets", {})
    sent = pets.requests[-1]
    if header:
        assert sent["headers"][header] == value
    else:
        assert sent["query"]["key"] == value


async def test_a_document_pointing_at_a_private_address_never_reaches_it(setup: Setup, pets: PetstoreFake) -> None:
    with setup.db.session() as session:
        row = api_tools.save_provider(
            session,
            keyring=setup.keyring,
            tenant_id=setup.tenant_id,
            account_id=None,
            name="pets",
            schema=pets.openapi(pets.base_url),
            credentials={"auth_type": "none"},
        )
    before = len(pets.requests)
    with pytest.raises(ToolProviderError, match="pets/listPets.*not allowed"):
        await setup.runtime.invoke(setup.tenant_id, "api", row.id, "listPets", {})
    assert len(pets.requests) == before

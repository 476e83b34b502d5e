"""Custom tools from OpenAPI 3.0/3.1 and Swagger 2 documents (JSON or YAML).

`parse_schema(text)` reads a document into `ApiOperation`s (one per operation: its id, method,
URL, typed parameters and request body, local `$ref`s resolved). Every error names the line it
comes from: syntax errors by the parser's mark, semantic ones (no `paths`, a bad parameter, a
missing `$ref` target, no server URL) by the YAML node they are about.

`call_operation(...)` makes the HTTP call through the SSRF-safe client with the provider's auth
(none, API key in a header or the query, bearer, basic).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urljoin

import yaml

from loomworks.core.ssrf import SafeHttpClient
from loomworks.services.tools.base import (
    ToolDescriptor,
    ToolError,
    ToolOutput,
    ToolParameter,
    ToolProviderError,
    i18n,
)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_SCHEMA_CHARS = 2 * 1024 * 1024
_MAX_RESPONSE_BYTES = 2 * 1024 * 1024


class OpenAPISchemaError(ToolError):
    """The document cannot be read as OpenAPI/Swagger; `line` (1-based) points at the cause."""

    code, status, default_message = "invalid_schema", 400, "The OpenAPI document is invalid."

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message, params="schema")


@dataclass(slots=True)
class ApiParameter:
    name: str
    location: str  # path | query | header | cookie | body
    required: bool = False
    schema: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(slots=True)
class ApiOperation:
    """One operation, as stored in the provider row (`asdict`) and turned into a tool."""

    operation_id: str
    method: str
    path: str
    server_url: str
    summary: str = ""
    description: str = ""
    parameters: list[ApiParameter] = field(default_factory=list)
    body_content_type: str = ""
    body_is_object: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApiOperation:
        params = [ApiParameter(**p) for p in data.get("parameters") or []]
        return cls(**{**data, "parameters": params})

    def descriptor(self, provider_id: str, provider_name: str) -> ToolDescriptor:
        params: list[ToolParameter] = []
        for p in self.parameters:
            kind = p.schema.get("type")
            ptype = {
                "integer": "number",
                "number": "number",
                "boolean": "boolean",
                "array": "array",
                "object": "object",
            }
            params.append(
                ToolParameter(
                    p.name,
                    ptype.get(str(kind), "string"),  # type: ignore[arg-type]
                    required=p.required,
                    label=i18n(p.name),
                    human_description=i18n(p.description),
                    llm_description=p.description,
                    default=p.schema.get("default"),
                    schema=_plain_schema(p.schema),
                )
            )
        text = self.summary or self.description or f"{self.method.upper()} {self.path}"
        return ToolDescriptor(
            provider_type="api",
            provider_id=provider_id,
            provider_name=provider_name,
            name=self.operation_id,
            label=i18n(self.operation_id),
            description=i18n(self.description or text),
            parameters=params,
        )


def _plain_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    if not schema:
        return None
    kept = {k: v for k, v in schema.items() if k in {"type", "items", "properties", "required", "enum", "format"}}
    if kept.get("type") == "integer":
        kept["type"] = "integer"
    return kept or None


# --- reading the document, with line marks -----------------------------------------------------


def _compose(text: str) -> yaml.Node:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise OpenAPISchemaError(
            f"the document is not valid YAML/JSON: {exc.problem or exc.context}", line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise OpenAPISchemaError(f"the document is not valid YAML/JSON: {exc}") from None
    if node is None:
        raise OpenAPISchemaError("the document is empty", line=1)
    return node


def _node_at(root: yaml.Node, path: tuple[str | int, ...]) -> yaml.Node:
    """The deepest node along `path` (for the line of an error about it)."""
    node = root
    for step in path:
        if isinstance(node, yaml.MappingNode):
            following = next((v for k, v in node.value if getattr(k, "value", None) == str(step)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            following = node.value[step]
        else:
            following = None
        if following is None:
            return node
        node = following
    return node


class _Reader:
    def __init__(self, text: str, base_url: str | None) -> None:
        if len(text) > _MAX_SCHEMA_CHARS:
            raise OpenAPISchemaError(f"the document is larger than {_MAX_SCHEMA_CHARS // 1024} KB")
        stripped = text.lstrip()
        if stripped.startswith(("{", "[")):
            try:
                self.data: Any = json.loads(text)
            except ValueError as exc:
                raise OpenAPISchemaError(f"the document is not valid JSON: {exc.msg}", line=exc.lineno) from None  # type: ignore[attr-defined]
        self.root = _compose(text)
        if not stripped.startswith(("{", "[")):
            try:
                self.data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise OpenAPISchemaError(f"the document is not valid YAML: {exc}") from None
        self.base_url = base_url

    def fail(self, message: str, *path: str | int) -> OpenAPISchemaError:
        return OpenAPISchemaError(message, line=_node_at(self.root, path).start_mark.line + 1)

    def resolve(self, value: Any, path: tuple[str | int, ...], seen: frozenset[str] = frozenset()) -> Any:
        """Follow a local `$ref` (and nested ones, bounded); other documents are refused."""
        if not isinstance(value, dict) or "$ref" not in value:
            return value
        ref = value["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise self.fail(f"only local $refs (#/...) are supported, not {ref!r}", *path, "$ref")
        if ref in seen or len(seen) > 32:
            raise self.fail(f"the $ref {ref} refers to itself", *path, "$ref")
        target: Any = self.data
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or key not in target:
                raise self.fail(f"the $ref {ref} points to nothing", *path, "$ref")
            target = target[key]
        return self.resolve(target, path, seen | {ref})

    def schema(self, value: Any, path: tuple[str | int, ...], depth: int = 0) -> dict[str, Any]:
        """A schema with its `$ref`s resolved a few levels deep (enough for tool parameters)."""
        resolved = self.resolve(value, path)
        if not isinstance(resolved, dict):
            return {}
        if depth > 6:
            return {"type": resolved.get("type", "object")}
        out = dict(resolved)
        if isinstance(out.get("properties"), dict):
            out["properties"] = {
                k: self.schema(v, (*path, "properties", k), depth + 1) for k, v in out["properties"].items()
            }
        if "items" in out:
            out["items"] = self.schema(out["items"], (*path, "items"), depth + 1)
        for combo in ("allOf", "oneOf", "anyOf"):
            if isinstance(out.get(combo), list) and combo == "allOf":
                merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
                for index, part in enumerate(out.pop(combo)):
                    sub = self.schema(part, (*path, combo, index), depth + 1)
                    merged["properties"].update(sub.get("properties") or {})
                    merged["required"].extend(sub.get("required") or [])
                out = {**merged, **{k: v for k, v in out.items() if k not in merged}}
        return out


def _server_url(reader: _Reader, data: dict[str, Any], swagger: bool) -> str:
    if swagger:
        host = data.get("host")
        base_path = str(data.get("basePath") or "")
        if host:
            schemes = data.get("schemes") or ["https"]
            scheme = "https" if "https" in schemes else str(schemes[0])
            return f"{scheme}://{host}{base_path}"
        url = base_path
    else:
        servers = data.get("servers")
        url = ""
        if isinstance(servers, list) and servers and isinstance(servers[0], dict):
            url = str(servers[0].get("url") or "")
            for name, var in (servers[0].get("variables") or {}).items():
                if isinstance(var, dict):
                    url = url.replace("{" + name + "}", str(var.get("default", "")))
    if url.startswith(("http://", "https://")):
        return url
    if reader.base_url:
        return urljoin(reader.base_url, url or "/")
    raise reader.fail(
        "no absolute server URL: add `servers: [{url: https://...}]`", "servers" if not swagger else "host"
    )


_ID_CLEAN = re.compile(r"[^A-Za-z0-9_-]+")


def _operation_id(method: str, path: str, given: Any) -> str:
    if isinstance(given, str) and given.strip():
        return _ID_CLEAN.sub("_", given.strip())[:64]
    slug = _ID_CLEAN.sub("_", path.strip("/")).strip("_") or "root"
    return f"{method}_{slug}"[:64]


def _parameters(reader: _Reader, raw: Any, path: tuple[str | int, ...]) -> list[tuple[dict[str, Any], tuple]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise reader.fail("`parameters` must be a list", *path)
    found = []
    for index, item in enumerate(raw):
        where = (*path, index)
        param = reader.resolve(item, where)
        if not isinstance(param, dict) or not param.get("name") or not param.get("in"):
            raise reader.fail("a parameter needs `name` and `in`", *where)
        if param["in"] not in {"path", "query", "header", "cookie", "body", "formData"}:
            raise reader.fail(f"parameter '{param['name']}': `in` must be path, query, header or cookie", *where, "in")
        found.append((param, where))
    return found


def parse_schema(text: str, *, base_url: str | None = None) -> tuple[str, list[ApiOperation]]:
    """Read an OpenAPI 3.x or Swagger 2 document.

    Args:
        text: the document (JSON or YAML).
        base_url: where it was fetched from, so relative server URLs resolve.

    Returns:
        `("openapi" | "swagger", operations)`.

    Raises:
        OpenAPISchemaError: with the line of the problem.
    """
    reader = _Reader(text, base_url)
    data = reader.data
    if not isinstance(data, dict):
        raise OpenAPISchemaError("the document must be an object with `openapi` (or `swagger`) and `paths`", line=1)
    swagger = "swagger" in data
    version = str(data.get("swagger") if swagger else data.get("openapi") or "")
    if swagger and not version.startswith("2"):
        raise reader.fail(f"Swagger {version} is not supported (only 2.0)", "swagger")
    if not swagger and not version.startswith("3"):
        raise reader.fail("the document has no `openapi: 3.x` (or `swagger: '2.0'`) field", "openapi")
    paths = data.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise reader.fail("the document has no `paths`", "paths")
    server = _server_url(reader, data, swagger)
    operations: list[ApiOperation] = []
    seen: set[str] = set()
    for url_path, item in paths.items():
        if not isinstance(item, dict):
            raise reader.fail(f"the path {url_path} must map methods to operations", "paths", url_path)
        shared = _parameters(reader, item.get("parameters"), ("paths", url_path, "parameters"))
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            where = ("paths", url_path, method)
            if not isinstance(op, dict):
                raise reader.fail(f"{method.upper()} {url_path} must be an object", *where)
            operation = _operation(reader, op, where, method, str(url_path), server, shared, swagger)
            if operation.operation_id in seen:
                raise reader.fail(f"the operationId '{operation.operation_id}' is used twice", *where, "operationId")
            seen.add(operation.operation_id)
            operations.append(operation)
    if not operations:
        raise reader.fail("the document's `paths` have no operations", "paths")
    return ("swagger" if swagger else "openapi"), operations


def _operation(
    reader: _Reader,
    op: dict[str, Any],
    where: tuple[str | int, ...],
    method: str,
    url_path: str,
    server: str,
    shared: list[tuple[dict[str, Any], tuple]],
    swagger: bool,
) -> ApiOperation:
    operation = ApiOperation(
        operation_id=_operation_id(method, url_path, op.get("operationId")),
        method=method,
        path=url_path,
        server_url=server,
        summary=str(op.get("summary") or ""),
        description=str(op.get("description") or ""),
    )
    by_key: dict[tuple[str, str], ApiParameter] = {}
    form_fields: list[ApiParameter] = []
    for param, pwhere in [*shared, *_parameters(reader, op.get("parameters"), (*where, "parameters"))]:
        location = param["in"]
        if location == "body":  # Swagger 2 body parameter: its schema is the request body
            _body_params(reader, operation, param.get("schema"), (*pwhere, "schema"), "application/json")
            continue
        schema = reader.schema(param.get("schema") if not swagger else param, (*pwhere, "schema"))
        if swagger:
            schema = {k: v for k, v in schema.items() if k in {"type", "items", "enum", "default", "format"}}
        entry = ApiParameter(
            name=str(param["name"]),
            location="body" if location == "formData" else location,
            required=bool(param.get("required")) or location == "path",
            schema=schema,
            description=str(param.get("description") or ""),
        )
        if location == "formData":
            form_fields.append(entry)
        else:
            by_key[(location, entry.name)] = entry
    operation.parameters.extend(by_key.values())
    if form_fields:
        operation.body_content_type = "application/x-www-form-urlencoded"
        operation.parameters.extend(form_fields)
    body = reader.resolve(op.get("requestBody"), (*where, "requestBody"))
    if isinstance(body, dict):
        content = body.get("content")
        if not isinstance(content, dict) or not content:
            raise reader.fail("`requestBody` needs `content`", *where, "requestBody")
        content_type = next((t for t in content if "json" in t), None) or next(iter(content))
        media = content.get(content_type) or {}
        _body_params(
            reader,
            operation,
            media.get("schema") if isinstance(media, dict) else None,
            (*where, "requestBody", "content", content_type, "schema"),
            content_type,
            required=bool(body.get("required")),
        )
    return operation


def _body_params(
    reader: _Reader,
    operation: ApiOperation,
    raw: Any,
    where: tuple[str | int, ...],
    content_type: str,
    *,
    required: bool = False,
) -> None:
    operation.body_content_type = content_type
    schema = reader.schema(raw, where)
    properties = schema.get("properties")
    if schema.get("type", "object") == "object" and isinstance(properties, dict) and properties:
        needed = set(schema.get("required") or [])
        for name, prop in properties.items():
            prop = prop if isinstance(prop, dict) else {}
            operation.parameters.append(
                ApiParameter(
                    name=str(name),
                    location="body",
                    required=name in needed,
                    schema=prop,
                    description=str(prop.get("description") or prop.get("title") or ""),
                )
            )
    else:
        operation.body_is_object = False
        operation.parameters.append(
            ApiParameter(name="body", location="body", required=required, schema=schema, description="request body")
        )


# --- calling -----------------------------------------------------------------------------------

AUTH_TYPES = ("none", "api_key", "api_key_header", "api_key_query", "bearer", "basic")


def auth_secret_fields() -> set[str]:
    return {"api_key_value", "password"}


def _apply_auth(credentials: dict[str, Any], headers: dict[str, str], query: dict[str, Any]) -> None:
    kind = str(credentials.get("auth_type") or "none")
    if kind in {"api_key", "api_key_header"}:
        name = str(credentials.get("api_key_header") or "Authorization")
        value = str(credentials.get("api_key_value") or "")
        prefix = str(credentials.get("api_key_header_prefix") or "no_prefix")
        if prefix == "bearer":
            value = f"Bearer {value}"
        elif prefix == "basic":
            value = f"Basic {value}"
        elif prefix == "custom" and credentials.get("api_key_custom_prefix"):
            value = f"{credentials['api_key_custom_prefix']} {value}"
        headers[name] = value
    elif kind == "api_key_query":
        query[str(credentials.get("api_key_query_param") or "key")] = str(credentials.get("api_key_value") or "")
    elif kind == "bearer":
        headers["Authorization"] = f"Bearer {credentials.get('api_key_value') or ''}"
    elif kind == "basic":
        pair = f"{credentials.get('username') or ''}:{credentials.get('password') or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def call_operation(
    client: SafeHttpClient,
    operation: ApiOperation,
    parameters: dict[str, Any],
    credentials: dict[str, Any],
    *,
    tool: str,
    timeout: float = 30.0,  # noqa: ASYNC109 - the SSRF client's total deadline
) -> ToolOutput:
    """Call one operation with `parameters` (by name) and the provider's auth `credentials`."""
    path = operation.path
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    cookies: list[str] = []
    body: dict[str, Any] = {}
    for param in operation.parameters:
        if param.name not in parameters:
            continue
        value = parameters[param.name]
        if param.location == "path":
            path = path.replace("{" + param.name + "}", quote(_text(value), safe=""))
        elif param.location == "query":
            query[param.name] = value if isinstance(value, list) else _text(value)
        elif param.location == "header":
            headers[param.name] = _text(value)
        elif param.location == "cookie":
            cookies.append(f"{param.name}={quote(_text(value), safe='')}")
        else:
            body[param.name] = value
    if "{" in path:
        missing = re.findall(r"\{([^}]+)\}", path)
        raise ToolError(f"Tool {tool}: the path parameter(s) {', '.join(missing)} are missing.", tool=tool)
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    _apply_auth(credentials, headers, query)
    kwargs: dict[str, Any] = {}
    if body or operation.method in {"post", "put", "patch"} and operation.body_content_type:
        payload: Any = body if operation.body_is_object else body.get("body")
        if "form" in operation.body_content_type:
            kwargs["data"] = {k: _text(v) for k, v in (payload or {}).items()}
        elif "json" in operation.body_content_type or not operation.body_content_type:
            kwargs["json"] = payload
        else:
            kwargs["content"] = _text(payload).encode()
            headers.setdefault("Content-Type", operation.body_content_type)
    url = operation.server_url.rstrip("/") + "/" + path.lstrip("/")
    response = await client.request(
        operation.method.upper(),
        url,
        params=query or None,
        headers=headers,
        timeout=timeout,
        max_bytes=_MAX_RESPONSE_BYTES,
        **kwargs,
    )
    text = response.text
    if response.status_code >= 400:
        raise ToolProviderError(f"Tool {tool}: the API answered HTTP {response.status_code}: {text[:200]}", tool=tool)
    if "json" in response.headers.get("content-type", ""):
        try:
            parsed = response.json()
        except ValueError:
            raise ToolProviderError(f"Tool {tool}: the API said JSON but sent {text[:80]!r}.", tool=tool) from None
        return ToolOutput(
            text=json.dumps(parsed, ensure_ascii=False), json=[parsed] if isinstance(parsed, dict) else []
        )
    return ToolOutput(text=text)

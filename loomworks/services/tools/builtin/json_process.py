"""`json_process`: parse / replace / insert / delete in JSON with a JSONPath subset.

Paths: `$` (root), `.key`, `['key']`, `[n]` (negative counts from the end), `[*]` and `.*`
(every child), `..key` (every `key` at any depth).
"""

from __future__ import annotations

import json
import re
from typing import Any

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolParameterError, i18n
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

_TOKEN = re.compile(
    r"""\.\.(?P<deep>[\w$-]+)|\.(?P<key>[\w$-]+)|\.\*|\[\*\]|\[(?P<index>-?\d+)\]|\[['"](?P<quoted>[^'"]*)['"]\]"""
)


class JsonPathError(ValueError):
    pass


Step = tuple[str, Any]  # ("key", name) | ("index", n) | ("all", None) | ("deep", name)


def parse_path(path: str) -> list[Step]:
    """Split a JSONPath (subset) into steps; a path without `$` is read from the root."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text and not text.startswith((".", "[")):
        text = "." + text
    steps: list[Step] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise JsonPathError(f"cannot read the path {path!r} at character {position + 1}")
        if match.group("deep") is not None:
            steps.append(("deep", match.group("deep")))
        elif match.group("key") is not None:
            steps.append(("key", match.group("key")))
        elif match.group("index") is not None:
            steps.append(("index", int(match.group("index"))))
        elif match.group("quoted") is not None:
            steps.append(("key", match.group("quoted")))
        else:
            steps.append(("all", None))
        position = match.end()
    return steps


def _deep(value: Any, key: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(value, dict):
        if key in value:
            found.append(value[key])
        for child in value.values():
            found.extend(_deep(child, key))
    elif isinstance(value, list):
        for child in value:
            found.extend(_deep(child, key))
    return found


def _has(parent: Any, kind: str, arg: Any) -> bool:
    if kind == "key":
        return isinstance(parent, dict) and arg in parent
    return isinstance(parent, list) and -len(parent) <= arg < len(parent)


def query(data: Any, path: str) -> list[Any]:
    """Every value `path` selects in `data` (in document order)."""
    current = [data]
    for kind, arg in parse_path(path):
        following: list[Any] = []
        for value in current:
            if kind in {"key", "index"}:
                if _has(value, kind, arg):
                    following.append(value[arg])
            elif kind == "all":
                following.extend(
                    value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
                )
            elif kind == "deep":
                following.extend(_deep(value, arg))
        current = following
    return current


def _parents(data: Any, path: str) -> tuple[list[Any], Step]:
    steps = parse_path(path)
    if not steps or steps[-1][0] not in {"key", "index"}:
        raise JsonPathError("the path must end in a key or an index")
    parent_path = "$"
    for kind, arg in steps[:-1]:
        parent_path += {"key": f"['{arg}']", "index": f"[{arg}]", "all": "[*]", "deep": f"..{arg}"}[kind]
    return query(data, parent_path), steps[-1]


def replace(data: Any, path: str, new_value: Any) -> int:
    parents, (kind, arg) = _parents(data, path)
    count = 0
    for parent in parents:
        if _has(parent, kind, arg):
            parent[arg] = new_value
            count += 1
    return count


def insert(data: Any, path: str, new_value: Any) -> int:
    parents, (kind, arg) = _parents(data, path)
    count = 0
    for parent in parents:
        if kind == "key" and isinstance(parent, dict):
            parent[arg] = new_value
            count += 1
        elif kind == "index" and isinstance(parent, list):
            parent.insert(arg, new_value)
            count += 1
    return count


def delete(data: Any, path: str) -> int:
    parents, (kind, arg) = _parents(data, path)
    count = 0
    for parent in parents:
        if _has(parent, kind, arg):
            del parent[arg]
            count += 1
    return count


class JsonProcessProvider(BuiltinToolProvider):
    name = "json_process"
    label = i18n("JSON Process", "JSON 处理")
    description = i18n("Tools for processing JSON content using JSONPath.", "利用 JSONPath 处理 JSON 内容的工具。")
    tags = ["utilities"]


def _load(call: ToolCall) -> Any:
    content = call.parameters.get("content")
    if not isinstance(content, str):
        return content
    try:
        return json.loads(content)
    except ValueError as exc:
        raise ToolParameterError(
            f"Tool {call.descriptor.key}: the content is not valid JSON ({exc}).", tool=call.descriptor.key
        ) from None


def _dump(call: ToolCall, value: Any) -> str:
    ensure_ascii = bool(call.parameters.get("ensure_ascii", False))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=ensure_ascii)


def _value(text: Any, value_decode: Any) -> Any:
    if value_decode in (True, "true", "True", 1) and isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


_CONTENT = ToolParameter("content", "string", required=True, llm_description="JSON text")
_ASCII = ToolParameter("ensure_ascii", "boolean", form="form", default=True, llm_description="escape non-ASCII")


class _JsonTool(BuiltinTool):
    def fail(self, call: ToolCall, exc: Exception) -> ToolParameterError:
        return ToolParameterError(f"Tool {call.descriptor.key}: {exc}.", tool=call.descriptor.key)


class JsonParseTool(_JsonTool):
    provider, name = "json_process", "parse"
    label = i18n("JSON Parse", "JSON 解析")
    llm_description = "Select values from JSON with a JSONPath such as $.items[0].name or $..id."
    parameters = [
        _CONTENT,
        ToolParameter("json_filter", "string", required=True, llm_description="JSONPath to select"),
        _ASCII,
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        data = _load(call)
        try:
            found = query(data, str(call.parameters["json_filter"]))
        except JsonPathError as exc:
            raise self.fail(call, exc) from None
        if not found:
            return ToolOutput(text="")
        result = found[0] if len(found) == 1 else found
        json_out = [result] if isinstance(result, dict) else []
        return ToolOutput(text=_dump(call, result), json=json_out)


class JsonReplaceTool(_JsonTool):
    provider, name = "json_process", "replace"
    label = i18n("JSON Replace", "JSON 替换")
    llm_description = "Replace the values a JSONPath selects."
    parameters = [
        _CONTENT,
        ToolParameter("query", "string", required=True, llm_description="JSONPath of the values to replace"),
        ToolParameter("replace_value", "string", required=True, llm_description="the new value"),
        ToolParameter("value_decode", "boolean", form="form", default=False, llm_description="read it as JSON"),
        _ASCII,
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        data = _load(call)
        value = _value(call.parameters["replace_value"], call.parameters.get("value_decode"))
        try:
            replace(data, str(call.parameters["query"]), value)
        except JsonPathError as exc:
            raise self.fail(call, exc) from None
        return ToolOutput(text=_dump(call, data))


class JsonInsertTool(_JsonTool):
    provider, name = "json_process", "insert"
    label = i18n("JSON Insert", "JSON 插入")
    llm_description = "Insert a value at a JSONPath (a new key, or before a list index)."
    parameters = [
        _CONTENT,
        ToolParameter("query", "string", required=True, llm_description="JSONPath of the place"),
        ToolParameter("new_value", "string", required=True, llm_description="the value to insert"),
        ToolParameter("value_decode", "boolean", form="form", default=False, llm_description="read it as JSON"),
        _ASCII,
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        data = _load(call)
        value = _value(call.parameters["new_value"], call.parameters.get("value_decode"))
        try:
            insert(data, str(call.parameters["query"]), value)
        except JsonPathError as exc:
            raise self.fail(call, exc) from None
        return ToolOutput(text=_dump(call, data))


class JsonDeleteTool(_JsonTool):
    provider, name = "json_process", "delete"
    label = i18n("JSON Delete", "JSON 删除")
    llm_description = "Delete what a JSONPath selects."
    parameters = [
        _CONTENT,
        ToolParameter("query", "string", required=True, llm_description="JSONPath of what to delete"),
        _ASCII,
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        data = _load(call)
        try:
            delete(data, str(call.parameters["query"]))
        except JsonPathError as exc:
            raise self.fail(call, exc) from None
        return ToolOutput(text=_dump(call, data))

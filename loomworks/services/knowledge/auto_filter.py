"""Automatic metadata filtering (Dify 1.1+ `metadata_filtering_mode: automatic`).

A text model reads the query and the datasets' metadata fields and proposes filter conditions.
Its answer must be one JSON object, `{"conditions": [{"name", "comparison_operator", "value"}]}`
(a ```json fence around it is tolerated); every condition is checked against the fields that
exist and the operators their type allows, and values are coerced to the field's type.
Conditions that fail a check are dropped; an answer that is not that JSON at all means "no
filter", so a confused model widens the search instead of emptying it. Each dataset is then
filtered only by the conditions on fields it has.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from sqlalchemy import select

from loomworks.core.errors import InvalidParamError
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from loomworks.store.tables import Dataset, DatasetMetadataField

BUILT_IN_FIELDS = {
    "document_name": "string",
    "uploader": "string",
    "upload_date": "time",
    "last_update_date": "time",
    "source": "string",
}
OPERATORS = {
    "string": ("contains", "not contains", "start with", "end with", "is", "is not", "empty", "not empty"),
    "number": ("=", "≠", ">", "<", "≥", "≤", "empty", "not empty"),
    "time": ("before", "after", "empty", "not empty"),
}
_ALIASES = {"!=": "≠", ">=": "≥", "<=": "≤", "==": "="}
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
MAX_CONDITIONS = 8

PROMPT = """You turn a search query into filters on document metadata.
Metadata fields (name: type):
{fields}
Allowed comparison operators by type:
- string: {string_ops}
- number: {number_ops}
- time (ISO 8601 date or date-time): {time_ops}

Answer with one JSON object and nothing else, in this exact shape:
{{"conditions": [{{"name": "<field name>", "comparison_operator": "<operator>", "value": <value>}}]}}
Use only the fields listed above, and only conditions the query clearly asks for. If none apply, answer
{{"conditions": []}}.

Query: {query}"""


def fields_of(runtime: KnowledgeRuntime, tenant_id: str, dataset_ids: list[str]) -> dict[str, dict[str, str]]:
    """Each dataset's filterable fields, `{dataset_id: {name: type}}` (built-ins when the dataset enables them)."""
    out: dict[str, dict[str, str]] = {}
    with runtime.db.session() as session:
        datasets = session.scalars(select(Dataset).where(Dataset.id.in_(dataset_ids), Dataset.tenant_id == tenant_id))
        for dataset in datasets:
            out[dataset.id] = dict(BUILT_IN_FIELDS) if dataset.built_in_field_enabled else {}
        rows = session.scalars(select(DatasetMetadataField).where(DatasetMetadataField.dataset_id.in_(list(out))))
        for row in rows:
            out[row.dataset_id][row.name] = row.type if row.type in OPERATORS else "string"
    return out


def build_prompt(query: str, fields: dict[str, str]) -> str:
    """The instruction for the model (fields listed in a stable order)."""
    listed = "\n".join(f"- {name}: {kind}" for name, kind in sorted(fields.items()))
    return PROMPT.format(
        fields=listed,
        string_ops=", ".join(OPERATORS["string"]),
        number_ops=", ".join(OPERATORS["number"]),
        time_ops=", ".join(OPERATORS["time"]),
        query=query,
    )


def _coerce(value: Any, kind: str, operator: str) -> tuple[bool, Any]:
    if operator in ("empty", "not empty"):
        return True, None
    if kind == "number":
        if isinstance(value, bool):
            return False, None
        try:
            return True, float(value)
        except (TypeError, ValueError):
            return False, None
    if kind == "time":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, float(value)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?", value):
            return True, value
        return False, None
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        return True, str(value)
    return False, None


def parse_answer(answer: str, fields: dict[str, str]) -> dict[str, Any] | None:
    """The validated conditions from the model's answer, or None when it is not the JSON asked for."""
    text = answer.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("conditions"), list):
        return None
    conditions = []
    for item in payload["conditions"][:MAX_CONDITIONS]:
        if not isinstance(item, dict):
            continue
        name, operator = item.get("name"), item.get("comparison_operator")
        if not isinstance(name, str) or name not in fields or not isinstance(operator, str):
            continue
        operator = _ALIASES.get(operator.strip(), operator.strip().lower())
        kind = fields[name]
        if operator not in OPERATORS[kind]:
            continue
        ok, value = _coerce(item.get("value"), kind, operator)
        if ok:
            conditions.append({"name": name, "comparison_operator": operator, "value": value})
    return {"logical_operator": "and", "conditions": conditions}


async def conditions_for(
    runtime: KnowledgeRuntime, *, tenant_id: str, dataset_ids: list[str], query: str
) -> dict[str, dict[str, Any] | None]:
    """Per-dataset filter conditions the model derives from `query` (None: no filter for that dataset).

    Raises:
        InvalidParamError: no text model is bound to the runtime.
    """
    per_dataset = await asyncio.to_thread(fields_of, runtime, tenant_id, dataset_ids)
    union: dict[str, str] = {}
    for fields in per_dataset.values():
        for name, kind in fields.items():
            union.setdefault(name, kind)
    if not union:
        return {}
    if runtime.complete is None:
        raise InvalidParamError(
            "Automatic metadata filtering needs a text generation model.", params="metadata_filtering_mode"
        )
    parsed = parse_answer(await runtime.complete(tenant_id, build_prompt(query, union)), union)
    if parsed is None or not parsed["conditions"]:
        return {}
    out: dict[str, dict[str, Any] | None] = {}
    for dataset_id, fields in per_dataset.items():
        own = [c for c in parsed["conditions"] if fields.get(c["name"]) == union[c["name"]]]
        out[dataset_id] = {"logical_operator": "and", "conditions": own} if own else None
    return out

"""Metadata fields of a dataset (Dify 1.1+): define fields, set their values on documents, built-ins.

Values live in `Document.doc_metadata` keyed by the field's *name* (what metadata filtering in
retrieval reads), so renaming a field renames the key in every document and deleting a field
removes it. A field's `count` is the number of documents that hold a value for it.

The built-in fields (`document_name`, `uploader`, `upload_date`, `last_update_date`, `source`) are
computed from the document when shown, never stored, so they cannot go stale.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loomworks.core.clock import to_timestamp
from loomworks.core.errors import ForbiddenError, InvalidActionError, InvalidParamError, NotFoundError, error_class
from loomworks.services.caller import Caller
from loomworks.services.knowledge import datasets
from loomworks.store.tables import Dataset, DatasetMetadataField, Document

InvalidMetadataError = error_class("invalid_metadata", 400, "Invalid metadata.")
TYPES = ("string", "number", "time")
BUILT_IN_FIELDS: tuple[tuple[str, str], ...] = (
    ("document_name", "string"),
    ("uploader", "string"),
    ("upload_date", "time"),
    ("last_update_date", "time"),
    ("source", "string"),
)
BUILT_IN_ID = "built-in"
_BUILT_IN_NAMES = {name for name, _ in BUILT_IN_FIELDS}


def field_public(field: DatasetMetadataField) -> dict[str, Any]:
    return {"id": field.id, "name": field.name, "type": field.type}


def built_in_fields() -> list[dict[str, str]]:
    """Dify's `GET …/metadata/built-in` answer body (`{"fields": [...]}`)."""
    return [{"name": name, "type": kind} for name, kind in BUILT_IN_FIELDS]


def _editable(session: Session, caller: Caller, dataset_id: str, api: bool) -> Dataset:
    if not caller.can_edit_datasets:
        raise ForbiddenError()
    dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
    if dataset.provider == "external":
        raise InvalidParamError("External datasets have no documents to describe.", params="dataset_id")
    return dataset


def _check_name(session: Session, dataset: Dataset, name: Any, *, exclude_id: str | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParamError("Metadata name is required.", params="name")
    name = name.strip()
    if len(name) > 255:
        raise InvalidParamError("Metadata name cannot exceed 255 characters.", params="name")
    if name in _BUILT_IN_NAMES:
        raise InvalidParamError("Metadata name already exists in Built-in fields.", params="name")
    clash = session.scalar(
        select(DatasetMetadataField.id).where(
            DatasetMetadataField.dataset_id == dataset.id, DatasetMetadataField.name == name
        )
    )
    if clash is not None and clash != exclude_id:
        raise InvalidParamError("Metadata name already exists.", params="name")
    return name


def _fields(session: Session, dataset_id: str) -> list[DatasetMetadataField]:
    return list(
        session.scalars(
            select(DatasetMetadataField)
            .where(DatasetMetadataField.dataset_id == dataset_id)
            .order_by(DatasetMetadataField.created_at, DatasetMetadataField.id)
        )
    )


def _field(session: Session, dataset: Dataset, metadata_id: str) -> DatasetMetadataField:
    field = session.scalar(
        select(DatasetMetadataField).where(
            DatasetMetadataField.id == metadata_id, DatasetMetadataField.dataset_id == dataset.id
        )
    )
    if field is None:
        raise NotFoundError("Metadata not found.")
    return field


def _documents(session: Session, dataset_id: str) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.dataset_id == dataset_id)))


def create(
    session: Session, *, caller: Caller, dataset_id: str, kind: Any, name: Any, api: bool = False
) -> DatasetMetadataField:
    dataset = _editable(session, caller, dataset_id, api)
    if kind not in TYPES:
        raise InvalidParamError("type must be string, number or time.", params="type")
    field = DatasetMetadataField(
        tenant_id=dataset.tenant_id,
        dataset_id=dataset.id,
        type=kind,
        name=_check_name(session, dataset, name),
        created_by=caller.account_id,
    )
    try:
        with session.begin_nested():
            session.add(field)
    except IntegrityError as exc:  # a concurrent create of the same name
        raise InvalidParamError("Metadata name already exists.", params="name") from exc
    return field


def list_fields(session: Session, *, caller: Caller, dataset_id: str, api: bool = False) -> dict[str, Any]:
    """`{doc_metadata: [{id, name, type, count}], built_in_field_enabled}`."""
    dataset = datasets.get(session, caller=caller, dataset_id=dataset_id, api=api)
    counts: dict[str, int] = {}
    for document in _documents(session, dataset.id):
        for key in document.doc_metadata or {}:
            counts[key] = counts.get(key, 0) + 1
    return {
        "doc_metadata": [{**field_public(f), "count": counts.get(f.name, 0)} for f in _fields(session, dataset.id)],
        "built_in_field_enabled": dataset.built_in_field_enabled,
    }


def rename(
    session: Session, *, caller: Caller, dataset_id: str, metadata_id: str, name: Any, api: bool = False
) -> DatasetMetadataField:
    """Rename a field, and its key in every document of the dataset."""
    dataset = _editable(session, caller, dataset_id, api)
    field = _field(session, dataset, metadata_id)
    new_name = _check_name(session, dataset, name, exclude_id=field.id)
    if new_name != field.name:
        for document in _documents(session, dataset.id):
            values = dict(document.doc_metadata or {})
            if field.name in values:
                values[new_name] = values.pop(field.name)
                document.doc_metadata = values  # a new dict: JSON columns only see reassignment
        field.name = new_name
    session.flush()
    return field


def remove(session: Session, *, caller: Caller, dataset_id: str, metadata_id: str, api: bool = False) -> None:
    """Delete a field and its values in every document of the dataset."""
    dataset = _editable(session, caller, dataset_id, api)
    field = _field(session, dataset, metadata_id)
    for document in _documents(session, dataset.id):
        values = dict(document.doc_metadata or {})
        if field.name in values:
            del values[field.name]
            document.doc_metadata = values
    session.delete(field)


def set_built_in(session: Session, *, caller: Caller, dataset_id: str, action: str, api: bool = False) -> None:
    if action not in ("enable", "disable"):
        raise InvalidActionError(f"Invalid action: {action}.")
    dataset = _editable(session, caller, dataset_id, api)
    dataset.built_in_field_enabled = action == "enable"


def _coerce(kind: str, value: Any, name: str) -> Any:
    """A value as stored for a field of `kind` (time: a Unix timestamp, as Dify stores it)."""
    if value is None or value == "":
        return None
    if kind == "string":
        if isinstance(value, dict | list):
            raise InvalidMetadataError(f"Invalid metadata value for {name}: a string is expected.")
        return str(value)
    if isinstance(value, bool):
        raise InvalidMetadataError(f"Invalid metadata value for {name}: a {kind} is expected.")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidMetadataError(f"Invalid metadata value for {name}: a finite number is expected.")
    if isinstance(value, int | float):
        return value if kind == "number" else int(value)
    if isinstance(value, str):
        try:
            number: float | None = float(value)
        except ValueError:
            number = None
        if number is not None and not math.isfinite(number):
            raise InvalidMetadataError(f"Invalid metadata value for {name}: a finite number is expected.")
        if number is not None:
            return (int(number) if number.is_integer() else number) if kind == "number" else int(number)
        if kind == "time":
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
            else:
                return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp())
    raise InvalidMetadataError(f"Invalid metadata value for {name}: a {kind} is expected.")


def update_documents(
    session: Session, *, caller: Caller, dataset_id: str, operation_data: Any, api: bool = False
) -> list[Document]:
    """Set documents' metadata values: `[{document_id, metadata_list: [{id, name, value}], partial_update}]`.

    Without `partial_update` a document's values are replaced by the list (Dify's default); with it
    the listed values are merged in. Fields are looked up by `id`; built-in fields are skipped.
    """
    dataset = _editable(session, caller, dataset_id, api)
    if not isinstance(operation_data, list):
        raise InvalidParamError("operation_data must be a list.", params="operation_data")
    fields = {f.id: f for f in _fields(session, dataset.id)}
    changed: list[Document] = []
    for operation in operation_data:
        if not isinstance(operation, dict) or not isinstance(operation.get("document_id"), str):
            raise InvalidParamError("Each operation needs a document_id.", params="operation_data")
        items = operation.get("metadata_list")
        if not isinstance(items, list):
            raise InvalidParamError("metadata_list must be a list.", params="operation_data")
        document = session.scalar(
            select(Document).where(Document.id == operation["document_id"], Document.dataset_id == dataset.id)
        )
        if document is None:
            raise NotFoundError("Document not found.")
        values: dict[str, Any] = dict(document.doc_metadata or {}) if operation.get("partial_update") else {}
        for item in items:
            if not isinstance(item, dict):
                raise InvalidParamError("metadata_list items must be objects.", params="operation_data")
            if item.get("id") == BUILT_IN_ID or item.get("name") in _BUILT_IN_NAMES:
                continue
            field = fields.get(str(item.get("id")))
            if field is None:
                raise NotFoundError("Metadata not found.")
            values[field.name] = _coerce(field.type, item.get("value"), field.name)
        document.doc_metadata = values
        changed.append(document)
    session.flush()
    return changed


def dataset_fields(session: Session, dataset_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each dataset's fields as Dify's dataset detail lists them (`doc_metadata: [{id, name, type}]`)."""
    out: dict[str, list[dict[str, Any]]] = {d: [] for d in dataset_ids}
    if dataset_ids:
        rows = session.scalars(
            select(DatasetMetadataField)
            .where(DatasetMetadataField.dataset_id.in_(dataset_ids))
            .order_by(DatasetMetadataField.created_at, DatasetMetadataField.id)
        )
        for row in rows:
            out[row.dataset_id].append(field_public(row))
    return out


def built_in_values(document: Document) -> dict[str, Any]:
    """The built-in fields' values of a document (the same ones metadata filtering tests)."""
    return {
        "document_name": document.name,
        "uploader": document.created_by,
        "upload_date": to_timestamp(document.created_at),
        "last_update_date": to_timestamp(document.updated_at),
        "source": document.data_source_type,
    }


def document_details(session: Session, dataset: Dataset, document: Document) -> list[dict[str, Any]]:
    """A document's `doc_metadata` as Dify shows it: `[{id, name, type, value}]` (+ built-ins when enabled)."""
    return documents_details(session, dataset, [document])[document.id]


def documents_details(session: Session, dataset: Dataset, documents: list[Document]) -> dict[str, list[dict[str, Any]]]:
    fields = _fields(session, dataset.id)
    out: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        values = document.doc_metadata or {}
        details = [{**field_public(f), "value": values[f.name]} for f in fields if f.name in values]
        if dataset.built_in_field_enabled:
            builtin = built_in_values(document)
            kinds = dict(BUILT_IN_FIELDS)
            details += [{"id": BUILT_IN_ID, "name": n, "type": kinds[n], "value": v} for n, v in builtin.items()]
        out[document.id] = details
    return out

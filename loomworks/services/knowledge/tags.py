"""Knowledge tags of a workspace (Dify's `type: knowledge` tags): create, rename, delete, bind to datasets.

Tags belong to one workspace; a binding ties a tag to a dataset of the same workspace. Every id
is looked up inside the caller's workspace, so a foreign tag or dataset id is "not found".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loomworks.core.errors import ForbiddenError, InvalidParamError, NotFoundError
from loomworks.services.caller import Caller
from loomworks.store.tables import Dataset, Tag, TagBinding

KNOWLEDGE = "knowledge"


def _check_type(kind: Any) -> str:
    # App tags live on the app row (`App.tags`); this table holds the knowledge tags.
    if kind not in (None, "", KNOWLEDGE):
        raise InvalidParamError("Invalid tag type.", params="type")
    return KNOWLEDGE


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 50:
        raise InvalidParamError("Name must be between 1 to 50 characters.", params="name")
    return name.strip()


def _require_editor(caller: Caller) -> None:
    if not caller.can_edit_datasets:
        raise ForbiddenError()


def tag_public(tag: Tag, binding_count: int = 0) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name, "type": tag.type, "binding_count": binding_count}


def _counts(session: Session, tag_ids: list[str]) -> dict[str, int]:
    if not tag_ids:
        return {}
    rows = session.execute(
        select(TagBinding.tag_id, func.count()).where(TagBinding.tag_id.in_(tag_ids)).group_by(TagBinding.tag_id)
    )
    return {str(tag_id): int(count) for tag_id, count in rows}


def list_tags(
    session: Session, *, caller: Caller, kind: Any = KNOWLEDGE, keyword: str | None = None
) -> list[dict[str, Any]]:
    """The workspace's tags with their binding counts, newest first (as Dify lists them)."""
    query = select(Tag).where(Tag.tenant_id == caller.tenant_id, Tag.type == _check_type(kind))
    if keyword:
        escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Tag.name.ilike(f"%{escaped}%", escape="\\"))
    rows = list(session.scalars(query.order_by(Tag.created_at.desc(), Tag.id)))
    counts = _counts(session, [t.id for t in rows])
    return [tag_public(t, counts.get(t.id, 0)) for t in rows]


def get(session: Session, *, caller: Caller, tag_id: Any) -> Tag:
    tag = session.scalar(select(Tag).where(Tag.id == str(tag_id), Tag.tenant_id == caller.tenant_id))
    if tag is None:
        raise NotFoundError("Tag not found.")
    return tag


def create(session: Session, *, caller: Caller, name: Any, kind: Any = KNOWLEDGE) -> Tag:
    _require_editor(caller)
    tag = Tag(tenant_id=caller.tenant_id, type=_check_type(kind), name=_check_name(name), created_by=caller.account_id)
    try:
        with session.begin_nested():
            session.add(tag)
    except IntegrityError as exc:
        raise InvalidParamError("Tag name already exists.", params="name") from exc
    return tag


def rename(session: Session, *, caller: Caller, tag_id: Any, name: Any) -> dict[str, Any]:
    _require_editor(caller)
    tag = get(session, caller=caller, tag_id=tag_id)
    tag.name = _check_name(name)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise InvalidParamError("Tag name already exists.", params="name") from exc
    return tag_public(tag, _counts(session, [tag.id]).get(tag.id, 0))


def remove(session: Session, *, caller: Caller, tag_id: Any) -> None:
    _require_editor(caller)
    tag = get(session, caller=caller, tag_id=tag_id)
    session.execute(delete(TagBinding).where(TagBinding.tag_id == tag.id))
    session.delete(tag)


def _target(session: Session, caller: Caller, target_id: Any) -> Dataset:
    if not isinstance(target_id, str) or not target_id:
        raise InvalidParamError("Target ID is required.", params="target_id")
    dataset = session.scalar(select(Dataset).where(Dataset.id == target_id, Dataset.tenant_id == caller.tenant_id))
    if dataset is None:
        raise NotFoundError("Dataset not found.")
    return dataset


def bind(session: Session, *, caller: Caller, tag_ids: Any, target_id: Any) -> None:
    """Bind tags to a dataset (binding twice is a no-op)."""
    _require_editor(caller)
    if not isinstance(tag_ids, list) or not tag_ids:
        raise InvalidParamError("Tag IDs is required.", params="tag_ids")
    dataset = _target(session, caller, target_id)
    tags = [get(session, caller=caller, tag_id=t) for t in dict.fromkeys(str(t) for t in tag_ids)]
    bound = set(session.scalars(select(TagBinding.tag_id).where(TagBinding.target_id == dataset.id)))
    for tag in tags:
        if tag.id not in bound:
            session.add(
                TagBinding(
                    tenant_id=caller.tenant_id, tag_id=tag.id, target_id=dataset.id, created_by=caller.account_id
                )
            )
    session.flush()


def unbind(session: Session, *, caller: Caller, tag_id: Any, target_id: Any) -> None:
    _require_editor(caller)
    if not isinstance(tag_id, str) or not tag_id:
        raise InvalidParamError("Tag ID is required.", params="tag_id")
    dataset = _target(session, caller, target_id)
    tag = get(session, caller=caller, tag_id=tag_id)
    session.execute(delete(TagBinding).where(TagBinding.tag_id == tag.id, TagBinding.target_id == dataset.id))


def tags_of(session: Session, dataset_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each dataset's tags, `{dataset_id: [{id, name, type}]}`."""
    out: dict[str, list[dict[str, Any]]] = {d: [] for d in dataset_ids}
    if dataset_ids:
        rows = session.execute(
            select(TagBinding.target_id, Tag)
            .join(Tag, Tag.id == TagBinding.tag_id)
            .where(TagBinding.target_id.in_(dataset_ids))
            .order_by(Tag.name)
        )
        for target_id, tag in rows:
            out[str(target_id)].append({"id": tag.id, "name": tag.name, "type": tag.type})
    return out


def dataset_tags(session: Session, *, dataset: Dataset) -> dict[str, Any]:
    """`GET /datasets/:id/tags`: `{data: [{id, name}], total}`."""
    found = [{"id": t["id"], "name": t["name"]} for t in tags_of(session, [dataset.id])[dataset.id]]
    return {"data": found, "total": len(found)}

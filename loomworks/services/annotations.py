"""Annotations of an app: curated question/answer pairs, and annotation reply.

When annotation reply is on, a user question whose embedding is close enough to an annotated
question (cosine similarity ≥ the app's threshold) is answered with the annotation, without
calling the model; each such hit is recorded.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, event, func, or_, select
from sqlalchemy.orm import Session

from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.services import apps
from loomworks.services.caller import Caller
from loomworks.store.tables import Account, Annotation, AnnotationHit, AnnotationSetting, App, Message

Embed = Callable[[str, str, str, list[str]], Awaitable[list[list[float]]]]  # tenant, provider, model, texts
IMPORT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class AnnotationsPage:
    items: list[Annotation]
    total: int
    page: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.page * self.limit < self.total


def _app(session: Session, caller: Caller, app_id: str, *, edit: bool) -> App:
    if edit:
        caller.require_editor()
    return apps.get(session, caller=caller, app_id=app_id)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParamError(f"{field} is required.", params=field)
    return value.strip()


def list_page(
    session: Session, *, caller: Caller, app_id: str, page: int, limit: int, keyword: str | None = None
) -> AnnotationsPage:
    app = _app(session, caller, app_id, edit=False)
    if not 1 <= limit <= 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    query = select(Annotation).where(Annotation.app_id == app.id)
    if keyword:
        pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(Annotation.question.ilike(pattern, escape="\\"), Annotation.content.ilike(pattern, escape="\\"))
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        session.scalars(
            query.order_by(Annotation.created_at.desc(), Annotation.id).offset((page - 1) * limit).limit(limit)
        )
    )
    return AnnotationsPage(items=rows, total=total, page=page, limit=limit)


def create(
    session: Session, *, caller: Caller, app_id: str, question: Any, answer: Any, message_id: str | None = None
) -> Annotation:
    """Annotate: a new question/answer pair, or (with `message_id`) the curated answer of a message."""
    app = _app(session, caller, app_id, edit=True)
    answer = _text(answer, "answer")
    if message_id:
        message = session.scalar(select(Message).where(Message.id == message_id, Message.app_id == app.id))
        if message is None:
            raise NotFoundError("Message Not Exists.")
        existing = session.scalar(select(Annotation).where(Annotation.message_id == message.id))
        if existing is not None:
            existing.content = answer
            if isinstance(question, str) and question.strip():
                existing.question = question.strip()
            return existing
        annotation = Annotation(
            app_id=app.id,
            conversation_id=message.conversation_id,
            message_id=message.id,
            question=question.strip() if isinstance(question, str) and question.strip() else message.query,
            content=answer,
            account_id=caller.account_id,
        )
    else:
        annotation = Annotation(
            app_id=app.id, question=_text(question, "question"), content=answer, account_id=caller.account_id
        )
    session.add(annotation)
    session.flush()
    return annotation


def get(session: Session, *, caller: Caller, app_id: str, annotation_id: str) -> Annotation:
    app = _app(session, caller, app_id, edit=False)
    annotation = session.scalar(select(Annotation).where(Annotation.id == annotation_id, Annotation.app_id == app.id))
    if annotation is None:
        raise NotFoundError("Annotation not found.")
    return annotation


def update(
    session: Session, *, caller: Caller, app_id: str, annotation_id: str, question: Any, answer: Any
) -> Annotation:
    caller.require_editor()
    annotation = get(session, caller=caller, app_id=app_id, annotation_id=annotation_id)
    annotation.question = _text(question, "question")
    annotation.content = _text(answer, "answer")
    return annotation


def remove(session: Session, *, caller: Caller, app_id: str, annotation_id: str | None = None) -> None:
    app = _app(session, caller, app_id, edit=True)
    if annotation_id is None:
        session.execute(delete(Annotation).where(Annotation.app_id == app.id))
        return
    session.delete(get(session, caller=caller, app_id=app_id, annotation_id=annotation_id))


def export_all(session: Session, *, caller: Caller, app_id: str) -> list[Annotation]:
    app = _app(session, caller, app_id, edit=False)
    return list(session.scalars(select(Annotation).where(Annotation.app_id == app.id).order_by(Annotation.created_at)))


def import_csv(session: Session, *, caller: Caller, app_id: str, data: bytes) -> int:
    """Add the pairs of a CSV whose first two columns are question and answer (a header row is skipped)."""
    app = _app(session, caller, app_id, edit=True)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidParamError("The CSV file must be UTF-8.", params="file") from exc
    rows = [row for row in csv.reader(io.StringIO(text)) if len(row) >= 2 and row[0].strip() and row[1].strip()]
    if rows and rows[0][0].strip().lower() in ("question", "问题") and rows[0][1].strip().lower() in ("answer", "答案"):
        rows = rows[1:]
    if not rows:
        raise InvalidParamError("The CSV file has no question/answer rows.", params="file")
    if len(rows) > IMPORT_LIMIT:
        raise InvalidParamError(f"At most {IMPORT_LIMIT} rows can be imported at once.", params="file")
    for question, answer, *_ in rows:
        session.add(
            Annotation(app_id=app.id, question=question.strip(), content=answer.strip(), account_id=caller.account_id)
        )
    return len(rows)


def setting(session: Session, *, app_id: str) -> AnnotationSetting | None:
    return session.scalar(select(AnnotationSetting).where(AnnotationSetting.app_id == app_id))


def configure_reply(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    enabled: bool,
    score_threshold: float | None = None,
    provider: str | None = None,
    model: str | None = None,
) -> AnnotationSetting:
    app = _app(session, caller, app_id, edit=True)
    current = setting(session, app_id=app.id)
    if enabled and not (provider and model) and (current is None or not current.embedding_model_name):
        raise InvalidParamError(
            "embedding_provider_name and embedding_model_name are required.", params="embedding_model_name"
        )
    if score_threshold is not None and not 0 <= score_threshold <= 1:
        raise InvalidParamError("score_threshold must be between 0 and 1.", params="score_threshold")
    if current is None:
        current = AnnotationSetting(app_id=app.id, created_by=caller.account_id, updated_by=caller.account_id)
        session.add(current)
    current.enabled = enabled
    if score_threshold is not None:
        current.score_threshold = score_threshold
    if provider and model:
        current.embedding_provider_name, current.embedding_model_name = provider, model
    current.updated_by = caller.account_id
    session.flush()
    return current


def hits(
    session: Session, *, caller: Caller, app_id: str, annotation_id: str, page: int, limit: int
) -> tuple[list[AnnotationHit], int]:
    annotation = get(session, caller=caller, app_id=app_id, annotation_id=annotation_id)
    query = select(AnnotationHit).where(AnnotationHit.annotation_id == annotation.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        session.scalars(query.order_by(AnnotationHit.created_at.desc()).offset((page - 1) * limit).limit(limit))
    )
    return rows, total


@dataclass(frozen=True, slots=True)
class Reply:
    annotation_id: str
    answer: str
    question: str
    score: float
    account_id: str
    account_name: str


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


# Bumped when an annotation setting changes in this process, so a remembered "reply is off" is dropped.
_generation = itertools.count(1)
_settings_generation = [next(_generation)]
OFF_TTL_SECONDS = 5.0  # other processes see a reply switched on within this


def _bump(*_args: Any) -> None:
    _settings_generation[0] = next(_generation)


def _setting_changed(_mapper: Any, _connection: Any, target: Any) -> None:
    _bump()
    session = Session.object_session(target)
    if session is not None:  # a reader between this flush and the commit saw the old row
        event.listen(session, "after_commit", _bump, once=True)


for _name in ("after_insert", "after_update", "after_delete"):
    event.listen(AnnotationSetting, _name, _setting_changed)


class AnnotationReplier:
    """Finds the annotation that answers a question, for apps whose annotation reply is on.

    Embeddings of annotated questions are cached in memory by (app, annotation, text).
    """

    def __init__(self, embed: Embed | None) -> None:
        self.embed = embed
        self._cache: dict[tuple[str, str, str], list[float]] = {}
        # Apps whose reply is off, remembered briefly: most apps never turn it on, and the lookup
        # was a query on every chat turn.
        self._off: dict[str, tuple[int, float]] = {}

    async def find(self, session_factory: Callable[[], Any], *, app: App, question: str) -> Reply | None:
        if self.embed is None or not question.strip():
            return None
        generation = _settings_generation[0]
        off = self._off.get(app.id)
        if off is not None and off[0] == generation and off[1] > time.monotonic():
            return None
        with session_factory() as session:
            settings = setting(session, app_id=app.id)
            if settings is None or not settings.enabled:
                if len(self._off) >= 10_000:
                    self._off.clear()
                self._off[app.id] = (generation, time.monotonic() + OFF_TTL_SECONDS)
                return None
            rows = list(
                session.execute(
                    select(Annotation.id, Annotation.question, Annotation.content, Annotation.account_id).where(
                        Annotation.app_id == app.id
                    )
                )
            )
            threshold = settings.score_threshold
            provider, model = settings.embedding_provider_name, settings.embedding_model_name
        if not rows:
            return None
        missing = [(r[0], r[1]) for r in rows if (app.id, r[0], r[1]) not in self._cache]
        if missing:
            vectors = await self.embed(app.tenant_id, provider, model, [q for _, q in missing])
            for (annotation_id, text), vector in zip(missing, vectors, strict=True):
                self._cache[(app.id, annotation_id, text)] = vector
        query_vector = (await self.embed(app.tenant_id, provider, model, [question]))[0]
        best = max(rows, key=lambda r: _cosine(query_vector, self._cache[(app.id, r[0], r[1])]))
        score = _cosine(query_vector, self._cache[(app.id, best[0], best[1])])
        if score < threshold:
            return None
        with session_factory() as session:
            account = session.get(Account, best[3])
        return Reply(
            annotation_id=best[0],
            answer=best[2],
            question=best[1],
            score=score,
            account_id=best[3],
            account_name=account.name if account else "",
        )


def record_hit(
    session: Session,
    *,
    app: App,
    reply: Reply,
    question: str,
    message_id: str,
    source: str,
    account_id: str | None,
    end_user_id: str | None,
) -> None:
    annotation = session.get(Annotation, reply.annotation_id)
    if annotation is None:
        return
    annotation.hit_count += 1
    session.add(
        AnnotationHit(
            app_id=app.id,
            annotation_id=annotation.id,
            source=source,
            question=question,
            account_id=account_id,
            end_user_id=end_user_id,
            message_id=message_id,
            score=reply.score,
            annotation_question=reply.question,
            annotation_content=reply.answer,
        )
    )

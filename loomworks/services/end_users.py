"""End users of published apps: the developer's `user` string (Service API) or a browser session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loomworks.store.tables import App, EndUser

DEFAULT_SESSION = "DEFAULT-USER"


def get_or_create(session: Session, *, app: App, user: str | None, kind: str = "service_api") -> EndUser:
    """Return the end user `user` of `app`, creating it on first sight (race-safe)."""
    session_id = user or DEFAULT_SESSION
    query = select(EndUser).where(EndUser.app_id == app.id, EndUser.session_id == session_id, EndUser.type == kind)
    found = session.scalar(query)
    if found is not None:
        return found
    end_user = EndUser(
        tenant_id=app.tenant_id,
        app_id=app.id,
        type=kind,
        session_id=session_id,
        external_user_id=user,
        is_anonymous=user is None,
    )
    try:
        with session.begin_nested():
            session.add(end_user)
    except IntegrityError:
        found = session.scalar(query)
        if found is None:
            raise
        return found
    return end_user

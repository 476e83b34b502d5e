"""End-user web apps: the site code opens an app to browsers, a passport token names the visitor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks.core.clock import now
from loomworks.core.errors import ForbiddenError, NotFoundError, UnauthorizedError
from loomworks.core.ids import new_id
from loomworks.services import end_users
from loomworks.store.tables import App, EndUser, Site

PASSPORT_DAYS = 30
_ISSUER = "loomworks-webapp"


@dataclass(frozen=True, slots=True)
class Visitor:
    app: App
    site: Site
    end_user: EndUser


def _open_site(session: Session, code: str) -> tuple[App, Site]:
    site = session.scalar(select(Site).where(Site.code == code)) if code else None
    app = session.get(App, site.app_id) if site is not None else None
    if site is None or app is None:
        raise NotFoundError("App not found.")
    if app.status != "normal":
        raise ForbiddenError("The app's status is abnormal.")
    if not app.enable_site:
        raise ForbiddenError("Site is disabled.")
    return app, site


def issue_passport(session: Session, *, secret: str, app_code: str, user_id: str | None = None) -> str:
    """A token for a new anonymous visitor of the app behind `app_code`."""
    import jwt  # here, not at the top: PyJWT adds ~25 ms and ~9 MB to start-up

    app, _ = _open_site(session, app_code)
    session_id = user_id or new_id()
    end_user = end_users.get_or_create(session, app=app, user=session_id, kind="browser")
    issued = now()
    claims = {
        "iss": _ISSUER,
        "sub": "Web API Passport",
        "app_id": app.id,
        "app_code": app_code,
        "end_user_id": end_user.id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(days=PASSPORT_DAYS)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def visitor(session: Session, *, secret: str, token: str, app_code: str | None) -> Visitor:
    """Check a passport (and, when sent, that it belongs to the `X-App-Code` app)."""
    import jwt  # here, not at the top: PyJWT adds ~25 ms and ~9 MB to start-up

    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=_ISSUER, options={"require": ["exp"]})
    except jwt.PyJWTError as exc:
        raise UnauthorizedError("Invalid or expired passport.") from exc
    if app_code and claims.get("app_code") != app_code:
        raise UnauthorizedError("The passport does not belong to this app.")
    app, site = _open_site(session, str(claims.get("app_code", "")))
    end_user = session.get(EndUser, claims.get("end_user_id"))
    if end_user is None or end_user.app_id != app.id:
        raise UnauthorizedError("Invalid or expired passport.")
    return Visitor(app=app, site=site, end_user=end_user)

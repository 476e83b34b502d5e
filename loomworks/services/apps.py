"""Apps: create, list, read, update, copy, delete — always inside the caller's workspace."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loomworks.core.errors import InvalidParamError, NotFoundError
from loomworks.services.app_config import default_model_config, validate_model_config
from loomworks.services.caller import Caller
from loomworks.services.workflow_defaults import create_default_draft
from loomworks.store.tables import ApiToken, App, AppModelConfig, EndUser, Site, Workflow

APP_MODES = ("chat", "completion", "agent-chat", "workflow", "advanced-chat")
ICON_TYPES = ("emoji", "image", "link")


@dataclass(frozen=True, slots=True)
class AppsPage:
    items: list[App]
    total: int
    page: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.page * self.limit < self.total


def _check_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise InvalidParamError("name is required and must be at most 255 characters.", params="name")
    return name


def _check_icon_type(icon_type: str | None) -> str | None:
    if icon_type is not None and icon_type not in ICON_TYPES:
        raise InvalidParamError(f"icon_type must be one of {', '.join(ICON_TYPES)}.", params="icon_type")
    return icon_type


def create(
    session: Session,
    *,
    caller: Caller,
    name: str,
    mode: str,
    description: str = "",
    icon_type: str | None = "emoji",
    icon: str | None = None,
    icon_background: str | None = None,
    model_config: dict[str, Any] | None = None,
) -> App:
    """Create an app of `mode` with its default configuration and web-app site."""
    caller.require_editor()
    if mode not in APP_MODES:
        raise InvalidParamError(f"mode must be one of {', '.join(APP_MODES)}.", params="mode")
    app = App(
        tenant_id=caller.tenant_id,
        name=_check_name(name),
        mode=mode,
        description=description or "",
        icon_type=_check_icon_type(icon_type),
        icon=icon or "🤖",
        icon_background=icon_background or "#FFEAD5",
        created_by=caller.account_id,
        updated_by=caller.account_id,
        tags=[],
    )
    session.add(app)
    session.flush()
    if mode not in ("workflow", "advanced-chat"):
        config = AppModelConfig(
            app_id=app.id,
            config=model_config if model_config is not None else default_model_config(mode),
            created_by=caller.account_id,
        )
        session.add(config)
        session.flush()
        app.app_model_config_id = config.id
    if mode in ("workflow", "advanced-chat"):
        create_default_draft(session, app=app, account_id=caller.account_id)
    session.add(
        Site(
            app_id=app.id,
            code=secrets.token_urlsafe(12)[:16],
            title=app.name,
            description=app.description,
            icon_type=app.icon_type,
            icon=app.icon,
            icon_background=app.icon_background,
        )
    )
    session.flush()
    return app


def get(session: Session, *, caller: Caller, app_id: str) -> App:
    """Read one app of the caller's workspace; another workspace's app is simply not found."""
    caller.require_app_access()
    app = session.scalar(select(App).where(App.id == app_id, App.tenant_id == caller.tenant_id))
    if app is None:
        raise NotFoundError("App not found.")
    return app


def list_page(
    session: Session, *, caller: Caller, page: int, limit: int, name: str | None = None, mode: str | None = None
) -> AppsPage:
    caller.require_app_access()
    if page < 1 or page > 99999:
        raise InvalidParamError("page must be between 1 and 99999.", params="page")
    if limit < 1 or limit > 100:
        raise InvalidParamError("limit must be between 1 and 100.", params="limit")
    query = select(App).where(App.tenant_id == caller.tenant_id)
    if mode and mode != "all":
        if mode not in APP_MODES:
            raise InvalidParamError(f"mode must be one of all, {', '.join(APP_MODES)}.", params="mode")
        query = query.where(App.mode == mode)
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(App.name.ilike(f"%{escaped}%", escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(App.created_at.desc(), App.id).offset((page - 1) * limit).limit(limit)).all()
    return AppsPage(items=list(items), total=total, page=page, limit=limit)


def update(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    name: str,
    description: str | None = None,
    icon_type: str | None = None,
    icon: str | None = None,
    icon_background: str | None = None,
    use_icon_as_answer_icon: bool | None = None,
) -> App:
    caller.require_editor()
    app = get(session, caller=caller, app_id=app_id)
    app.name = _check_name(name)
    if description is not None:
        app.description = description
    if icon_type is not None:
        app.icon_type = _check_icon_type(icon_type)
    if icon is not None:
        app.icon = icon
    if icon_background is not None:
        app.icon_background = icon_background
    if use_icon_as_answer_icon is not None:
        app.use_icon_as_answer_icon = use_icon_as_answer_icon
    app.updated_by = caller.account_id
    return app


def set_flags(
    session: Session, *, caller: Caller, app_id: str, enable_site: bool | None = None, enable_api: bool | None = None
) -> App:
    caller.require_editor()
    app = get(session, caller=caller, app_id=app_id)
    if enable_site is not None:
        app.enable_site = enable_site
    if enable_api is not None:
        app.enable_api = enable_api
    return app


def model_config(session: Session, *, app: App) -> dict[str, Any] | None:
    if app.app_model_config_id is None:
        return None
    row = session.get(AppModelConfig, app.app_model_config_id)
    return dict(row.config) if row is not None else None


def copy(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    name: str | None = None,
    description: str | None = None,
    icon_type: str | None = None,
    icon: str | None = None,
    icon_background: str | None = None,
) -> App:
    """Duplicate an app with its configuration (not its keys, logs or conversations)."""
    source = get(session, caller=caller, app_id=app_id)
    return create(
        session,
        caller=caller,
        name=name or f"{source.name} (copy)",
        mode=source.mode,
        description=source.description if description is None else description,
        icon_type=icon_type or source.icon_type,
        icon=icon or source.icon,
        icon_background=icon_background or source.icon_background,
        model_config=model_config(session, app=source),
    )


def remove(session: Session, *, caller: Caller, app_id: str) -> None:
    caller.require_editor()
    app = get(session, caller=caller, app_id=app_id)
    for table in (ApiToken, EndUser, Site, AppModelConfig, Workflow):
        session.execute(delete(table).where(table.app_id == app.id))
    session.delete(app)


def site(session: Session, *, app_id: str) -> Site | None:
    return session.scalar(select(Site).where(Site.app_id == app_id))


def save_model_config(session: Session, *, caller: Caller, app_id: str, config: dict[str, Any]) -> AppModelConfig:
    """Store a new version of a chat/completion/agent app's configuration and make it current."""
    caller.require_editor()
    app = get(session, caller=caller, app_id=app_id)
    if app.mode in ("workflow", "advanced-chat"):
        raise InvalidParamError("Workflow apps are configured through their workflow.", params="mode")
    row = AppModelConfig(app_id=app.id, config=validate_model_config(config, app.mode), created_by=caller.account_id)
    session.add(row)
    session.flush()
    app.app_model_config_id = row.id
    app.updated_by = caller.account_id
    return row

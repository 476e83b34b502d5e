"""What an app key can read about its app: index, info, meta, parameters, site."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from loomworks import __version__
from loomworks.api.deps import KeyApp, State
from loomworks.services import apps
from loomworks.services.app_config import normalise_model_config, parameters
from loomworks.services.workflow_parameters import WORKFLOW_MODES, app_parameters
from loomworks.store.tables import Account

router = APIRouter(tags=["service: app"])


@router.get("/")
def index() -> dict[str, Any]:
    return {"welcome": "Loomworks OpenAPI (Dify-compatible)", "api_version": "v1", "server_version": __version__}


@router.get("/info")
def info(app: KeyApp, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        author = session.get(Account, app.created_by) if app.created_by else None
    return {
        "name": app.name,
        "description": app.description,
        "tags": app.tags or [],
        "mode": app.mode,
        "author_name": author.name if author else None,
    }


@router.get("/meta")
def meta(app: KeyApp) -> dict[str, Any]:
    return {"tool_icons": {}}


@router.get("/parameters")
def get_parameters(app: KeyApp, state: State, user: str | None = None) -> dict[str, Any]:
    with state.db.session() as session:
        if app.mode in WORKFLOW_MODES:
            return app_parameters(session, app=app, limits=state.upload_limits)
        config = apps.model_config(session, app=app)
    return parameters(normalise_model_config(config, app.mode), state.upload_limits)


@router.get("/site")
def site(app: KeyApp, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        row = apps.site(session, app_id=app.id)
    if row is None:
        return {}
    return {
        "title": row.title,
        "chat_color_theme": row.chat_color_theme,
        "chat_color_theme_inverted": row.chat_color_theme_inverted,
        "icon_type": row.icon_type,
        "icon": row.icon,
        "icon_background": row.icon_background,
        "icon_url": None,
        "description": row.description,
        "copyright": row.copyright,
        "privacy_policy": row.privacy_policy,
        "custom_disclaimer": row.custom_disclaimer,
        "default_language": row.default_language,
        "show_workflow_steps": row.show_workflow_steps,
        "use_icon_as_answer_icon": row.use_icon_as_answer_icon,
    }

"""Apps in the console: `GET/POST /console/api/apps`, `GET/PUT/DELETE …/{app_id}`, copy, flags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from loomworks.api.deps import CurrentCaller, State, forget_keys
from loomworks.core.clock import to_timestamp
from loomworks.services import apps
from loomworks.store.tables import App, Site

router = APIRouter(prefix="/apps", tags=["console: apps"])


def site_public(site: Site | None, *, base_url: str) -> dict[str, Any] | None:
    if site is None:
        return None
    return {
        "access_token": site.code,
        "code": site.code,
        "title": site.title,
        "icon_type": site.icon_type,
        "icon": site.icon,
        "icon_background": site.icon_background,
        "icon_url": None,
        "description": site.description,
        "default_language": site.default_language,
        "chat_color_theme": site.chat_color_theme,
        "chat_color_theme_inverted": site.chat_color_theme_inverted,
        "customize_domain": None,
        "copyright": site.copyright,
        "privacy_policy": site.privacy_policy,
        "custom_disclaimer": site.custom_disclaimer,
        "customize_token_strategy": "not_allow",
        "prompt_public": False,
        "app_base_url": base_url,
        "show_workflow_steps": site.show_workflow_steps,
        "use_icon_as_answer_icon": site.use_icon_as_answer_icon,
    }


def app_public(
    app: App, *, model_config: dict[str, Any] | None, site: Site | None = None, base_url: str = "", detail: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": app.id,
        "name": app.name,
        "description": app.description,
        "mode": app.mode,
        "icon_type": app.icon_type,
        "icon": app.icon,
        "icon_background": app.icon_background,
        "icon_url": None,
        "enable_site": app.enable_site,
        "enable_api": app.enable_api,
        "model_config": model_config,
        "workflow": {"id": app.workflow_id} if app.workflow_id else None,
        "use_icon_as_answer_icon": app.use_icon_as_answer_icon,
        "max_active_requests": None,
        "tags": app.tags or [],
        "created_by": app.created_by,
        "created_at": to_timestamp(app.created_at),
        "updated_by": app.updated_by,
        "updated_at": to_timestamp(app.updated_at),
    }
    if detail:
        body["site"] = site_public(site, base_url=base_url)
        body["api_base_url"] = f"{base_url}/v1"
        body["deleted_tools"] = []
        body["access_mode"] = "public"
    return body


def _base_url(request: Request, configured: str) -> str:
    return configured or str(request.base_url).rstrip("/")


class AppCreate(BaseModel):
    name: str
    mode: str
    description: str = ""
    icon_type: str | None = "emoji"
    icon: str | None = None
    icon_background: str | None = None


class AppUpdate(BaseModel):
    name: str
    description: str | None = None
    icon_type: str | None = None
    icon: str | None = None
    icon_background: str | None = None
    use_icon_as_answer_icon: bool | None = None


class AppCopy(BaseModel):
    name: str | None = None
    description: str | None = None
    icon_type: str | None = None
    icon: str | None = None
    icon_background: str | None = None


@router.get("")
def list_apps(
    caller: CurrentCaller,
    state: State,
    page: int = Query(1),
    limit: int = Query(20),
    mode: str = Query("all"),
    name: str | None = Query(None),
) -> dict[str, Any]:
    with state.db.session() as session:
        result = apps.list_page(session, caller=caller, page=page, limit=limit, name=name, mode=mode)
        data = [app_public(app, model_config=apps.model_config(session, app=app), detail=False) for app in result.items]
    return {
        "page": result.page,
        "limit": result.limit,
        "total": result.total,
        "has_more": result.has_more,
        "data": data,
    }


def _detail(session: Any, app: App, request: Request, state: State) -> dict[str, Any]:
    return app_public(
        app,
        model_config=apps.model_config(session, app=app),
        site=apps.site(session, app_id=app.id),
        base_url=_base_url(request, state.settings.service_api_url),
        detail=True,
    )


@router.post("", status_code=201)
def create_app(body: AppCreate, request: Request, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        app = apps.create(
            session,
            caller=caller,
            name=body.name,
            mode=body.mode,
            description=body.description,
            icon_type=body.icon_type,
            icon=body.icon,
            icon_background=body.icon_background,
        )
        return _detail(session, app, request, state)


@router.get("/{app_id}")
def get_app(app_id: str, request: Request, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return _detail(session, apps.get(session, caller=caller, app_id=app_id), request, state)


@router.put("/{app_id}")
def update_app(app_id: str, body: AppUpdate, request: Request, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        app = apps.update(session, caller=caller, app_id=app_id, **body.model_dump())
        session.flush()
    forget_keys(state)
    with state.db.session() as session:
        app = apps.get(session, caller=caller, app_id=app_id)
        return _detail(session, app, request, state)


@router.delete("/{app_id}", status_code=204)
def delete_app(app_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        apps.remove(session, caller=caller, app_id=app_id)
    forget_keys(state)
    return Response(status_code=204)


@router.post("/{app_id}/copy", status_code=201)
def copy_app(app_id: str, body: AppCopy, request: Request, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        app = apps.copy(session, caller=caller, app_id=app_id, **body.model_dump())
        return _detail(session, app, request, state)


class SiteEnable(BaseModel):
    enable_site: bool


class ApiEnable(BaseModel):
    enable_api: bool


@router.post("/{app_id}/site-enable")
def site_enable(app_id: str, body: SiteEnable, request: Request, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        app = apps.set_flags(session, caller=caller, app_id=app_id, enable_site=body.enable_site)
        result = _detail(session, app, request, state)
    forget_keys(state)
    return result


@router.post("/{app_id}/api-enable")
def api_enable(app_id: str, body: ApiEnable, request: Request, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        app = apps.set_flags(session, caller=caller, app_id=app_id, enable_api=body.enable_api)
        result = _detail(session, app, request, state)
    forget_keys(state)
    return result

"""DSL import/export in the console (Dify's paths)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from loomworks.api.deps import CurrentCaller, State
from loomworks.api.responses import JsonResponse
from loomworks.core.ssrf import OutboundRequestError
from loomworks.services import dsl

router = APIRouter(tags=["console: dsl"])


class ImportBody(BaseModel):
    mode: Literal["yaml-content", "yaml-url"]
    yaml_content: str | None = None
    yaml_url: str | None = None
    name: str | None = None
    description: str | None = None
    icon_type: str | None = None
    icon: str | None = None
    icon_background: str | None = None
    app_id: str | None = None


def _status_code(result: dsl.ImportResult) -> int:
    return {"failed": 400, "pending": 202}.get(result.status, 200)


@router.post("/apps/imports")
async def import_app(body: ImportBody, caller: CurrentCaller, state: State) -> JsonResponse:
    if body.mode == "yaml-url":
        fetch = state.extras.get("fetch_url")
        if not body.yaml_url:
            content = None
        elif fetch is None:
            return JsonResponse(
                dsl.ImportResult(
                    id="", status="failed", error="Import from a URL is not available on this server."
                ).public(),
                status_code=400,
            )
        else:
            try:
                content = await fetch(body.yaml_url, dsl.MAX_DSL_BYTES)
            except OutboundRequestError as exc:
                # Dify answers a URL it cannot fetch with a failed import, not an error object.
                failed = dsl.ImportResult(id="", status="failed", error=f"Error fetching YAML from URL: {exc.message}")
                return JsonResponse(failed.public(), status_code=400)
    else:
        content = body.yaml_content
    overrides: dict[str, Any] = body.model_dump(exclude={"mode", "yaml_content", "yaml_url"})
    with state.db.session() as session:
        result = dsl.import_dsl(
            session,
            caller=caller,
            content=content or "",
            overrides=overrides,
            tool_providers=state.extras.get("tool_providers", set()),
            keyring=state.keyring,
        )
    return JsonResponse(result.public(), status_code=_status_code(result))


@router.post("/apps/imports/{import_id}/confirm")
def confirm(import_id: str, caller: CurrentCaller, state: State) -> JsonResponse:
    with state.db.session() as session:
        result = dsl.confirm(
            session,
            caller=caller,
            import_id=import_id,
            tool_providers=state.extras.get("tool_providers", set()),
            keyring=state.keyring,
        )
    return JsonResponse(result.public(), status_code=_status_code(result))


@router.get("/apps/{app_id}/export")
def export(
    app_id: str, caller: CurrentCaller, state: State, include_secret: bool = False, workflow_id: str | None = None
) -> dict[str, str]:
    with state.db.session() as session:
        return {
            "data": dsl.export(
                session,
                caller=caller,
                app_id=app_id,
                include_secret=include_secret,
                workflow_id=workflow_id,
                keyring=state.keyring,
            )
        }

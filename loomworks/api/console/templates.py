"""`GET /console/api/app-templates`: the template gallery we ship (Dify DSL files under `loomworks/templates`).

Creating an app from a template is an ordinary DSL import: the console fetches one template's YAML and
posts it to `POST /console/api/apps/imports` with `mode: yaml-content`.
"""

from functools import cache
from importlib import resources
from typing import Any

import yaml
from fastapi import APIRouter

from loomworks.api.deps import CurrentCaller
from loomworks.core.errors import NotFoundError

router = APIRouter(tags=["console: apps"])


@cache
def _templates() -> dict[str, dict[str, Any]]:
    # Read once: the files are part of the installed package and do not change while we run.
    found: dict[str, dict[str, Any]] = {}
    folder = resources.files("loomworks").joinpath("templates")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yml"):
            continue
        content = entry.read_text(encoding="utf-8")
        app = (yaml.safe_load(content) or {}).get("app") or {}
        template_id = entry.name.removesuffix(".yml")
        found[template_id] = {
            "id": template_id,
            "name": app.get("name", template_id),
            "description": app.get("description", ""),
            "mode": app.get("mode"),
            "icon": app.get("icon"),
            "icon_background": app.get("icon_background"),
            "yaml_content": content,
        }
    return found


def _summary(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template.items() if k != "yaml_content"}


@router.get("/app-templates")
async def list_templates(caller: CurrentCaller) -> dict[str, list[dict[str, Any]]]:
    """The shipped templates: id, name, description, mode and icon of each."""
    return {"data": [_summary(t) for t in _templates().values()]}


@router.get("/app-templates/{template_id}")
async def get_template(template_id: str, caller: CurrentCaller) -> dict[str, Any]:
    """One template with its DSL (`yaml_content`), ready to post to `/apps/imports`."""
    template = _templates().get(template_id)
    if template is None:
        raise NotFoundError("Template not found.")
    return template

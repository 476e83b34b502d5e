"""`GET /v1/parameters` (and the web app's `/api/parameters`) for workflow and chatflow apps.

Dify answers these from the published workflow: its `features` and the Start node's variables,
each turned into a one-key `user_input_form` item (`{"text-input": {...the variable...}}`, the
"old structure" of app `model_config`). An app that has never been published is unavailable.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from loomworks.core.errors import AppUnavailableError
from loomworks.services.app_config import UploadLimits, parameters
from loomworks.store.tables import App, Workflow

WORKFLOW_MODES = ("workflow", "advanced-chat")
# Dify's default when a workflow's features say nothing about uploads.
DEFAULT_FILE_UPLOAD = {
    "image": {"enabled": False, "number_limits": 3, "detail": "high", "transfer_methods": ["remote_url", "local_file"]}
}


def user_input_form(graph: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The Start node's variables in `user_input_form` form: `[{type: variable}, ...]`."""
    for node in (graph or {}).get("nodes") or []:
        data = node.get("data") if isinstance(node, dict) else None
        if isinstance(data, dict) and data.get("type") == "start":
            form = []
            for variable in data.get("variables") or []:
                if isinstance(variable, dict) and variable.get("variable"):
                    item = copy.deepcopy(variable)
                    item.setdefault("required", False)
                    item.setdefault("label", item["variable"])
                    form.append({str(item.get("type") or "text-input"): item})
            return form
    return []


def workflow_parameters(workflow: Workflow, limits: UploadLimits) -> dict[str, Any]:
    """The parameters answer of one workflow version (features + Start variables)."""
    features = workflow.features if isinstance(workflow.features, dict) else {}
    config = {**copy.deepcopy(features), "user_input_form": user_input_form(workflow.graph)}
    answer = parameters(config, limits)
    if not features.get("file_upload"):
        answer["file_upload"] = copy.deepcopy(DEFAULT_FILE_UPLOAD)
    return answer


def app_parameters(session: Session, *, app: App, limits: UploadLimits) -> dict[str, Any]:
    """The parameters answer of a workflow or chatflow app, from its published workflow.

    Raises:
        AppUnavailableError: the app has no published workflow (Dify's `app_unavailable`, 400).
    """
    # The app may come from the key cache: read which version is published now.
    current = session.get(App, app.id)
    workflow_id = current.workflow_id if current is not None else None
    workflow = session.get(Workflow, workflow_id) if workflow_id else None
    if workflow is None or workflow.app_id != app.id:
        raise AppUnavailableError()
    return workflow_parameters(workflow, limits)

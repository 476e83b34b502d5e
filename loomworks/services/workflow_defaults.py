"""The graph, features and draft a new workflow or chatflow app starts with."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from loomworks.store.tables import App, Workflow

DRAFT = "draft"

DEFAULT_FEATURES: dict[str, Any] = {
    "opening_statement": "",
    "suggested_questions": [],
    "suggested_questions_after_answer": {"enabled": False},
    "text_to_speech": {"enabled": False, "voice": "", "language": ""},
    "speech_to_text": {"enabled": False},
    "retriever_resource": {"enabled": True},
    "sensitive_word_avoidance": {"enabled": False},
    "file_upload": {"image": {"enabled": False, "number_limits": 3, "transfer_methods": ["local_file", "remote_url"]}},
}


def _node(node_id: str, data: dict[str, Any], x: int) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "custom",
        "data": data,
        "position": {"x": x, "y": 282},
        "positionAbsolute": {"x": x, "y": 282},
        "width": 244,
        "height": 90,
        "sourcePosition": "right",
        "targetPosition": "left",
    }


def _edge(source: str, target: str, source_type: str, target_type: str) -> dict[str, Any]:
    return {
        "id": f"{source}-source-{target}-target",
        "type": "custom",
        "source": source,
        "sourceHandle": "source",
        "target": target,
        "targetHandle": "target",
        "data": {"sourceType": source_type, "targetType": target_type, "isInIteration": False},
    }


def default_graph(mode: str) -> dict[str, Any]:
    """The graph a new app starts with: a Start node; chatflows also an LLM and an Answer."""
    start = _node("start", {"type": "start", "title": "Start", "desc": "", "variables": []}, 80)
    if mode == "workflow":
        return {"nodes": [start], "edges": [], "viewport": {"x": 0, "y": 0, "zoom": 1}}
    llm = _node(
        "llm",
        {
            "type": "llm",
            "title": "LLM",
            "desc": "",
            "model": {"provider": "", "name": "", "mode": "chat", "completion_params": {"temperature": 0.7}},
            "prompt_template": [{"role": "system", "text": ""}],
            "memory": {"window": {"enabled": False, "size": 10}, "query_prompt_template": "{{#sys.query#}}"},
            "context": {"enabled": False, "variable_selector": []},
            "vision": {"enabled": False},
            "variables": [],
        },
        380,
    )
    answer = _node(
        "answer", {"type": "answer", "title": "Answer", "desc": "", "answer": "{{#llm.text#}}", "variables": []}, 680
    )
    return {
        "nodes": [start, llm, answer],
        "edges": [_edge("start", "llm", "start", "llm"), _edge("llm", "answer", "llm", "answer")],
        "viewport": {"x": 0, "y": 0, "zoom": 1},
    }


def content_hash(graph: dict[str, Any], features: dict[str, Any]) -> str:
    """Dify's draft hash: a digest of graph and features, used to detect concurrent edits."""
    payload = json.dumps({"graph": graph, "features": features}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def create_default_draft(session: Session, *, app: App, account_id: str | None) -> Workflow:
    graph = default_graph(app.mode)
    features = json.loads(json.dumps(DEFAULT_FEATURES))
    draft = Workflow(
        tenant_id=app.tenant_id,
        app_id=app.id,
        type="workflow" if app.mode == "workflow" else "chat",
        version=DRAFT,
        graph=graph,
        features=features,
        environment_variables=[],
        conversation_variables=[],
        unique_hash=content_hash(graph, features),
        created_by=account_id,
        updated_by=account_id,
    )
    session.add(draft)
    session.flush()
    return draft

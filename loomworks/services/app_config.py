"""An app's `model_config` (Dify's keys and defaults, spec §5) and the `/parameters` view of it."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

_DEFAULTS: dict[str, Any] = {
    "opening_statement": None,
    "suggested_questions": [],
    "suggested_questions_after_answer": {"enabled": False},
    "speech_to_text": {"enabled": False},
    "text_to_speech": {"enabled": False},
    "retriever_resource": {"enabled": True},
    "annotation_reply": {"enabled": False},
    "more_like_this": {"enabled": False},
    "sensitive_word_avoidance": {"enabled": False, "type": "", "config": {}},
    "external_data_tools": [],
    "model": {"provider": "", "name": "", "mode": "chat", "completion_params": {}},
    "user_input_form": [],
    "dataset_query_variable": "",
    "pre_prompt": "",
    "agent_mode": {"enabled": False, "strategy": None, "tools": [], "prompt": None},
    "prompt_type": "simple",
    "chat_prompt_config": {},
    "completion_prompt_config": {},
    "dataset_configs": {"retrieval_model": "multiple"},
    "file_upload": {
        "image": {
            "enabled": False,
            "number_limits": 3,
            "detail": "high",
            "transfer_methods": ["remote_url", "local_file"],
        }
    },
}


def default_model_config(mode: str) -> dict[str, Any]:
    """The configuration a new app of `mode` starts with."""
    config = copy.deepcopy(_DEFAULTS)
    if mode == "completion":
        config["model"]["mode"] = "completion"
        config["user_input_form"] = [
            {"paragraph": {"label": "Query", "variable": "query", "required": True, "default": "", "max_length": 0}}
        ]
        config["dataset_query_variable"] = "query"
        config["pre_prompt"] = "{{query}}"
    if mode == "agent-chat":
        config["agent_mode"] = {"enabled": True, "strategy": "function_call", "max_iteration": 5, "tools": []}
    return config


def normalise_model_config(config: dict[str, Any] | None, mode: str) -> dict[str, Any]:
    """Fill every key a client may rely on, keeping whatever the stored config has (unknown keys too)."""
    merged = default_model_config(mode)
    for key, value in (config or {}).items():
        merged[key] = value
    return merged


@dataclass(frozen=True, slots=True)
class UploadLimits:
    file_size_limit: int = 15
    image_file_size_limit: int = 10
    audio_file_size_limit: int = 50
    video_file_size_limit: int = 100
    workflow_file_upload_limit: int = 10


def parameters(config: dict[str, Any], limits: UploadLimits) -> dict[str, Any]:
    """The `GET /v1/parameters` answer for an app whose `model_config` is `config` (spec §1.6)."""
    return {
        "opening_statement": config.get("opening_statement") or "",
        "suggested_questions": config.get("suggested_questions") or [],
        "suggested_questions_after_answer": config.get("suggested_questions_after_answer") or {"enabled": False},
        "speech_to_text": config.get("speech_to_text") or {"enabled": False},
        "text_to_speech": config.get("text_to_speech") or {"enabled": False},
        "retriever_resource": config.get("retriever_resource") or {"enabled": False},
        "annotation_reply": config.get("annotation_reply") or {"enabled": False},
        "more_like_this": config.get("more_like_this") or {"enabled": False},
        "user_input_form": config.get("user_input_form") or [],
        "sensitive_word_avoidance": config.get("sensitive_word_avoidance")
        or {"enabled": False, "type": "", "configs": []},
        "file_upload": config.get("file_upload") or {},
        "system_parameters": {
            "file_size_limit": limits.file_size_limit,
            "image_file_size_limit": limits.image_file_size_limit,
            "audio_file_size_limit": limits.audio_file_size_limit,
            "video_file_size_limit": limits.video_file_size_limit,
            "workflow_file_upload_limit": limits.workflow_file_upload_limit,
        },
    }

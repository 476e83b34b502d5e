"""An app's `model_config` (Dify's keys and defaults, spec §5) and the `/parameters` view of it."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from loomworks.core.errors import InvalidParamError

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


_FORM_KINDS = (
    "text-input",
    "paragraph",
    "select",
    "number",
    "file",
    "file-list",
    "external_data_tool",
    "checkbox",
    "json_object",
)
_VARIABLE_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,29}$")


def _fail(field: str, message: str) -> NoReturn:
    raise InvalidParamError(message, params=field)


def validate_model_config(config: Any, mode: str) -> dict[str, Any]:
    """Check a `model_config` sent by the console (Dify's rules, the parts a runtime relies on)."""
    if not isinstance(config, dict):
        _fail("model_config", "model_config must be an object.")
    model = config.get("model")
    if (
        not isinstance(model, dict)
        or not isinstance(model.get("provider"), str)
        or not isinstance(model.get("name"), str)
    ):
        _fail("model", "model.provider and model.name are required.")
    if model.get("mode", "chat") not in ("chat", "completion"):
        _fail("model.mode", "model.mode must be chat or completion.")
    if not isinstance(model.get("completion_params", {}), dict):
        _fail("model.completion_params", "model.completion_params must be an object.")
    if config.get("prompt_type", "simple") not in ("simple", "advanced"):
        _fail("prompt_type", "prompt_type must be simple or advanced.")
    if not isinstance(config.get("pre_prompt") or "", str):
        _fail("pre_prompt", "pre_prompt must be a string.")
    seen = _validate_form(config.get("user_input_form") or [])
    for key in (
        "suggested_questions_after_answer",
        "speech_to_text",
        "text_to_speech",
        "retriever_resource",
        "more_like_this",
        "sensitive_word_avoidance",
        "annotation_reply",
    ):
        value = config.get(key)
        if value is not None and not isinstance(value, dict):
            _fail(key, f"{key} must be an object.")
    if mode == "completion" and config.get("dataset_query_variable") and config["dataset_query_variable"] not in seen:
        _fail("dataset_query_variable", "dataset_query_variable must name one of the input variables.")
    return normalise_model_config(config, mode)


def _validate_form(form: Any) -> set[str]:
    seen: set[str] = set()
    if not isinstance(form, list):
        _fail("user_input_form", "user_input_form must be a list.")
    for item in form:
        if not isinstance(item, dict) or len(item) != 1:
            _fail("user_input_form", "each user_input_form item must be an object with one key.")
        kind, spec = next(iter(item.items()))
        if kind not in _FORM_KINDS:
            _fail("user_input_form", f"user_input_form type must be one of {', '.join(_FORM_KINDS)}.")
        variable = spec.get("variable") if isinstance(spec, dict) else None
        if not isinstance(variable, str) or not _VARIABLE_NAME.match(variable):
            _fail("user_input_form", f"invalid variable name: {variable!r}.")
        if variable in seen:
            _fail("user_input_form", f"variable {variable} is declared twice.")
        seen.add(variable)
        if kind == "select" and not isinstance(spec.get("options", []), list):
            _fail("user_input_form", f"options of {variable} must be a list.")
    return seen

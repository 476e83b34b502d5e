"""The provider registry: every provider and predefined model, read once from Dify-layout YAML.

`catalog/<provider>/provider.yaml` describes a provider (Dify's keys, plus ours: `wire`, the wire
format its adapter speaks, and `base_url`, its default endpoint); `catalog/<provider>/models/<type>/*.yaml`
its predefined models. `use_template` parameter rules are expanded with Dify's templates, so a
client always gets complete rules. Built-in and added providers go through the same loader.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from loomworks.core.errors import NotFoundError
from loomworks.providers.base import ModelInfo

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"

TEMPLATES: dict[str, dict[str, Any]] = {
    "temperature": {
        "label": {"en_US": "Temperature", "zh_Hans": "温度"},
        "type": "float",
        "default": 0.0,
        "min": 0.0,
        "max": 1.0,
        "precision": 2,
        "required": False,
        "help": {"en_US": "Higher values make the output more random.", "zh_Hans": "值越大，输出越随机。"},
    },
    "top_p": {
        "label": {"en_US": "Top P", "zh_Hans": "Top P"},
        "type": "float",
        "default": 1.0,
        "min": 0.0,
        "max": 1.0,
        "precision": 2,
        "required": False,
        "help": {
            "en_US": "Nucleus sampling: only the most likely tokens up to this probability mass.",
            "zh_Hans": "核采样。",
        },
    },
    "top_k": {
        "label": {"en_US": "Top K", "zh_Hans": "Top K"},
        "type": "int",
        "default": 50,
        "min": 1,
        "max": 100,
        "required": False,
        "help": {"en_US": "Sample from the K most likely tokens.", "zh_Hans": "取样数量。"},
    },
    "presence_penalty": {
        "label": {"en_US": "Presence Penalty", "zh_Hans": "存在惩罚"},
        "type": "float",
        "default": 0.0,
        "min": 0.0,
        "max": 1.0,
        "precision": 2,
        "required": False,
        "help": {"en_US": "Penalise tokens that already appeared.", "zh_Hans": "惩罚已出现的词。"},
    },
    "frequency_penalty": {
        "label": {"en_US": "Frequency Penalty", "zh_Hans": "频率惩罚"},
        "type": "float",
        "default": 0.0,
        "min": 0.0,
        "max": 1.0,
        "precision": 2,
        "required": False,
        "help": {"en_US": "Penalise frequent tokens.", "zh_Hans": "惩罚频繁出现的词。"},
    },
    "max_tokens": {
        "label": {"en_US": "Max Tokens", "zh_Hans": "最大标记"},
        "type": "int",
        "default": 64,
        "min": 1,
        "max": 2048,
        "precision": 0,
        "required": False,
        "help": {"en_US": "The longest answer, in tokens.", "zh_Hans": "回答的最大长度。"},
    },
    "response_format": {
        "label": {"en_US": "Response Format", "zh_Hans": "回复格式"},
        "type": "string",
        "required": False,
        "options": ["text", "json_object", "json_schema"],
        "help": {"en_US": "The format of the answer.", "zh_Hans": "回复的格式。"},
    },
    "json_schema": {
        "label": {"en_US": "JSON Schema", "zh_Hans": "JSON Schema"},
        "type": "text",
        "required": False,
        "help": {"en_US": "The schema a json_schema answer follows.", "zh_Hans": "回复遵循的 JSON Schema。"},
    },
}


def expand_rule(rule: dict[str, Any]) -> dict[str, Any]:
    template = rule.get("use_template")
    if template not in TEMPLATES:
        return dict(rule)
    return {
        **copy.deepcopy(TEMPLATES[template]),
        **{k: v for k, v in rule.items() if k != "use_template"},
        "name": rule.get("name", template),
    }


@functools.cache
def catalogue(root: Path = CATALOG_DIR) -> dict[str, dict[str, Any]]:
    """Every provider with its models, by provider name (read once per process)."""
    providers: dict[str, dict[str, Any]] = {}
    if not root.is_dir():
        return providers
    order = yaml.safe_load((root / "_position.yaml").read_text()) if (root / "_position.yaml").exists() else []
    folders = sorted(
        (p for p in root.iterdir() if (p / "provider.yaml").exists()),
        key=lambda p: (order.index(p.name) if p.name in order else len(order), p.name),
    )
    for folder in folders:
        spec = yaml.safe_load((folder / "provider.yaml").read_text())
        models = []
        for path in sorted((folder / "models").rglob("*.yaml")):
            if path.name != "_position.yaml":
                model = yaml.safe_load(path.read_text())
                model["fetch_from"] = "predefined-model"
                model["parameter_rules"] = [expand_rule(r) for r in model.get("parameter_rules") or []]
                models.append(model)
        spec["models"] = models
        providers[spec["provider"]] = spec
    return providers


def get_provider(name: str) -> dict[str, Any]:
    spec = catalogue().get(name.rsplit("/", 1)[-1])
    if spec is None:
        raise NotFoundError(f"Provider {name} does not exist.")
    return spec


def provider_form(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list((spec.get("provider_credential_schema") or {}).get("credential_form_schemas") or [])


def model_form(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list((spec.get("model_credential_schema") or {}).get("credential_form_schemas") or [])


def find_model(spec: dict[str, Any], model: str, model_type: str = "llm") -> dict[str, Any] | None:
    for item in spec.get("models") or []:
        if item["model"] == model and item["model_type"] == model_type:
            return item
    return None


def model_info(
    spec: dict[str, Any], model: str, model_type: str = "llm", custom: dict[str, Any] | None = None
) -> ModelInfo:
    """What the runtime needs of a model: a predefined model's YAML, or a custom model's credentials.

    Custom models (customizable-model) describe themselves through their credential form: Dify's
    `mode`, `context_size`, `max_tokens_to_sample`, `vision_support`, `function_calling_type`.
    """
    found = find_model(spec, model, model_type)
    if found is not None:
        props = found.get("model_properties") or {}
        return ModelInfo(
            provider=spec["provider"],
            model=model,
            model_type=model_type,
            mode=str(props.get("mode") or "chat"),
            context_size=int(props.get("context_size") or 4096),
            features=list(found.get("features") or []),
            properties=dict(props),
            parameter_rules=list(found.get("parameter_rules") or []),
            pricing=found.get("pricing"),
        )
    values = custom or {}
    features = []
    if values.get("vision_support") in ("support", True, "true"):
        features.append("vision")
    if values.get("function_calling_type") in ("function_call", "tool_call"):
        features += ["tool-call", "multi-tool-call"]
    if values.get("stream_function_calling") in ("supported", True, "true"):
        features.append("stream-tool-call")
    max_tokens = _int(values.get("max_tokens_to_sample") or values.get("max_tokens"), 4096)
    rules = [
        expand_rule({"name": "temperature", "use_template": "temperature"}),
        expand_rule({"name": "top_p", "use_template": "top_p"}),
        expand_rule({"name": "presence_penalty", "use_template": "presence_penalty"}),
        expand_rule({"name": "frequency_penalty", "use_template": "frequency_penalty"}),
        expand_rule(
            {"name": "max_tokens", "use_template": "max_tokens", "default": min(512, max_tokens), "max": max_tokens}
        ),
    ]
    return ModelInfo(
        provider=spec["provider"],
        model=model,
        model_type=model_type,
        mode=str(values.get("mode") or "chat"),
        context_size=_int(values.get("context_size"), 4096),
        features=features,
        properties={},
        parameter_rules=rules if model_type == "llm" else [],
        pricing=None,
    )


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default

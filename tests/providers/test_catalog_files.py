"""Every catalogue YAML is a valid Dify provider/model description, and the catalogue is big enough."""

from __future__ import annotations

from pathlib import Path

import yaml

CATALOG = Path(__file__).resolve().parents[2] / "loomworks" / "providers" / "catalog"
MODEL_TYPES = {"llm", "text-embedding", "rerank", "speech2text", "tts", "moderation"}
METHODS = {"predefined-model", "customizable-model", "fetch-from-remote"}
FIELD_TYPES = {"secret-input", "text-input", "select", "radio", "switch"}
TEMPLATES = {
    "temperature",
    "top_p",
    "top_k",
    "presence_penalty",
    "frequency_penalty",
    "max_tokens",
    "response_format",
    "json_schema",
}
WIRES = {
    "openai",
    "openai_compatible",
    "azure_openai",
    "anthropic",
    "gemini",
    "ollama",
    "cohere",
    "jina",
    "huggingface_tei",
    "huggingface_endpoint",
    "local",
}


def _fields(schema: dict) -> list[dict]:
    return list((schema or {}).get("credential_form_schemas") or [])


def test_every_provider_and_model_file() -> None:
    providers = [p for p in sorted(CATALOG.iterdir()) if p.is_dir()]
    predefined = 0
    for folder in providers:
        spec = yaml.safe_load((folder / "provider.yaml").read_text())
        assert spec["provider"] == folder.name
        assert spec["label"]["en_US"]
        assert set(spec["supported_model_types"]) <= MODEL_TYPES, folder.name
        assert spec["configurate_methods"], folder.name
        assert set(spec["configurate_methods"]) <= METHODS, folder.name
        assert spec["wire"] in WIRES, folder.name
        for field in _fields(spec.get("provider_credential_schema")) + _fields(spec.get("model_credential_schema")):
            assert field["type"] in FIELD_TYPES, (folder.name, field)
            assert field["variable"]
            if field["type"] == "select":
                assert field["options"], (folder.name, field["variable"])
        if "customizable-model" in spec["configurate_methods"]:
            assert spec.get("model_credential_schema"), folder.name
        for path in sorted((folder / "models").rglob("*.yaml")):
            if path.name == "_position.yaml":
                continue
            model = yaml.safe_load(path.read_text())
            assert model["model_type"] == path.parent.name, path
            assert model["model_type"] in spec["supported_model_types"], path
            assert "pricing" in model, path
            assert float(model["pricing"]["input"]) >= 0
            if model["model_type"] in ("llm", "text-embedding"):
                assert int(model["model_properties"]["context_size"]) > 0, path
            if model["model_type"] == "llm":
                assert model["model_properties"]["mode"] in ("chat", "completion"), path
                assert isinstance(model["features"], list), path
                assert "output" in model["pricing"], path
                for rule in model["parameter_rules"]:
                    assert rule.get("use_template", "temperature") in TEMPLATES, (path, rule)
            predefined += 1
    assert len(providers) >= 25
    assert predefined >= 150

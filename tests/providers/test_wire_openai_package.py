"""The `openai` wire package: its public names, and that importing it registers both adapters."""

from __future__ import annotations

import loomworks.providers.wire.openai as openai_wire
from loomworks.providers.base import WireAdapter
from loomworks.providers.runtime import load_adapters
from loomworks.providers.wire.azure_openai import AzureOpenAIAdapter
from loomworks.providers.wire.huggingface import HuggingFaceEndpointAdapter


def test_the_export_list_is_pinned() -> None:
    assert sorted(openai_wire.__all__) == [
        "EMBED_BATCH",
        "OpenAIAdapter",
        "OpenAIBase",
        "OpenAICompatibleAdapter",
        "REASONING_PREFIXES",
        "SAMPLING",
        "TIMEOUT",
        "completion_prompt",
        "is_reasoning_model",
        "response_format",
        "vendor_message",
    ]
    for name in openai_wire.__all__:
        assert getattr(openai_wire, name) is not None


def test_the_runtime_finds_every_adapter_of_the_package() -> None:
    adapters = load_adapters()
    assert adapters["openai"] is openai_wire.OpenAIAdapter
    assert adapters["openai_compatible"] is openai_wire.OpenAICompatibleAdapter
    assert adapters["azure_openai"] is AzureOpenAIAdapter
    assert adapters["huggingface_endpoint"] is HuggingFaceEndpointAdapter
    # The mixins the adapters are made of register nothing of their own.
    assert {cls.__name__ for cls in adapters.values()}.isdisjoint(
        {"OpenAIBase", "ChatMixin", "EmbeddingsMixin", "RerankMixin", "AudioMixin", "ModerationMixin", "ModelsMixin"}
    )
    assert WireAdapter.adapters is adapters


def test_each_adapter_keeps_its_model_types() -> None:
    openai_adapter, compatible = openai_wire.OpenAIAdapter, openai_wire.OpenAICompatibleAdapter
    for method in ("stream_llm", "embed", "transcribe", "synthesize", "moderate", "list_models"):
        assert getattr(openai_adapter, method) is not getattr(WireAdapter, method), method
    # Only the compatible servers have `/rerank`; OpenAI's own API answers "not supported".
    assert openai_adapter.rerank is WireAdapter.rerank
    assert compatible.rerank is not WireAdapter.rerank
    assert (openai_adapter.embed_encoding, compatible.embed_encoding) == ("base64", "float")
    assert (openai_adapter.api_key_required, compatible.api_key_required) == (True, False)

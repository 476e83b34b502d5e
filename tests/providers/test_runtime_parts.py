"""The runtime's own parts: parameter rules, prices, offline token counts, credential normalisation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loomworks.core.errors import InvalidParamError
from loomworks.providers import registry, tokens
from loomworks.providers.params import check_parameters
from loomworks.providers.runtime import normalise_credentials
from loomworks.providers.usage import price_usage


def test_parameters_follow_the_models_rules() -> None:
    rules = registry.model_info(registry.get_provider("openai"), "gpt-4o").parameter_rules
    checked = check_parameters(
        rules, {"temperature": "1.7", "max_tokens": 99999, "top_p": 0.123, "unknown": 1, "presence_penalty": None}
    )
    assert checked["temperature"] == 1.0  # clamped to the template's max
    assert checked["max_tokens"] == 16384  # the model's own max
    assert checked["top_p"] == 0.12  # precision 2
    assert "unknown" not in checked
    assert "presence_penalty" not in checked
    with pytest.raises(InvalidParamError) as raised:
        check_parameters(rules, {"response_format": "yaml"})
    assert raised.value.params == "response_format"
    with pytest.raises(InvalidParamError):
        check_parameters(rules, {"temperature": "warm"})
    required = [{"name": "seed", "type": "int", "required": True}]
    with pytest.raises(InvalidParamError):
        check_parameters(required, {})
    assert check_parameters([{**required[0], "default": 3}], {}) == {"seed": 3}


def test_prices_follow_dify_formula() -> None:
    pricing = registry.find_model(registry.get_provider("openai"), "gpt-4o")["pricing"]
    usage = price_usage(pricing, prompt_tokens=1000, completion_tokens=500, latency=1.5, time_to_first_token=0.5)
    assert usage.prompt_price == Decimal("0.0025000")  # 1000 × 2.5 × 0.000001
    assert usage.completion_price == Decimal("0.0050000")
    assert usage.total_price == Decimal("0.0075000")
    assert (usage.total_tokens, usage.currency, usage.time_to_generate) == (1500, "USD", 1.0)
    assert usage.as_dict()["prompt_unit_price"] == "2.5"
    free = price_usage(None, prompt_tokens=10, completion_tokens=10)
    assert free.total_price == 0


def test_token_counts_work_offline() -> None:
    # Known counts for these encodings (tiktoken's own examples).
    assert tokens.count_text("hello world", "cl100k_base") == 2
    assert tokens.count_text("hello world", "o200k_base") == 2
    assert tokens.count_text("tiktoken is great!", "cl100k_base") == 6
    assert tokens.encoding_for("openai", "gpt-4o") == ("o200k_base", False)
    assert tokens.encoding_for("anthropic", "claude-3-5-haiku-20241022") == ("cl100k_base", True)
    messages = [{"role": "user", "content": [{"type": "text", "text": "hello world"}, {"type": "image_url"}]}]
    assert tokens.count_messages(messages) == 3 + 3 + 2 + 85


@pytest.mark.parametrize(
    ("provider", "values", "api_key", "base_url"),
    [
        ("openai", {"openai_api_key": "sk-1"}, "sk-1", "https://api.openai.com/v1"),
        ("openai", {"openai_api_key": "sk-1", "openai_api_base": "http://x/v1/"}, "sk-1", "http://x/v1"),
        ("anthropic", {"anthropic_api_key": "a"}, "a", "https://api.anthropic.com"),
        ("fireworks", {"fireworks_api_key": "f"}, "f", "https://api.fireworks.ai/inference/v1"),
        ("tongyi", {"dashscope_api_key": "d"}, "d", "https://dashscope.aliyuncs.com/compatible-mode/v1"),
        ("deepseek", {"api_key": "k", "endpoint_url": "http://127.0.0.1:1/v1"}, "k", "http://127.0.0.1:1/v1"),
    ],
)
def test_credentials_are_normalised(provider: str, values: dict, api_key: str, base_url: str) -> None:
    spec = registry.get_provider(provider)
    credentials = normalise_credentials(spec, values)
    assert (credentials.api_key, credentials.base_url) == (api_key, base_url)


def test_custom_models_describe_themselves() -> None:
    spec = registry.get_provider("openai_api_compatible")
    info = registry.model_info(
        spec,
        "my-llama",
        custom={"mode": "completion", "context_size": "8192", "vision_support": "support", "max_tokens_to_sample": 100},
    )
    assert (info.mode, info.context_size, "vision" in info.features) == ("completion", 8192, True)
    assert next(r for r in info.parameter_rules if r["name"] == "max_tokens")["max"] == 100

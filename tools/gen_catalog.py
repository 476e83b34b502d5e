"""Write the vendor catalogue (Dify's provider/model YAML layout) under loomworks/providers/catalog/.

Run: .venv/bin/python tools/gen_catalog.py — the YAML it writes is committed; this script is how it
was made and how to refresh it. Prices are the vendors' published list prices per million tokens
(as of late 2026 where known), written with Dify's `unit: '0.000001'`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1] / "loomworks" / "providers" / "catalog"
M = "0.000001"


def secret(variable: str, en: str, zh: str, required: bool = True, placeholder: str = "") -> dict[str, Any]:
    field: dict[str, Any] = {
        "variable": variable,
        "label": {"en_US": en, "zh_Hans": zh},
        "type": "secret-input",
        "required": required,
    }
    if placeholder:
        field["placeholder"] = {"en_US": placeholder, "zh_Hans": placeholder}
    return field


def text(
    variable: str, en: str, zh: str, required: bool = False, default: str | None = None, placeholder: str = ""
) -> dict[str, Any]:
    field: dict[str, Any] = {
        "variable": variable,
        "label": {"en_US": en, "zh_Hans": zh},
        "type": "text-input",
        "required": required,
    }
    if default is not None:
        field["default"] = default
    if placeholder:
        field["placeholder"] = {"en_US": placeholder, "zh_Hans": placeholder}
    return field


def select(
    variable: str, en: str, zh: str, options: list[tuple[str, str]], default: str, required: bool = True
) -> dict[str, Any]:
    return {
        "variable": variable,
        "label": {"en_US": en, "zh_Hans": zh},
        "type": "select",
        "required": required,
        "default": default,
        "options": [{"value": v, "label": {"en_US": label, "zh_Hans": label}} for v, label in options],
    }


API_KEY = [secret("api_key", "API Key", "API 密钥", placeholder="Enter your API Key")]
MODE = select("mode", "Completion mode", "补全模式", [("chat", "Chat"), ("completion", "Completion")], "chat")
CONTEXT = text("context_size", "Model context size", "模型上下文长度", required=True, default="4096")
MAX_TOKENS = text("max_tokens_to_sample", "Upper bound for max tokens", "最大 token 上限", default="4096")
VISION = select(
    "vision_support",
    "Vision support",
    "是否支持 Vision",
    [("support", "Support"), ("no_support", "Not Support")],
    "no_support",
    required=False,
)
FUNCTION_CALL = select(
    "function_calling_type",
    "Function calling",
    "Function calling",
    [("function_call", "Function Call"), ("tool_call", "Tool Call"), ("no_call", "Not Support")],
    "no_call",
    required=False,
)

LLM_RULES = [
    {"name": "temperature", "use_template": "temperature"},
    {"name": "top_p", "use_template": "top_p"},
    {"name": "presence_penalty", "use_template": "presence_penalty"},
    {"name": "frequency_penalty", "use_template": "frequency_penalty"},
    {"name": "max_tokens", "use_template": "max_tokens", "default": 512, "min": 1, "max": 16384},
    {"name": "response_format", "use_template": "response_format"},
]
ANTHROPIC_RULES = [
    {"name": "temperature", "use_template": "temperature"},
    {"name": "top_p", "use_template": "top_p"},
    {
        "name": "top_k",
        "label": {"en_US": "Top k", "zh_Hans": "取样数量"},
        "type": "int",
        "help": {
            "en_US": "Only sample from the top K options for each token.",
            "zh_Hans": "仅从每个后续标记的前 K 个选项中采样。",
        },
        "required": False,
    },
    {"name": "max_tokens", "use_template": "max_tokens", "required": True, "default": 4096, "min": 1, "max": 64000},
]
GEMINI_RULES = [
    {"name": "temperature", "use_template": "temperature"},
    {"name": "top_p", "use_template": "top_p"},
    {"name": "top_k", "label": {"en_US": "Top k", "zh_Hans": "取样数量"}, "type": "int", "required": False},
    {"name": "max_output_tokens", "use_template": "max_tokens", "default": 8192, "min": 1, "max": 65536},
    {"name": "response_format", "use_template": "response_format"},
]

CHAT = ["agent-thought", "tool-call", "multi-tool-call", "stream-tool-call"]
VIS = [*CHAT, "vision"]
STRUCT = [*VIS, "structured-output"]


def llm(
    name: str,
    ctx: int,
    price_in: float,
    price_out: float,
    features: list[str] | None = None,
    *,
    mode: str = "chat",
    currency: str = "USD",
    rules: list[Any] | None = None,
    deprecated: bool = False,
    label: str | None = None,
) -> dict[str, Any]:
    model: dict[str, Any] = {
        "model": name,
        "label": {"en_US": label or name},
        "model_type": "llm",
        "features": features if features is not None else list(CHAT),
        "model_properties": {"mode": mode, "context_size": ctx},
        "parameter_rules": rules or LLM_RULES,
        "pricing": {"input": str(price_in), "output": str(price_out), "unit": M, "currency": currency},
    }
    if deprecated:
        model["deprecated"] = True
    return model


def embedding(name: str, ctx: int, price: float, currency: str = "USD", max_chunks: int = 32) -> dict[str, Any]:
    return {
        "model": name,
        "label": {"en_US": name},
        "model_type": "text-embedding",
        "model_properties": {"context_size": ctx, "max_chunks": max_chunks},
        "pricing": {"input": str(price), "unit": M, "currency": currency},
    }


def rerank(name: str, ctx: int, price: float, currency: str = "USD") -> dict[str, Any]:
    return {
        "model": name,
        "label": {"en_US": name},
        "model_type": "rerank",
        "model_properties": {"context_size": ctx},
        "pricing": {"input": str(price), "unit": M, "currency": currency},
    }


def other(name: str, kind: str, properties: dict[str, Any], price: float, unit: str = "0.001") -> dict[str, Any]:
    return {
        "model": name,
        "label": {"en_US": name},
        "model_type": kind,
        "model_properties": properties,
        "pricing": {"input": str(price), "unit": unit, "currency": "USD"},
    }


def provider(
    name: str,
    label: str,
    zh: str,
    description: str,
    wire: str,
    base_url: str,
    types: list[str],
    methods: list[str],
    creds: list[dict[str, Any]] | None,
    model_creds: list[dict[str, Any]] | None = None,
    help_url: str = "",
    background: str = "#F3F4F6",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "provider": name,
        "label": {"en_US": label, "zh_Hans": zh},
        "description": {"en_US": description, "zh_Hans": description},
        "icon_small": {"en_US": "icon_s_en.svg"},
        "icon_large": {"en_US": "icon_l_en.svg"},
        "background": background,
        "supported_model_types": types,
        "configurate_methods": methods,
        "wire": wire,
        "base_url": base_url,
    }
    if help_url:
        data["help"] = {
            "title": {"en_US": f"Get your {label} credentials", "zh_Hans": f"获取 {label} 凭据"},
            "url": {"en_US": help_url},
        }
    if creds is not None:
        data["provider_credential_schema"] = {"credential_form_schemas": creds}
    if model_creds is not None:
        data["model_credential_schema"] = {
            "model": {
                "label": {"en_US": "Model Name", "zh_Hans": "模型名称"},
                "placeholder": {"en_US": "Enter your model name", "zh_Hans": "输入模型名称"},
            },
            "credential_form_schemas": model_creds,
        }
    return data


CATALOG: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []


def add(spec: dict[str, Any], models: list[dict[str, Any]]) -> None:
    CATALOG.append((spec, models))


OPENAI_CREDS = [
    secret("openai_api_key", "API Key", "API Key", placeholder="sk-..."),
    text("openai_organization", "Organization", "组织 ID"),
    text("openai_api_base", "API Base", "API Base", placeholder="https://api.openai.com"),
]
add(
    provider(
        "openai",
        "OpenAI",
        "OpenAI",
        "GPT, o-series, embedding, speech and moderation models from OpenAI.",
        "openai",
        "https://api.openai.com/v1",
        ["llm", "text-embedding", "speech2text", "tts", "moderation"],
        ["predefined-model", "customizable-model"],
        OPENAI_CREDS,
        [
            secret("openai_api_key", "API Key", "API Key"),
            text("openai_organization", "Organization", "组织 ID"),
            text("openai_api_base", "API Base", "API Base"),
        ],
        "https://platform.openai.com/account/api-keys",
        "#E5E7EB",
    ),
    [
        llm("gpt-5", 400000, 1.25, 10, STRUCT),
        llm("gpt-5-mini", 400000, 0.25, 2, STRUCT),
        llm("gpt-5-nano", 400000, 0.05, 0.4, STRUCT),
        llm("gpt-4.1", 1047576, 2, 8, STRUCT),
        llm("gpt-4.1-mini", 1047576, 0.4, 1.6, STRUCT),
        llm("gpt-4.1-nano", 1047576, 0.1, 0.4, STRUCT),
        llm("gpt-4o", 128000, 2.5, 10, STRUCT),
        llm("gpt-4o-2024-11-20", 128000, 2.5, 10, STRUCT),
        llm("gpt-4o-2024-08-06", 128000, 2.5, 10, STRUCT),
        llm("gpt-4o-mini", 128000, 0.15, 0.6, STRUCT),
        llm("gpt-4o-mini-2024-07-18", 128000, 0.15, 0.6, STRUCT),
        llm("chatgpt-4o-latest", 128000, 5, 15, VIS),
        llm("o4-mini", 200000, 1.1, 4.4, STRUCT),
        llm("o3", 200000, 2, 8, STRUCT),
        llm("o3-mini", 200000, 1.1, 4.4, [*CHAT, "structured-output"]),
        llm("o1", 200000, 15, 60, STRUCT),
        llm("o1-mini", 128000, 1.1, 4.4, ["agent-thought"]),
        llm("o1-preview", 128000, 15, 60, ["agent-thought"], deprecated=True),
        llm("gpt-4-turbo", 128000, 10, 30, VIS),
        llm("gpt-4", 8192, 30, 60, CHAT),
        llm("gpt-4-0613", 8192, 30, 60, CHAT, deprecated=True),
        llm("gpt-3.5-turbo", 16385, 0.5, 1.5, CHAT),
        llm("gpt-3.5-turbo-instruct", 4096, 1.5, 2, [], mode="completion"),
        embedding("text-embedding-3-small", 8191, 0.02),
        embedding("text-embedding-3-large", 8191, 0.13),
        embedding("text-embedding-ada-002", 8191, 0.1),
        other(
            "whisper-1",
            "speech2text",
            {"file_upload_limit": 25, "supported_file_extensions": "flac,mp3,mp4,mpeg,mpga,m4a,ogg,wav,webm"},
            0.1,
            "0.001",
        ),
        other(
            "tts-1",
            "tts",
            {
                "default_voice": "alloy",
                "voices": [
                    {"mode": v, "name": v.title(), "language": ["en-US"]}
                    for v in ("alloy", "echo", "fable", "onyx", "nova", "shimmer")
                ],
                "word_limit": 3500,
                "audio_type": "mp3",
                "max_workers": 5,
            },
            15,
            M,
        ),
        other(
            "tts-1-hd",
            "tts",
            {
                "default_voice": "alloy",
                "voices": [
                    {"mode": v, "name": v.title(), "language": ["en-US"]}
                    for v in ("alloy", "echo", "fable", "onyx", "nova", "shimmer")
                ],
                "word_limit": 3500,
                "audio_type": "mp3",
                "max_workers": 5,
            },
            30,
            M,
        ),
        other("omni-moderation-latest", "moderation", {"max_chunks": 32, "max_characters_per_chunk": 2000}, 0, M),
        other("text-moderation-latest", "moderation", {"max_chunks": 32, "max_characters_per_chunk": 2000}, 0, M),
    ],
)

add(
    provider(
        "azure_openai",
        "Azure OpenAI Service Model",
        "Azure OpenAI Service Model",
        "OpenAI models deployed in your Azure subscription.",
        "azure_openai",
        "",
        ["llm", "text-embedding", "speech2text", "tts"],
        ["customizable-model"],
        None,
        [
            text(
                "openai_api_base",
                "API Endpoint URL",
                "API 域名",
                required=True,
                placeholder="https://<resource>.openai.azure.com/",
            ),
            secret("openai_api_key", "API Key", "API Key"),
            text("openai_api_version", "API Version", "API 版本", required=True, default="2024-10-21"),
            select(
                "base_model_name",
                "Base Model",
                "基础模型",
                [
                    (m, m)
                    for m in (
                        "gpt-4o",
                        "gpt-4o-mini",
                        "gpt-4.1",
                        "gpt-4",
                        "gpt-35-turbo",
                        "text-embedding-3-small",
                        "text-embedding-3-large",
                        "whisper-1",
                        "tts-1",
                    )
                ],
                "gpt-4o",
            ),
        ],
        "https://azure.microsoft.com/products/ai-services/openai-service",
    ),
    [],
)

add(
    provider(
        "anthropic",
        "Anthropic",
        "Anthropic",
        "Claude models from Anthropic.",
        "anthropic",
        "https://api.anthropic.com",
        ["llm"],
        ["predefined-model"],
        [
            secret("anthropic_api_key", "API Key", "API Key"),
            text("anthropic_api_url", "API URL", "API URL", placeholder="https://api.anthropic.com"),
        ],
        help_url="https://console.anthropic.com/account/keys",
        background="#F0F0EB",
    ),
    [
        llm(n, 200000, i, o, STRUCT if "4" in n or "3-7" in n else VIS, rules=ANTHROPIC_RULES, deprecated=d)
        for n, i, o, d in (
            ("claude-sonnet-4-5-20250929", 3, 15, False),
            ("claude-haiku-4-5-20251001", 1, 5, False),
            ("claude-opus-4-1-20250805", 15, 75, False),
            ("claude-opus-4-20250514", 15, 75, False),
            ("claude-sonnet-4-20250514", 3, 15, False),
            ("claude-3-7-sonnet-20250219", 3, 15, False),
            ("claude-3-5-sonnet-20241022", 3, 15, False),
            ("claude-3-5-haiku-20241022", 0.8, 4, False),
            ("claude-3-opus-20240229", 15, 75, False),
            ("claude-3-haiku-20240307", 0.25, 1.25, False),
            ("claude-3-5-sonnet-20240620", 3, 15, True),
            ("claude-3-sonnet-20240229", 3, 15, True),
            ("claude-2.1", 8, 24, True),
        )
    ],
)

add(
    provider(
        "google",
        "Gemini",
        "Gemini",
        "Gemini models from Google AI Studio.",
        "gemini",
        "https://generativelanguage.googleapis.com",
        ["llm", "text-embedding"],
        ["predefined-model"],
        [secret("google_api_key", "API Key", "API Key")],
        help_url="https://ai.google.dev/",
        background="#FCFDFF",
    ),
    [
        llm("gemini-2.5-pro", 1048576, 1.25, 10, STRUCT, rules=GEMINI_RULES),
        llm("gemini-2.5-flash", 1048576, 0.3, 2.5, STRUCT, rules=GEMINI_RULES),
        llm("gemini-2.5-flash-lite", 1048576, 0.1, 0.4, STRUCT, rules=GEMINI_RULES),
        llm("gemini-2.0-flash", 1048576, 0.1, 0.4, STRUCT, rules=GEMINI_RULES),
        llm("gemini-2.0-flash-lite", 1048576, 0.075, 0.3, VIS, rules=GEMINI_RULES),
        llm("gemini-2.0-flash-thinking-exp", 1048576, 0, 0, ["agent-thought", "vision"], rules=GEMINI_RULES),
        llm("gemini-1.5-pro", 2097152, 1.25, 5, VIS, rules=GEMINI_RULES),
        llm("gemini-1.5-flash", 1048576, 0.075, 0.3, VIS, rules=GEMINI_RULES),
        llm("gemini-1.5-flash-8b", 1048576, 0.0375, 0.15, VIS, rules=GEMINI_RULES),
        embedding("text-embedding-004", 2048, 0),
        embedding("gemini-embedding-001", 2048, 0.15),
    ],
)

OPENAI_LIKE = [secret("api_key", "API Key", "API Key"), text("endpoint_url", "API endpoint URL", "API 端点 URL")]
add(
    provider(
        "deepseek",
        "DeepSeek",
        "深度求索",
        "DeepSeek's chat and reasoning models.",
        "openai_compatible",
        "https://api.deepseek.com/v1",
        ["llm"],
        ["predefined-model"],
        OPENAI_LIKE,
        help_url="https://platform.deepseek.com/api_keys",
    ),
    [
        llm("deepseek-chat", 128000, 0.27, 1.1, [*CHAT, "structured-output"]),
        llm("deepseek-reasoner", 128000, 0.55, 2.19, ["agent-thought"]),
        llm("deepseek-coder", 128000, 0.14, 0.28, CHAT, deprecated=True),
    ],
)
add(
    provider(
        "groq",
        "Groq",
        "Groq",
        "Fast inference of open models on Groq LPUs.",
        "openai_compatible",
        "https://api.groq.com/openai/v1",
        ["llm", "speech2text"],
        ["predefined-model"],
        API_KEY,
        help_url="https://console.groq.com/keys",
    ),
    [
        llm("llama-3.3-70b-versatile", 131072, 0.59, 0.79),
        llm("llama-3.1-8b-instant", 131072, 0.05, 0.08),
        llm("meta-llama/llama-4-scout-17b-16e-instruct", 131072, 0.11, 0.34, VIS),
        llm("gemma2-9b-it", 8192, 0.2, 0.2, []),
        llm("qwen-qwq-32b", 131072, 0.29, 0.39),
        llm("deepseek-r1-distill-llama-70b", 131072, 0.75, 0.99, ["agent-thought"]),
        llm("mixtral-8x7b-32768", 32768, 0.24, 0.24, deprecated=True),
        llm("llama3-70b-8192", 8192, 0.59, 0.79, deprecated=True),
        other(
            "whisper-large-v3",
            "speech2text",
            {"file_upload_limit": 25, "supported_file_extensions": "flac,mp3,mp4,mpeg,mpga,m4a,ogg,wav,webm"},
            0.111,
            "0.001",
        ),
    ],
)
add(
    provider(
        "mistralai",
        "MistralAI",
        "MistralAI",
        "Mistral's open and commercial models.",
        "openai_compatible",
        "https://api.mistral.ai/v1",
        ["llm", "text-embedding"],
        ["predefined-model"],
        API_KEY,
        help_url="https://console.mistral.ai/api-keys/",
    ),
    [
        llm("mistral-large-latest", 131072, 2, 6),
        llm("mistral-medium-latest", 131072, 0.4, 2, VIS),
        llm("mistral-small-latest", 131072, 0.1, 0.3, VIS),
        llm("codestral-latest", 256000, 0.3, 0.9),
        llm("open-mistral-nemo", 131072, 0.15, 0.15),
        llm("pixtral-large-latest", 131072, 2, 6, VIS),
        llm("ministral-8b-latest", 131072, 0.1, 0.1),
        llm("ministral-3b-latest", 131072, 0.04, 0.04),
        llm("open-mixtral-8x22b", 65536, 2, 6),
        llm("magistral-medium-latest", 40000, 2, 5, ["agent-thought"]),
        embedding("mistral-embed", 8192, 0.1),
    ],
)
add(
    provider(
        "togetherai",
        "together.ai",
        "together.ai",
        "Open models served by Together AI.",
        "openai_compatible",
        "https://api.together.xyz/v1",
        ["llm", "text-embedding"],
        ["predefined-model", "customizable-model"],
        API_KEY,
        [secret("api_key", "API Key", "API Key"), MODE, CONTEXT, MAX_TOKENS],
        help_url="https://api.together.xyz/settings/api-keys",
    ),
    [
        llm("meta-llama/Llama-3.3-70B-Instruct-Turbo", 131072, 0.88, 0.88),
        llm("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", 131072, 0.18, 0.18),
        llm("meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo", 130815, 3.5, 3.5),
        llm("Qwen/Qwen2.5-72B-Instruct-Turbo", 32768, 1.2, 1.2),
        llm("deepseek-ai/DeepSeek-V3", 131072, 1.25, 1.25),
        llm("mistralai/Mixtral-8x7B-Instruct-v0.1", 32768, 0.6, 0.6, []),
        embedding("BAAI/bge-large-en-v1.5", 512, 0.02),
    ],
)
add(
    provider(
        "openrouter",
        "OpenRouter",
        "OpenRouter",
        "One API for hundreds of models from many vendors.",
        "openai_compatible",
        "https://openrouter.ai/api/v1",
        ["llm"],
        ["predefined-model", "customizable-model"],
        API_KEY,
        [secret("api_key", "API Key", "API Key"), MODE, CONTEXT, MAX_TOKENS, VISION, FUNCTION_CALL],
        help_url="https://openrouter.ai/keys",
    ),
    [
        llm("openai/gpt-4o", 128000, 2.5, 10, VIS),
        llm("anthropic/claude-3.5-sonnet", 200000, 3, 15, VIS),
        llm("google/gemini-2.0-flash-001", 1048576, 0.1, 0.4, VIS),
        llm("meta-llama/llama-3.3-70b-instruct", 131072, 0.12, 0.3),
        llm("deepseek/deepseek-chat", 163840, 0.38, 0.89),
        llm("mistralai/mistral-large", 128000, 2, 6),
    ],
)
add(
    provider(
        "moonshot",
        "Moonshot AI",
        "月之暗面",
        "Kimi models from Moonshot AI.",
        "openai_compatible",
        "https://api.moonshot.cn/v1",
        ["llm"],
        ["predefined-model", "customizable-model"],
        [
            secret("api_key", "API Key", "API Key"),
            text("endpoint_url", "API Base", "API Base", default="https://api.moonshot.cn"),
        ],
        [secret("api_key", "API Key", "API Key"), CONTEXT, MAX_TOKENS, VISION, FUNCTION_CALL],
        help_url="https://platform.moonshot.cn/console/api-keys",
    ),
    [
        llm("moonshot-v1-8k", 8192, 12, 12, currency="RMB"),
        llm("moonshot-v1-32k", 32768, 24, 24, currency="RMB"),
        llm("moonshot-v1-128k", 131072, 60, 60, currency="RMB"),
        llm("kimi-k2-0711-preview", 131072, 4, 16, currency="RMB"),
    ],
)
add(
    provider(
        "zhipuai",
        "ZHIPU AI",
        "智谱 AI",
        "GLM models from Zhipu AI.",
        "openai_compatible",
        "https://open.bigmodel.cn/api/paas/v4",
        ["llm", "text-embedding"],
        ["predefined-model"],
        API_KEY,
        help_url="https://open.bigmodel.cn/usercenter/apikeys",
    ),
    [
        llm("glm-4-plus", 131072, 5, 5, currency="RMB"),
        llm("glm-4-air", 131072, 0.5, 0.5, currency="RMB"),
        llm("glm-4-flash", 131072, 0, 0, currency="RMB"),
        llm("glm-4-long", 1048576, 1, 1, currency="RMB"),
        llm("glm-4v-plus", 8192, 4, 4, ["vision"], currency="RMB"),
        llm("glm-4.5", 131072, 0.8, 2, currency="RMB"),
        embedding("embedding-3", 8192, 0.5, "RMB"),
    ],
)
add(
    provider(
        "tongyi",
        "TONGYI",
        "通义千问",
        "Qwen models through DashScope's OpenAI-compatible mode.",
        "openai_compatible",
        "https://dashscope.aliyuncs.com/compatible-mode/v1",
        ["llm", "text-embedding"],
        ["predefined-model", "customizable-model"],
        [secret("dashscope_api_key", "API Key", "API Key")],
        [secret("dashscope_api_key", "API Key", "API Key"), CONTEXT, MAX_TOKENS],
        help_url="https://dashscope.console.aliyun.com/api-key_management",
    ),
    [
        llm("qwen-max", 32768, 2.4, 9.6, currency="RMB"),
        llm("qwen-plus", 131072, 0.8, 2, currency="RMB"),
        llm("qwen-turbo", 1000000, 0.3, 0.6, currency="RMB"),
        llm("qwen-long", 10000000, 0.5, 2, currency="RMB"),
        llm("qwen-vl-max", 32768, 3, 9, ["vision"], currency="RMB"),
        llm("qwen2.5-72b-instruct", 131072, 4, 12, currency="RMB"),
        embedding("text-embedding-v3", 8192, 0.5, "RMB", max_chunks=10),
    ],
)
add(
    provider(
        "siliconflow",
        "SiliconFlow",
        "硅基流动",
        "Open models hosted by SiliconFlow.",
        "openai_compatible",
        "https://api.siliconflow.cn/v1",
        ["llm", "text-embedding", "rerank"],
        ["predefined-model", "customizable-model"],
        API_KEY,
        [secret("api_key", "API Key", "API Key"), CONTEXT, MAX_TOKENS],
        help_url="https://cloud.siliconflow.cn/account/ak",
    ),
    [
        llm("deepseek-ai/DeepSeek-V3", 65536, 2, 8, currency="RMB"),
        llm("deepseek-ai/DeepSeek-R1", 65536, 4, 16, ["agent-thought"], currency="RMB"),
        llm("Qwen/Qwen2.5-72B-Instruct", 32768, 4.13, 4.13, currency="RMB"),
        llm("Qwen/Qwen2.5-7B-Instruct", 32768, 0, 0, currency="RMB"),
        llm("THUDM/glm-4-9b-chat", 131072, 0, 0, currency="RMB"),
        embedding("BAAI/bge-m3", 8192, 0, "RMB"),
        rerank("BAAI/bge-reranker-v2-m3", 8192, 0, "RMB"),
    ],
)
add(
    provider(
        "fireworks",
        "Fireworks AI",
        "Fireworks AI",
        "Open models served by Fireworks AI.",
        "openai_compatible",
        "https://api.fireworks.ai/inference/v1",
        ["llm"],
        ["predefined-model"],
        [secret("fireworks_api_key", "API Key", "API Key")],
        help_url="https://fireworks.ai/account/api-keys",
    ),
    [
        llm("accounts/fireworks/models/llama-v3p3-70b-instruct", 131072, 0.9, 0.9),
        llm("accounts/fireworks/models/llama-v3p1-8b-instruct", 131072, 0.2, 0.2),
        llm("accounts/fireworks/models/deepseek-v3", 131072, 0.9, 0.9),
        llm("accounts/fireworks/models/qwen2p5-72b-instruct", 32768, 0.9, 0.9),
        llm("accounts/fireworks/models/mixtral-8x22b-instruct", 65536, 1.2, 1.2),
    ],
)
add(
    provider(
        "perplexity",
        "Perplexity",
        "Perplexity",
        "Search-grounded Sonar models from Perplexity.",
        "openai_compatible",
        "https://api.perplexity.ai",
        ["llm"],
        ["predefined-model"],
        API_KEY,
        help_url="https://www.perplexity.ai/settings/api",
    ),
    [
        llm("sonar", 127072, 1, 1, []),
        llm("sonar-pro", 200000, 3, 15, []),
        llm("sonar-reasoning", 127072, 1, 5, ["agent-thought"]),
        llm("sonar-reasoning-pro", 127072, 2, 8, ["agent-thought"]),
        llm("sonar-deep-research", 127072, 2, 8, ["agent-thought"]),
    ],
)
add(
    provider(
        "x",
        "xAI",
        "xAI",
        "Grok models from xAI.",
        "openai_compatible",
        "https://api.x.ai/v1",
        ["llm"],
        ["predefined-model"],
        [
            secret("api_key", "API Key", "API Key"),
            text("endpoint_url", "API Base", "API Base", default="https://api.x.ai/v1"),
        ],
        help_url="https://console.x.ai/",
    ),
    [
        llm("grok-4", 256000, 3, 15, STRUCT),
        llm("grok-3", 131072, 3, 15),
        llm("grok-3-mini", 131072, 0.3, 0.5),
        llm("grok-2-1212", 131072, 2, 10),
        llm("grok-2-vision-1212", 32768, 2, 10, VIS),
    ],
)
add(
    provider(
        "cohere",
        "Cohere",
        "Cohere",
        "Command models, embeddings and rerankers from Cohere.",
        "cohere",
        "https://api.cohere.com",
        ["llm", "text-embedding", "rerank"],
        ["predefined-model"],
        [secret("api_key", "API Key", "API Key"), text("base_url", "API Base", "API Base")],
        help_url="https://dashboard.cohere.com/api-keys",
    ),
    [
        llm("command-a-03-2025", 256000, 2.5, 10),
        llm("command-r-plus", 128000, 2.5, 10),
        llm("command-r", 128000, 0.15, 0.6),
        llm("command-r7b-12-2024", 128000, 0.0375, 0.15),
        embedding("embed-english-v3.0", 512, 0.1, max_chunks=48),
        embedding("embed-multilingual-v3.0", 512, 0.1, max_chunks=48),
        rerank("rerank-v3.5", 4096, 2),
        rerank("rerank-english-v3.0", 4096, 2),
        rerank("rerank-multilingual-v3.0", 4096, 2),
    ],
)
add(
    provider(
        "jina",
        "Jina AI",
        "Jina AI",
        "Embeddings and rerankers from Jina AI.",
        "jina",
        "https://api.jina.ai/v1",
        ["text-embedding", "rerank"],
        ["predefined-model", "customizable-model"],
        [
            secret("api_key", "API Key", "API Key"),
            text("base_url", "Base URL", "服务器 URL", default="https://api.jina.ai/v1"),
        ],
        [secret("api_key", "API Key", "API Key"), text("base_url", "Base URL", "服务器 URL"), CONTEXT],
        help_url="https://jina.ai/embeddings/",
    ),
    [
        embedding("jina-embeddings-v3", 8192, 0.02, max_chunks=2048),
        embedding("jina-embeddings-v2-base-en", 8192, 0.02),
        embedding("jina-clip-v2", 8192, 0.02),
        rerank("jina-reranker-v2-base-multilingual", 1024, 0.02),
        rerank("jina-reranker-v1-base-en", 8192, 0.02),
    ],
)
add(
    provider(
        "voyage",
        "Voyage AI",
        "Voyage AI",
        "Embeddings and rerankers from Voyage AI.",
        "openai_compatible",
        "https://api.voyageai.com/v1",
        ["text-embedding", "rerank"],
        ["predefined-model"],
        [secret("api_key", "API Key", "API Key")],
        help_url="https://dash.voyageai.com/",
    ),
    [
        embedding("voyage-3", 32000, 0.06, max_chunks=128),
        embedding("voyage-3-lite", 32000, 0.02, max_chunks=128),
        embedding("voyage-3-large", 32000, 0.18, max_chunks=128),
        embedding("voyage-code-3", 32000, 0.18, max_chunks=128),
        rerank("rerank-2", 16000, 0.05),
        rerank("rerank-2-lite", 8000, 0.02),
    ],
)

SELF_HOSTED = [
    (
        "ollama",
        "Ollama",
        "Run open models on your own machine with Ollama.",
        "ollama",
        "http://localhost:11434",
        ["llm", "text-embedding"],
        [
            text("base_url", "Base URL", "基础 URL", required=True, placeholder="http://localhost:11434"),
            MODE,
            CONTEXT,
            text("max_tokens", "Upper bound for max tokens", "最大 token 上限", default="4096"),
            VISION,
            select(
                "function_call_support",
                "Function call support",
                "是否支持函数调用",
                [("true", "Support"), ("false", "Not Support")],
                "false",
                required=False,
            ),
        ],
    ),
    (
        "openai_api_compatible",
        "OpenAI-API-compatible",
        "Any server that speaks OpenAI's API.",
        "openai_compatible",
        "",
        ["llm", "text-embedding", "rerank", "speech2text", "tts"],
        [
            secret("api_key", "API Key", "API Key", required=False),
            text(
                "endpoint_url",
                "API endpoint URL",
                "API endpoint URL",
                required=True,
                placeholder="https://api.openai.com/v1",
            ),
            MODE,
            CONTEXT,
            MAX_TOKENS,
            FUNCTION_CALL,
            select(
                "stream_function_calling",
                "Stream function calling",
                "流式调用",
                [("supported", "Support"), ("not_supported", "Not Support")],
                "not_supported",
                required=False,
            ),
            VISION,
        ],
    ),
    (
        "xinference",
        "Xorbits Inference",
        "Models you deploy with Xinference (each by its model uid).",
        "openai_compatible",
        "",
        ["llm", "text-embedding", "rerank", "speech2text", "tts"],
        [
            text("server_url", "Server url", "服务器URL", required=True, placeholder="http://127.0.0.1:9997"),
            text("model_uid", "Model uid", "模型UID", required=True),
            secret("api_key", "API key", "API密钥", required=False),
        ],
    ),
    (
        "localai",
        "LocalAI",
        "Models served by a LocalAI instance.",
        "openai_compatible",
        "",
        ["llm", "text-embedding", "rerank", "speech2text"],
        [
            text("server_url", "Server url", "服务器URL", required=True, placeholder="http://127.0.0.1:8080"),
            MODE,
            CONTEXT,
        ],
    ),
    (
        "vllm",
        "vLLM",
        "Models served by a vLLM OpenAI-compatible server.",
        "openai_compatible",
        "",
        ["llm", "text-embedding"],
        [
            secret("api_key", "API Key", "API Key", required=False),
            text(
                "endpoint_url",
                "API endpoint URL",
                "API endpoint URL",
                required=True,
                placeholder="http://127.0.0.1:8000/v1",
            ),
            MODE,
            CONTEXT,
            MAX_TOKENS,
            FUNCTION_CALL,
            VISION,
        ],
    ),
    (
        "lmstudio",
        "LM Studio",
        "Models served by LM Studio's local server.",
        "openai_compatible",
        "",
        ["llm", "text-embedding"],
        [
            text(
                "endpoint_url",
                "API endpoint URL",
                "API endpoint URL",
                required=True,
                default="http://127.0.0.1:1234/v1",
            ),
            MODE,
            CONTEXT,
            MAX_TOKENS,
        ],
    ),
    (
        "huggingface_tei",
        "Text Embedding Inference",
        "Embeddings and rerankers from a Hugging Face TEI server.",
        "huggingface_tei",
        "",
        ["text-embedding", "rerank"],
        [
            text("server_url", "Server url", "服务器URL", required=True, placeholder="http://127.0.0.1:8080"),
            secret("api_key", "API Key", "API Key", required=False),
        ],
    ),
    (
        "huggingface_hub",
        "Hugging Face Model",
        "Models on Hugging Face Inference Endpoints.",
        "huggingface_endpoint",
        "",
        ["llm", "text-embedding"],
        [
            select(
                "huggingfacehub_api_type",
                "Endpoint Type",
                "端点类型",
                [("hosted_inference_api", "Hosted Inference API"), ("inference_endpoints", "Inference Endpoints")],
                "inference_endpoints",
            ),
            secret("huggingfacehub_api_token", "API Token", "API Token"),
            text(
                "huggingfacehub_endpoint_url",
                "Endpoint URL",
                "端点 URL",
                placeholder="https://xxx.endpoints.huggingface.cloud",
            ),
        ],
    ),
]
for name, label, description, wire, base, types, creds in SELF_HOSTED:
    add(provider(name, label, label, description, wire, base, types, ["customizable-model"], None, creds), [])

add(
    provider(
        "local",
        "Local models",
        "本地模型",
        "Models that run inside Loomworks itself, with no key and no network.",
        "local",
        "",
        ["text-embedding"],
        ["predefined-model"],
        [],
    ),
    [
        {
            "model": "all-MiniLM-L6-v2",
            "label": {"en_US": "all-MiniLM-L6-v2"},
            "model_type": "text-embedding",
            "model_properties": {"context_size": 256, "max_chunks": 32, "dimensions": 384},
            "pricing": {"input": "0", "unit": M, "currency": "USD"},
        },
    ],
)


def main() -> None:
    if ROOT.exists():
        shutil.rmtree(ROOT)
    for spec, models in CATALOG:
        folder = ROOT / spec["provider"]
        (folder / "models").mkdir(parents=True)
        (folder / "provider.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))
        positions: dict[str, list[str]] = {}
        for model in models:
            kind_dir = folder / "models" / model["model_type"]
            kind_dir.mkdir(exist_ok=True)
            filename = model["model"].replace("/", "--") + ".yaml"
            (kind_dir / filename).write_text(yaml.safe_dump(model, allow_unicode=True, sort_keys=False))
            positions.setdefault(model["model_type"], []).append(model["model"])
        for kind, names in positions.items():
            (folder / "models" / kind / "_position.yaml").write_text(yaml.safe_dump(names, allow_unicode=True))
    (ROOT / "_position.yaml").write_text(yaml.safe_dump([spec["provider"] for spec, _ in CATALOG]))
    total = sum(len(models) for _, models in CATALOG)
    print(f"{len(CATALOG)} providers, {total} predefined models")  # noqa: T201


if __name__ == "__main__":
    main()

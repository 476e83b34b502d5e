"""The OpenAI wire format, and the many vendors that speak it.

`OpenAIAdapter` (wire `openai`) talks to `api.openai.com` (or a proxy set in `openai_api_base`):
chat completions (streamed with `stream_options.include_usage`), legacy completions for
completion-mode models, embeddings, audio transcription and speech, moderation and the model list.

`OpenAICompatibleAdapter` (wire `openai_compatible`) is the same format at any base URL — DeepSeek,
Groq, Mistral, Together, OpenRouter, Moonshot, Zhipu, Qwen's compatible mode, SiliconFlow,
Xinference, LocalAI, vLLM, LM Studio, … — with an optional API key, the common `/rerank` endpoint,
and a credential check that falls back to a one-token chat call when the server has no `/models`.

Vendor quirks live in the provider YAML, not here:
- `url_path` (e.g. `/v1` for Xinference and LocalAI, whose form asks for the bare server URL) is
  appended to the base URL unless it already ends with it, so it works whether or not the runtime
  has applied it;
- a model's `model_properties.max_chunks` bounds an embedding batch (default 2048 inputs);
- a TTS model's `model_properties.default_voice` / `audio_type` set the default voice and format.

Layout: `_base` (addressing, auth headers, checked HTTP calls), one mixin module per model type
(`_chat`, `_embeddings` with rerank, `_audio`, `_moderation`, `_models` with the credential check),
and `_adapters`, which puts them together. Importing this package registers both adapters (the
model runtime imports every wire module); other wire formats subclass them (Azure, Hugging Face).
"""

from loomworks.providers.wire.openai._adapters import OpenAIAdapter, OpenAICompatibleAdapter
from loomworks.providers.wire.openai._base import TIMEOUT, OpenAIBase, vendor_message
from loomworks.providers.wire.openai._chat import (
    REASONING_PREFIXES,
    SAMPLING,
    completion_prompt,
    is_reasoning_model,
    response_format,
)
from loomworks.providers.wire.openai._embeddings import EMBED_BATCH

__all__ = [
    "EMBED_BATCH",
    "REASONING_PREFIXES",
    "SAMPLING",
    "TIMEOUT",
    "OpenAIAdapter",
    "OpenAIBase",
    "OpenAICompatibleAdapter",
    "completion_prompt",
    "is_reasoning_model",
    "response_format",
    "vendor_message",
]

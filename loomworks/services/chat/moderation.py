"""Input and output moderation (`sensitive_word_avoidance`): keyword lists; model and API checks plug in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_PRESET = "Your content violates our usage policy."


@dataclass(frozen=True, slots=True)
class Verdict:
    flagged: bool
    preset_response: str = ""


class KeywordModeration:
    """Flags text containing any configured keyword (case-insensitive), as Dify's `keywords` type."""

    def __init__(self, config: dict[str, Any]) -> None:
        raw = config.get("keywords") or ""
        words = raw.splitlines() if isinstance(raw, str) else list(raw)
        self.keywords = [w.strip().lower() for w in words if w and w.strip()][:100]
        self.inputs = config.get("inputs_config") or {}
        self.outputs = config.get("outputs_config") or {}

    def _check(self, texts: list[str], settings: dict[str, Any]) -> Verdict:
        if not settings.get("enabled") or not self.keywords:
            return Verdict(False)
        lowered = " ".join(texts).lower()
        flagged = any(word in lowered for word in self.keywords)
        return Verdict(flagged, settings.get("preset_response") or DEFAULT_PRESET)

    def check_input(self, query: str, inputs: dict[str, Any]) -> Verdict:
        return self._check([query, *(str(v) for v in inputs.values() if v is not None)], self.inputs)

    def check_output(self, text: str) -> Verdict:
        return self._check([text], self.outputs)


def from_config(sensitive_word_avoidance: dict[str, Any] | None) -> KeywordModeration | None:
    """The moderation an app's config asks for, or None when it is off.

    TODO(#4): `openai_moderation` (through the model runtime) and `api` (an API extension) types.
    """
    settings = sensitive_word_avoidance or {}
    if not settings.get("enabled"):
        return None
    if settings.get("type") == "keywords":
        return KeywordModeration(settings.get("config") or settings.get("configs") or {})
    return None

"""Models that run inside Loomworks itself, with no key and no network (catalogue provider `local`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loomworks.providers.local.minilm import LocalModelUnavailableError, MiniLMEmbedder

__all__ = ["LocalModelUnavailableError", "MiniLMEmbedder"]


def __getattr__(name: str) -> Any:
    # The model module imports numpy (~40 ms, ~15 MB); the runtime registers the `local` wire at
    # start-up, so the model code is loaded only when something first asks for it.
    if name in __all__:
        from loomworks.providers.local import minilm

        return getattr(minilm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

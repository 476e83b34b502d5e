"""Models that run inside Loomworks itself, with no key and no network (catalogue provider `local`)."""

from loomworks.providers.local.minilm import LocalModelUnavailableError, MiniLMEmbedder

__all__ = ["LocalModelUnavailableError", "MiniLMEmbedder"]

"""Built-in tool providers, one module per provider; importing this package registers them all."""

from loomworks.services.tools.builtin import (
    audio,
    clock,
    code,
    dalle,
    http_request,
    jina,
    json_process,
    knowledge,
    maths,
    searxng,
    tavily,
    webscraper,
    wikipedia,
)

__all__ = [
    "audio",
    "clock",
    "code",
    "dalle",
    "http_request",
    "jina",
    "json_process",
    "knowledge",
    "maths",
    "searxng",
    "tavily",
    "webscraper",
    "wikipedia",
]

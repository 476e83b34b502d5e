"""The provider catalogue as the console and the services read it (the registry lives in the model runtime)."""

from loomworks.providers.registry import (
    CATALOG_DIR,
    TEMPLATES,
    catalogue,
    expand_rule,
    find_model,
    get_provider,
    model_form,
    model_info,
    provider_form,
)

__all__ = [
    "CATALOG_DIR",
    "TEMPLATES",
    "catalogue",
    "expand_rule",
    "find_model",
    "get_provider",
    "model_form",
    "model_info",
    "provider_form",
]

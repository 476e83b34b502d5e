"""Wire `local`: the bundled all-MiniLM-L6-v2 embedding model, run in this process (see `providers/local`)."""

from loomworks.providers.local.adapter import LocalAdapter

__all__ = ["LocalAdapter"]

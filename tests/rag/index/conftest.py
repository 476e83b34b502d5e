"""The session's pgvector server (see tests/_pgvector.py)."""

from tests._pgvector import pgvector_server, pgvector_url

__all__ = ["pgvector_server", "pgvector_url"]

"""Embedding texts in batches, with a cache keyed by (provider, model, content hash).

The cache lives in the application database in a table of its own (created on first use, like the
keyword index's tables), so a re-indexed or edited document only pays for the chunks that changed,
and several processes share it in the scaled mode.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import Engine, bindparam, text

# numpy is imported in the two methods that pack vectors, so `serve` starts without it (~80 ms, ~15 MB).

EmbedTexts = Callable[[list[str]], Awaitable[list[list[float]]]]
"""Embeds a batch of texts with one model, returning one vector per text in order."""


def text_hash(content: str) -> str:
    """The cache key of a text: SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(content.encode()).hexdigest()


class EmbeddingCache:
    """Vectors by (provider, model, text hash) in table `rag_embedding_cache` (or `loomworks_rag.embedding_cache`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = "rag_embedding_cache" if engine.dialect.name == "sqlite" else "loomworks_rag.embedding_cache"
        self._ready = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Create the cache table if missing (call outside other transactions)."""
        if self._ready:
            return
        with self._lock:
            blob = "BLOB" if self.engine.dialect.name == "sqlite" else "bytea"
            with self.engine.begin() as conn:
                if self.engine.dialect.name != "sqlite":
                    conn.execute(text("CREATE SCHEMA IF NOT EXISTS loomworks_rag"))
                conn.execute(
                    text(
                        f"CREATE TABLE IF NOT EXISTS {self.table} (provider varchar(255) NOT NULL, "
                        f"model varchar(255) NOT NULL, hash varchar(64) NOT NULL, vector {blob} NOT NULL, "
                        "PRIMARY KEY (provider, model, hash))"
                    )
                )
            self._ready = True

    def get_many(self, provider: str, model: str, hashes: Sequence[str]) -> dict[str, list[float]]:
        """The cached vectors among `hashes`."""
        import numpy as np

        self.ensure()
        found: dict[str, list[float]] = {}
        statement = text(
            f"SELECT hash, vector FROM {self.table} WHERE provider = :p AND model = :m AND hash IN :hashes"
        ).bindparams(bindparam("hashes", expanding=True))
        with self.engine.connect() as conn:
            for start in range(0, len(hashes), 500):
                chunk = list(hashes[start : start + 500])
                for key, blob in conn.execute(statement, {"p": provider, "m": model, "hashes": chunk}):
                    found[str(key)] = np.frombuffer(bytes(blob), dtype=np.float32).tolist()
        return found

    def put_many(self, provider: str, model: str, vectors: dict[str, Sequence[float]]) -> None:
        """Store vectors (existing keys are left as they are)."""
        import numpy as np

        if not vectors:
            return
        self.ensure()
        conflict = "ON CONFLICT (provider, model, hash) DO NOTHING"
        statement = text(f"INSERT INTO {self.table} (provider, model, hash, vector) VALUES (:p, :m, :h, :v) {conflict}")
        rows = [
            {"p": provider, "m": model, "h": key, "v": np.asarray(vector, dtype=np.float32).tobytes()}
            for key, vector in vectors.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(statement, rows)


class BatchedEmbedder:
    """Embeds texts in batches of `batch_size`, asking the model only for texts not in the cache.

    Args:
        embed: the model call for one batch.
        cache: where vectors are kept; None disables caching.
        provider, model: the cache key's model part.
        batch_size: texts per model call.
    """

    def __init__(
        self,
        embed: EmbedTexts,
        *,
        cache: EmbeddingCache | None,
        provider: str,
        model: str,
        batch_size: int = 32,
    ) -> None:
        self.embed = embed
        self.cache = cache
        self.provider = provider
        self.model = model
        self.batch_size = batch_size
        self.model_calls = 0

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order.

        Raises:
            ValueError: the model returned a different number of vectors than texts.
        """
        import asyncio

        keys = [text_hash(t) for t in texts]
        known: dict[str, list[float]] = {}
        if self.cache is not None and keys:
            known = await asyncio.to_thread(self.cache.get_many, self.provider, self.model, sorted(set(keys)))
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        text_of = dict(zip(keys, texts, strict=True))
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            vectors = await self.embed([text_of[k] for k in batch])
            self.model_calls += 1
            if len(vectors) != len(batch):
                raise ValueError(f"the embedding model returned {len(vectors)} vectors for {len(batch)} texts")
            fresh = dict(zip(batch, vectors, strict=True))
            known.update(fresh)
            if self.cache is not None:
                await asyncio.to_thread(self.cache.put_many, self.provider, self.model, fresh)
        return [known[k] for k in keys]

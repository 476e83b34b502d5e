"""Moderation (`/moderations`)."""

from __future__ import annotations

from loomworks.providers.base import Credentials
from loomworks.providers.wire.openai._base import OpenAIBase


class ModerationMixin(OpenAIBase):
    """The `moderation` model type."""

    async def moderate(self, model: str, text: str, credentials: Credentials) -> bool:
        """`/moderations`: true when any piece is flagged.

        Long texts are cut into the model's `max_characters_per_chunk` (default 2000) and sent
        `max_chunks` (default 32) pieces a call, as the YAML describes; the first flag stops early.
        """
        props = self.model_yaml(model, "moderation").get("model_properties") or {}
        size = int(props.get("max_characters_per_chunk") or 2000)
        per_call = int(props.get("max_chunks") or 32)
        pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        url = self.url(credentials, "/moderations", model)
        for start in range(0, len(pieces), per_call):
            batch = pieces[start : start + per_call]
            body = {"model": self.wire_model(model, credentials), "input": batch[0] if len(batch) == 1 else batch}
            data = await self.post_json(url, credentials, body)
            if any(bool(result.get("flagged")) for result in data.get("results") or []):
                return True
        return False

"""Addressing and HTTP plumbing that every OpenAI-format call shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from loomworks.providers.base import Credentials, WireAdapter
from loomworks.providers.errors import (
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    error_for_status,
)
from loomworks.providers.registry import find_model, model_form, provider_form

TIMEOUT = httpx.Timeout(300.0, connect=10.0)


def vendor_message(response: httpx.Response) -> str:
    """The vendor's error text from an (already read) error response."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    for key in ("message", "detail"):
        if isinstance(body, dict) and body.get(key):
            return str(body[key])
    return response.text.strip()[:500]


class OpenAIBase(WireAdapter):
    """Where an OpenAI-format server is, how to authenticate, and one checked call to it.

    The model-type mixins beside this module build on it; `OpenAIAdapter` puts them together.
    """

    api_key_required = True

    # -- addressing -------------------------------------------------------------------------

    def base_url(self, credentials: Credentials) -> str:
        """The API root (ending in `/v1` for OpenAI); raises `InvokeBadRequestError` when there is none."""
        base = credentials.base_url or self._form_url(credentials) or str(self.spec.get("base_url") or "")
        base = base.rstrip("/")
        form = str(credentials.get("openai_api_base") or "").rstrip("/")
        if self.wire == "openai" and form and base == form and not base.endswith("/v1"):
            # Dify's OpenAI form takes `https://host` and the client adds `/v1`.
            base += "/v1"
        url_path = str(self.spec.get("url_path") or "").rstrip("/")
        if url_path and not base.endswith(url_path):
            base += url_path
        if not base:
            raise InvokeBadRequestError(f"[{self.provider}] No API endpoint is configured.")
        return base

    def _form_url(self, credentials: Credentials) -> str:
        for name in ("openai_api_base", "endpoint_url", "server_url", "base_url"):
            if credentials.get(name):
                return str(credentials.get(name))
        return ""

    def url(self, credentials: Credentials, path: str, model: str = "") -> str:  # noqa: ARG002 - Azure needs model
        """The full URL of an endpoint path such as `/chat/completions`."""
        return self.base_url(credentials) + path

    def api_key_field(self) -> str:
        """The credential form field that holds the API key (for `CredentialsValidateFailedError.params`)."""
        for field_spec in provider_form(self.spec) + model_form(self.spec):
            if field_spec.get("type") == "secret-input":
                return str(field_spec["variable"])
        return "api_key"

    def api_key(self, credentials: Credentials) -> str:
        return credentials.api_key or str(credentials.get(self.api_key_field()) or "")

    def headers(self, credentials: Credentials) -> dict[str, str]:
        """Auth headers: `Authorization: Bearer`, plus `OpenAI-Organization` when set."""
        headers: dict[str, str] = {}
        key = self.api_key(credentials)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        elif self.api_key_required:
            raise InvokeAuthorizationError(f"[{self.provider}] The API key is missing.")
        if credentials.get("openai_organization"):
            headers["OpenAI-Organization"] = str(credentials.get("openai_organization"))
        return headers

    def wire_model(self, model: str, credentials: Credentials) -> str:  # noqa: ARG002 - compatible vendors use it
        """The model name the vendor expects in the body."""
        return model

    def model_yaml(self, model: str, model_type: str) -> dict[str, Any]:
        return find_model(self.spec, model, model_type) or {}

    # -- HTTP plumbing -----------------------------------------------------------------------

    def error(self, status: int, message: str) -> InvokeError:
        return error_for_status(status, f"[{self.provider}] {message}")

    async def _check(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        await response.aread()
        raise self.error(response.status_code, vendor_message(response))

    async def request(self, method: str, url: str, credentials: Credentials, **kwargs: Any) -> httpx.Response:
        """One non-streaming call; returns the successful response or raises the unified error."""
        try:
            response = await self.http.request(
                method, url, headers=self.headers(credentials), timeout=TIMEOUT, **kwargs
            )
        except httpx.TransportError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc
        await self._check(response)
        return response

    async def post_json(self, url: str, credentials: Credentials, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.request("POST", url, credentials, json=body)
        try:
            data = response.json()
        except ValueError as exc:
            raise InvokeConnectionError(f"[{self.provider}] The answer is not JSON: {response.text[:200]}") from exc
        if not isinstance(data, dict):
            raise InvokeConnectionError(f"[{self.provider}] Unexpected answer: {response.text[:200]}")
        return data

    @asynccontextmanager
    async def open_stream(
        self, url: str, credentials: Credentials, body: dict[str, Any]
    ) -> AsyncIterator[httpx.Response]:
        """A streaming POST whose status has been checked (errors are raised before the first byte)."""
        try:
            async with self.http.stream(
                "POST", url, json=body, headers=self.headers(credentials), timeout=TIMEOUT
            ) as response:
                await self._check(response)
                yield response
        except httpx.TransportError as exc:
            raise InvokeConnectionError(f"[{self.provider}] Cannot reach {url}: {exc}") from exc

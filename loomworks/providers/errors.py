"""Dify's unified invoke errors and the credential validation error.

Wire adapters translate every vendor failure into one of these, so callers never see an httpx or a
vendor-specific exception. They are `LoomworksError`s: the Service API turns them into Dify's error
JSON (`completion_request_error`, or `rate_limit_error` for rate limits) and a stream into an `error`
event.
"""

from __future__ import annotations

from loomworks.core.errors import LoomworksError


class InvokeError(LoomworksError):
    """A model call failed. `description` is the vendor's message, prefixed with the provider name."""

    code, status, default_message = "completion_request_error", 400, "Completion request failed."
    retryable = False

    @property
    def description(self) -> str:
        return self.message


class InvokeConnectionError(InvokeError):
    """The vendor could not be reached, or the connection broke (also mid-stream)."""

    retryable = True


class InvokeServerUnavailableError(InvokeError):
    """The vendor answered 5xx or is overloaded."""

    retryable = True


class InvokeRateLimitError(InvokeError):
    """The vendor answered 429 (rate limit or quota)."""

    code, status, default_message = "rate_limit_error", 429, "Rate limit exceeded."
    retryable = True


class InvokeAuthorizationError(InvokeError):
    """The vendor refused the credentials (401/403)."""


class InvokeBadRequestError(InvokeError):
    """The vendor refused the request itself (400/404/422): bad parameters, unknown model, context too long."""


class CredentialsValidateFailedError(LoomworksError):
    """Credentials did not work; `params` names the form field at fault when it is known."""

    code, status, default_message = "invalid_param", 400, "Credentials validation failed."


class ModelTypeNotSupportedError(InvokeBadRequestError):
    """The provider's wire format has no such model type (e.g. rerank on Anthropic)."""


def error_for_status(status: int, message: str) -> InvokeError:
    """The unified error for a vendor's HTTP status."""
    if status == 429:
        return InvokeRateLimitError(message)
    if status in (401, 403):
        return InvokeAuthorizationError(message)
    if status >= 500:
        return InvokeServerUnavailableError(message)
    return InvokeBadRequestError(message)

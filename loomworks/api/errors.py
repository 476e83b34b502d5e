"""Dify-style error JSON for every error in every API: `{code, message, status}` (+ `params`)."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from loomworks.api.responses import JsonResponse
from loomworks.core.errors import LoomworksError

log = logging.getLogger("loomworks.api")

INVALID_JSON = "Invalid JSON payload received or JSON payload is empty."
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_entity_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "internal_server_error",
    503: "service_unavailable",
}
_STATUS_MESSAGES = {
    404: "The requested URL was not found on the server. If you entered the URL manually please check your "
    "spelling and try again.",
    405: "The method is not allowed for the requested URL.",
}


def error_body(code: str, message: str, status: int, params: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if params is not None:
        body["params"] = params
    return body


def error_response(code: str, message: str, status: int, params: str | None = None) -> JsonResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else None
    return JsonResponse(error_body(code, message, status, params), status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header", "form", "cookie")]
    return ".".join(parts) if parts else str(loc[-1]) if loc else ""


def _validation_message(error: dict[str, Any], field: str) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return f"{field} is required" if field else "A required field is missing"
    message = re.sub(r"^Value error, ", "", str(error.get("msg", "invalid value")))
    return f"{field}: {message}" if field else message


def _count(request: Request, code: str) -> None:
    state = getattr(request.app.state, "loom", None)
    metrics = state.extras.get("metrics") if state is not None else None
    if metrics is not None:
        metrics.errors.inc(code=code)


async def _on_validation(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    _count(request, "invalid_param")
    errors = list(exc.errors())
    for error in errors:
        if error.get("type") == "json_invalid" or (
            error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",)
        ):
            return error_response("invalid_param", INVALID_JSON, 400)
    first = errors[0] if errors else {}
    field = _field_name(tuple(first.get("loc", ())))
    return error_response("invalid_param", _validation_message(first, field), 400, params=field or None)


async def _on_domain(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, LoomworksError)
    _count(request, exc.code)
    return error_response(exc.code, exc.message, exc.status, exc.params)


async def _on_http(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    _count(request, code)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if detail in (None, "Not Found", "Method Not Allowed"):
        detail = _STATUS_MESSAGES.get(exc.status_code, detail or code.replace("_", " ").capitalize())
    return error_response(code, detail or code, exc.status_code)


async def _on_unexpected(request: Request, exc: Exception) -> JsonResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    _count(request, "internal_server_error")
    return error_response("internal_server_error", "Internal Server Error", 500)


async def _on_value_error(request: Request, exc: Exception) -> JsonResponse:
    _count(request, "invalid_param")
    # Dify turns an uncaught ValueError into 400 invalid_param; keep that contract.
    return error_response("invalid_param", str(exc) or "Invalid parameter.", 400)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error Dify's JSON shape."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(LoomworksError, _on_domain)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ValueError, _on_value_error)
    app.add_exception_handler(Exception, _on_unexpected)

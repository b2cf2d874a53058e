"""One place that maps errors to HTTP: RFC 9457 problem details with a readable ``detail``."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_502_BAD_GATEWAY,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from rag_app.errors import (
    ConfigurationError,
    ForbiddenError,
    InvalidInputError,
    ModelRefusedError,
    ModelThrottledError,
    NotFoundError,
    PayloadTooLargeError,
    RagError,
    UnprocessableDocumentError,
    UnsupportedMediaError,
)
from rag_app.postgres.pool import UNAVAILABLE

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

STATUS_OF: dict[type[RagError], int] = {
    NotFoundError: HTTP_404_NOT_FOUND,
    ForbiddenError: HTTP_403_FORBIDDEN,
    InvalidInputError: HTTP_400_BAD_REQUEST,
    UnsupportedMediaError: HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    PayloadTooLargeError: HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    UnprocessableDocumentError: HTTP_422_UNPROCESSABLE_ENTITY,
    ConfigurationError: HTTP_500_INTERNAL_SERVER_ERROR,
    ModelRefusedError: HTTP_502_BAD_GATEWAY,
    ModelThrottledError: HTTP_503_SERVICE_UNAVAILABLE,
}

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class Problem(msgspec.Struct):
    """The body of every error answer (RFC 9457 problem details)."""

    type: str
    title: str
    status: int
    detail: str
    # Request validation only: each invalid field, where it was and what was wrong.
    errors: list[dict[str, Any]] | dict[str, Any] | None = None


# What any protected handler may answer: invalid input, no credentials, rate limit, a fault,
# the database away.
COMMON_ERRORS = (400, 401, 429, 500, 503)


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI description of a handler's error answers (the common ones and
    ``statuses``), so clients and the schema fuzzer see what is really sent:
    ``application/problem+json`` with a ``Problem``, not Litestar's default error shape."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=TITLES[status],
            generate_examples=False,
        )
        for status in sorted({*COMMON_ERRORS, *statuses})
    }


def problem(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def rag_error_handler(_: Request[Any, Any, Any], exc: RagError) -> Response[dict[str, Any]]:
    status = next(
        (code for cls, code in STATUS_OF.items() if isinstance(exc, cls)),
        HTTP_500_INTERNAL_SERVER_ERROR,
    )
    if isinstance(exc, ModelThrottledError):
        return problem(status, str(exc), headers={"Retry-After": "10"})
    return problem(status, str(exc))


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        return problem(HTTP_400_BAD_REQUEST, exc.detail, errors=exc.extra or [])
    return problem(exc.status_code, exc.detail, headers=exc.headers)


def unavailable_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem(
        HTTP_503_SERVICE_UNAVAILABLE,
        "the database is unavailable; retry shortly",
        headers={"Retry-After": "5"},
    )


def undecodable_text_handler(
    _: Request[Any, Any, Any], exc: UnicodeDecodeError
) -> Response[dict[str, Any]]:
    """Litestar decodes a form field that is not a file as text; bytes that are not UTF-8
    are the client's error, not the server's."""
    return problem(HTTP_400_BAD_REQUEST, f"the request holds text that is not UTF-8: {exc.reason}")


def internal_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; the server log has details")


EXCEPTION_HANDLERS = {
    **dict.fromkeys(UNAVAILABLE, unavailable_handler),
    RagError: rag_error_handler,
    HTTPException: http_error_handler,
    UnicodeDecodeError: undecodable_text_handler,
    Exception: internal_error_handler,
}
__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "Problem", "problem", "problem_responses"]

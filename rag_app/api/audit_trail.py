"""One audit event per API request (``/health/*`` and the OpenAPI schema excepted),
refusals included: the middleware times the request, learns its status and caller, and
hands the event to the audit writer; handlers add what they touched with ``note``.

The event's action is the handler's operation id (``ask``, ``getDocumentContent``, ...)
unless the handler names another (``replaceDocument``). Each response carries its
``X-Request-ID`` (the client's, when it sent a well-formed one).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rag_app.audit.events import (
    AuditEvent,
    QuestionPolicy,
    clean,
    event_id,
    recorded_question,
)
from rag_app.auth.principal import Principal
from rag_app.conversations.records import Turn

# Probes, the OpenAPI document and the web app's shell and assets (HTML, JS, CSS): no data.
NOT_AUDITED = ("/health/", "/schema", "/app/")
PATH_CHARS = 2000
DETAIL_CHARS = 4000
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class AuditNote:
    """What the handler of the current request touched."""

    action: str | None = None
    collections: set[str] = field(default_factory=set)
    documents: set[str] = field(default_factory=set)
    question: str | None = None
    detail: dict[str, str | int | float | bool | None] = field(default_factory=dict)


_current: ContextVar[AuditNote | None] = ContextVar("audit_note", default=None)


def note(
    *,
    action: str | None = None,
    collections: Iterable[str] = (),
    documents: Iterable[str] = (),
    question: str | None = None,
    **detail: str | int | float | bool | None,
) -> None:
    """Add to the current request's audit event (nothing outside a request)."""
    current = _current.get()
    if current is None:
        return
    if action is not None:
        current.action = action
    current.collections.update(collections)
    current.documents.update(documents)
    if question is not None:
        current.question = question
    current.detail.update(detail)


def note_answer(turn: Turn) -> None:
    """The documents an answer cited."""
    note(
        collections={c.collection for c in turn.citations},
        documents={c.citation.document_id for c in turn.citations},
        grounded=turn.grounded,
    )


def _action(scope: Scope) -> str:
    handler = scope.get("route_handler")
    operation = getattr(handler, "operation_id", None)
    if isinstance(operation, str):
        return operation
    return f"{scope.get('method', 'GET')} {scope.get('path_template', scope['path'])}"


def _principal(scope: Scope) -> str:
    user = scope.get("user")
    if isinstance(user, Principal):
        return user.name
    state = scope["app"].state
    if not state.auth_required and state.authenticator is None:
        return "local"
    return "anonymous"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if REQUEST_ID.match(candidate):
                return candidate
    return secrets.token_hex(16)


class AuditMiddleware:
    """ASGI middleware: outermost, so that authentication refusals are recorded too."""

    def __init__(self, app: ASGIApp, questions: QuestionPolicy) -> None:
        self._app = app
        self._questions = questions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"].startswith(NOT_AUDITED):
            await self._app(scope, receive, send)
            return
        request_id = _request_id(scope)
        current = AuditNote()
        token = _current.set(current)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        except HTTPException as e:  # refused outside the handler (authentication)
            status = e.status_code
            e.headers = {**(e.headers or {}), "x-request-id": request_id}
            raise
        finally:
            _current.reset(token)
            self._record(scope, current, request_id, status)

    def _record(self, scope: Scope, current: AuditNote, request_id: str, status: int) -> None:
        services: Any = scope["app"].state.services
        if services is None:  # not started, or stopping: nothing to write to
            return
        at = datetime.now(UTC)
        detail: dict[str, str | int | float | bool | None] = {
            "method": str(scope.get("method", "")),
            "path": clean(scope["path"], PATH_CHARS),
        }
        for name, value in current.detail.items():
            detail[name] = clean(value, DETAIL_CHARS) if isinstance(value, str) else value
        services.audit.record(
            AuditEvent(
                event_id=event_id(at),
                at=at,
                principal=clean(_principal(scope), PATH_CHARS),
                action=current.action or _action(scope),
                collections=tuple(sorted(clean(c, PATH_CHARS) for c in current.collections)),
                documents=tuple(sorted(clean(d, PATH_CHARS) for d in current.documents)),
                request_id=request_id,
                status=status,
                question=recorded_question(current.question, self._questions),
                detail=detail,
            )
        )

"""``GET /audit``: the audit trail, for callers with the ``audit`` grant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from rag_app.api.errors import problem_responses
from rag_app.api.openapi import SECURITY, inline_schema, operation_with
from rag_app.audit.events import AuditQuery
from rag_app.audit.formats import event_values, to_csv
from rag_app.auth.principal import Principal
from rag_app.errors import ForbiddenError, InvalidInputError
from rag_app.services import Services

MAX_EVENTS = 10_000


def _moment(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time with its zone (``2026-12-03T09:00:00Z``)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{name} is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise InvalidInputError(f"{name} needs a time zone (e.g. Z): {value!r}")
    return moment


class AuditEventOut(msgspec.Struct):
    event_id: str
    at: str
    principal: str
    action: str
    status: int
    collections: list[str]
    documents: list[str]
    request_id: str
    question: str | None
    detail: dict[str, str | int | float | bool | None]


class AuditPageOut(msgspec.Struct):
    events: list[AuditEventOut]
    next_after: str | None  # pass as ``after`` for the next page; None: no more


class AuditController(Controller):
    path = "/audit"
    security = SECURITY
    tags = ("audit",)

    @get(
        "/",
        operation_id="queryAudit",
        responses=problem_responses(403),
        operation_class=operation_with(
            200,
            {
                "application/json": {"schema": inline_schema(AuditPageOut)},
                "text/csv": {"schema": {"type": "string", "description": "one event a row"}},
            },
            replace=True,
        ),
    )
    async def query_audit(
        self,
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        since: Annotated[str | None, QueryParameter(max_length=40)] = None,
        until: Annotated[str | None, QueryParameter(max_length=40)] = None,
        principal_name: Annotated[
            str | None, QueryParameter(name="principal", max_length=300)
        ] = None,
        action: Annotated[str | None, QueryParameter(max_length=100)] = None,
        document_id: Annotated[str | None, QueryParameter(max_length=200)] = None,
        after: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_EVENTS)] = 1000,
        format: Annotated[Literal["json", "csv"], QueryParameter()] = "json",
    ) -> Response[AuditPageOut] | Response[str]:
        """Audit events, oldest first: who did what, to which documents, with what outcome.
        Filters: time (``since`` inclusive, ``until`` exclusive, ISO 8601 with a zone),
        ``principal``, ``action``, ``document_id``. JSON pages (``next_after``) or CSV.
        Needs the ``audit`` grant (``rag-app keys create --audit``, or the OIDC group)."""
        if not principal.audit:
            raise ForbiddenError("reading the audit trail needs the audit grant")
        start, end = _moment(since, "since"), _moment(until, "until")
        await services.audit.flush()  # the caller's own recent requests are included
        events = await services.audit.store.query(
            AuditQuery(
                since=start,
                until=end,
                principal=principal_name,
                action=action,
                document_id=document_id,
                after=after,
                limit=limit,
            )
        )
        if format == "csv":
            return Response(to_csv(events), media_type="text/csv; charset=utf-8")
        next_after = events[-1].event_id if len(events) == limit else None
        return Response(
            AuditPageOut(
                [msgspec.convert(event_values(e), AuditEventOut) for e in events], next_after
            )
        )

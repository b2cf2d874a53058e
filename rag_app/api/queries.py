from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage

from rag_app.api.errors import problem_responses
from rag_app.api.schemas import AskIn, AskOut, HitOut, SearchIn, SearchOut
from rag_app.auth.principal import Principal
from rag_app.domain import Answer, AnswerDelta
from rag_app.services import Services

EVENT_STREAM = "text/event-stream"
# A query body holds at most 100,000 characters of text and 34 short filters: well under
# this. Past it the body is refused (413) before it is read whole; the app-wide limit is
# sized for uploads.
MAX_QUERY_BODY_BYTES = 1024 * 1024


async def _events(
    events: AsyncIterator[AnswerDelta | Answer],
) -> AsyncIterator[ServerSentEventMessage]:
    async for event in events:
        if isinstance(event, AnswerDelta):
            payload = msgspec.json.encode({"text": event.text}).decode()
            yield ServerSentEventMessage(event="delta", data=payload)
        else:
            payload = msgspec.json.encode(AskOut.of(event)).decode()
            yield ServerSentEventMessage(event="answer", data=payload)
            yield ServerSentEventMessage(event="done", data="{}")


class QueryController(Controller):
    tags = ("queries",)

    @post(
        "/search",
        operation_id="search",
        status_code=200,
        request_max_body_size=MAX_QUERY_BODY_BYTES,
        responses=problem_responses(413),
    )
    async def search(
        self,
        data: JSONBody[SearchIn],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> SearchOut:
        """Passages that best match the query, best first, with document, page and scores;
        only from the collections the caller may read. ``mode`` picks hybrid (default),
        vector or keyword retrieval."""
        hits = await services.queries.search(
            data.query,
            top_k=data.top_k,
            filters=data.filters,
            collections=principal.readable,
            mode=data.mode,
        )
        return SearchOut(hits=[HitOut.of(h) for h in hits])

    @post(
        "/ask",
        operation_id="ask",
        status_code=200,
        request_max_body_size=MAX_QUERY_BODY_BYTES,
        responses=problem_responses(413),
    )
    async def ask(
        self,
        data: JSONBody[AskIn],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Response[AskOut] | ServerSentEvent:
        """An answer from the indexed documents with page citations whose quotes are checked
        against the cited page; ``grounded: false`` when no passage supports one.

        With ``Accept: text/event-stream`` the answer streams as Server-Sent Events:
        ``delta`` events carry text as it is written, one ``answer`` event carries the whole
        verified answer with its citations (authoritative: markers renumbered, unsupported
        ones removed), then ``done``. A client that disconnects stops the model call.
        """
        if EVENT_STREAM in request.headers.get("accept", ""):
            events = await services.queries.ask_stream(
                data.question,
                top_k=data.top_k,
                filters=data.filters,
                collections=principal.readable,
                mode=data.mode,
            )
            return ServerSentEvent(_events(events))
        answer = await services.queries.ask(
            data.question,
            top_k=data.top_k,
            filters=data.filters,
            collections=principal.readable,
            mode=data.mode,
        )
        return Response(AskOut.of(answer))

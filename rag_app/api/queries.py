from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage

from rag_app.api.audit_trail import note, note_answer
from rag_app.api.errors import problem_responses
from rag_app.api.openapi import ASK_EVENTS_DESCRIPTION, SECURITY, event_stream, operation_with
from rag_app.api.schemas import AskDelta, AskIn, AskOut, Done, HitOut, SearchIn, SearchOut
from rag_app.auth.principal import Principal
from rag_app.conversations.service import PendingTurn
from rag_app.domain import AnswerDelta
from rag_app.services import Services

EVENT_STREAM = "text/event-stream"
# A query body holds at most 100,000 characters of text and 34 short filters: well under
# this. Past it the body is refused (413) before it is read whole; the app-wide limit is
# sized for uploads.
MAX_QUERY_BODY_BYTES = 1024 * 1024


async def _events(pending: PendingTurn) -> AsyncIterator[ServerSentEventMessage]:
    started = {
        "conversation_id": pending.conversation_id,
        "answer_id": pending.answer_id,
        "rewritten_query": pending.rewritten_query,
    }
    yield ServerSentEventMessage(event="start", data=msgspec.json.encode(started).decode())
    async for event in pending.events:
        if isinstance(event, AnswerDelta):
            payload = msgspec.json.encode(AskDelta(event.text)).decode()
            yield ServerSentEventMessage(event="delta", data=payload)
        else:
            note_answer(event)
            payload = msgspec.json.encode(AskOut.of(event)).decode()
            yield ServerSentEventMessage(event="answer", data=payload)
            yield ServerSentEventMessage(event="done", data=msgspec.json.encode(Done()).decode())


ASK_EVENTS = {"delta": AskDelta, "answer": AskOut, "done": Done}


class QueryController(Controller):
    tags = ("queries",)
    security = SECURITY

    @post(
        "/search",
        operation_id="search",
        status_code=200,
        request_max_body_size=MAX_QUERY_BODY_BYTES,
        responses=problem_responses(413, 502),
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
        note(question=data.query)
        hits = await services.queries.search(
            data.query,
            top_k=data.top_k,
            filters=data.filters,
            collections=principal.readable,
            mode=data.mode,
        )
        note(
            collections={h.chunk.collection for h in hits},
            documents={h.chunk.document_id for h in hits},
        )
        return SearchOut(hits=[HitOut.of(h) for h in hits])

    @post(
        "/ask",
        operation_id="ask",
        status_code=200,
        request_max_body_size=MAX_QUERY_BODY_BYTES,
        responses={
            200: ResponseSpec(
                AskOut,
                description="The answer (JSON), or its Server-Sent Events with "
                "Accept: text/event-stream",
                generate_examples=False,
            ),
            **problem_responses(413, 502),
        },
        operation_class=operation_with(200, event_stream(ASK_EVENTS_DESCRIPTION, ASK_EVENTS)),
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

        Every answer belongs to a conversation: give ``conversation_id`` (from an earlier
        answer) to ask a follow-up, which is rewritten into a standalone query with the
        earlier turns in mind before retrieval (``rewritten_query`` says what was searched).

        With ``Accept: text/event-stream`` the answer streams as Server-Sent Events: one
        ``start`` event (``conversation_id``, ``answer_id``, ``rewritten_query``), ``delta``
        events with text as it is written, one ``answer`` event with the whole verified
        answer and its citations (authoritative: markers renumbered, unsupported ones
        removed), then ``done``. A client that disconnects stops the model call, and that
        turn is not stored.
        """
        note(question=data.question)
        pending = await services.conversations.ask(
            principal,
            data.question,
            conversation_id=data.conversation_id,
            top_k=data.top_k,
            filters=data.filters,
            mode=data.mode,
        )
        note(conversation_id=pending.conversation_id, answer_id=pending.answer_id)
        if EVENT_STREAM in request.headers.get("accept", ""):
            return ServerSentEvent(_events(pending))
        turn = await pending.final()
        note_answer(turn)
        return Response(AskOut.of(turn))

"""Conversations and answers: history, follow-ups (``POST /ask`` with a
``conversation_id``), feedback and export. Each belongs to the principal that asked; to
anyone else it does not exist (404)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from rag_app.api.audit_trail import note
from rag_app.api.conversation_schemas import (
    ConversationListOut,
    ConversationOut,
    ConversationSummaryOut,
    FeedbackIn,
    FeedbackOut,
    TurnOut,
)
from rag_app.api.errors import problem_responses
from rag_app.api.openapi import SECURITY, operation_with
from rag_app.auth.principal import Principal
from rag_app.conversations.export import (
    DOCX_MEDIA_TYPE,
    Export,
    export_of,
    to_docx,
    to_markdown,
)
from rag_app.conversations.records import Conversation, Turn
from rag_app.conversations.service import visible_citations
from rag_app.documents import MAX_OFFSET
from rag_app.services import Services

ExportFormat = Literal["md", "docx"]


def note_read(principal: Principal, conversation: Conversation, turns: tuple[Turn, ...]) -> None:
    """The documents a reader was shown: the citations it may still see."""
    shown = [c for t in turns for c in visible_citations(principal, t).citations]
    note(
        collections={c.collection for c in shown},
        documents={c.citation.document_id for c in shown},
        conversation_id=conversation.conversation_id,
    )


# First among the export's declared types: generated clients read bytes for it.
OCTET_STREAM = "application/octet-stream"
EXPORT_OPERATION = operation_with(
    200,
    {
        OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}},
        "text/markdown": {"schema": {"type": "string"}},
        DOCX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
    },
    replace=True,
)


class ConversationController(Controller):
    path = "/conversations"
    security = SECURITY
    tags = ("conversations",)

    @get("/", operation_id="listConversations", responses=problem_responses())
    async def list_conversations(
        self,
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> ConversationListOut:
        """The caller's conversations, the most recently active first, a page at a time."""
        page = await services.conversations.list(principal, limit=limit, offset=offset)
        return ConversationListOut(
            items=[ConversationSummaryOut.of(c) for c in page.items],
            total=page.total,
            limit=limit,
            offset=offset,
        )

    @get(
        "/{conversation_id:str}",
        operation_id="getConversation",
        responses=problem_responses(404),
    )
    async def get_conversation(
        self,
        conversation_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> ConversationOut:
        """The caller's conversation, every turn with its question, the query retrieval
        searched for, the answer, its citations (those to collections the caller can no
        longer read withheld), answer id, feedback and time."""
        note(conversation_id=conversation_id)
        conversation = await services.conversations.owned(principal, conversation_id)
        note_read(principal, conversation, conversation.turns)
        return ConversationOut.of(conversation, principal)

    @delete(
        "/{conversation_id:str}",
        operation_id="deleteConversation",
        status_code=HTTP_204_NO_CONTENT,
        responses=problem_responses(404),
    )
    async def delete_conversation(
        self,
        conversation_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> None:
        """Delete the caller's conversation and its answers (their audit events stay)."""
        note(conversation_id=conversation_id)
        await services.conversations.delete(principal, conversation_id)


def _exported(export: Export, format: ExportFormat, name: str) -> Response[bytes] | Response[str]:
    if format == "docx":
        return Response(
            to_docx(export),
            media_type=DOCX_MEDIA_TYPE,
            headers={"content-disposition": f'attachment; filename="{name}.docx"'},
        )
    return Response(
        to_markdown(export),
        media_type="text/markdown; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.md"'},
    )


class ExportController(Controller):
    security = SECURITY
    tags = ("conversations",)

    @get(
        "/conversations/{conversation_id:str}/export",
        operation_id="exportConversation",
        responses=problem_responses(404),
        operation_class=EXPORT_OPERATION,
    )
    async def export_conversation(
        self,
        conversation_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        format: Annotated[ExportFormat, QueryParameter()] = "md",
    ) -> Response[bytes] | Response[str]:
        """The caller's conversation for the matter file, as Markdown or DOCX: each
        question, the query searched, the answer and its citations (title, page or time
        range, verified quote), with when and by whom it was generated."""
        note(conversation_id=conversation_id, format=format)
        conversation = await services.conversations.owned(principal, conversation_id)
        note_read(principal, conversation, conversation.turns)
        export = export_of(conversation, conversation.turns, principal, datetime.now(UTC))
        return _exported(export, format, conversation_id)

    @get(
        "/answers/{answer_id:str}/export",
        operation_id="exportAnswer",
        responses=problem_responses(404),
        operation_class=EXPORT_OPERATION,
    )
    async def export_answer(
        self,
        answer_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        format: Annotated[ExportFormat, QueryParameter()] = "md",
    ) -> Response[bytes] | Response[str]:
        """One of the caller's answers, as the conversation export shows it."""
        note(answer_id=answer_id, format=format)
        conversation, turn = await services.conversations.owned_turn(principal, answer_id)
        note_read(principal, conversation, (turn,))
        export = export_of(conversation, (turn,), principal, datetime.now(UTC))
        return _exported(export, format, answer_id)


class AnswerController(Controller):
    path = "/answers"
    security = SECURITY
    tags = ("conversations",)

    @get("/{answer_id:str}", operation_id="getAnswer", responses=problem_responses(404))
    async def get_answer(
        self,
        answer_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> TurnOut:
        """One of the caller's answers, as in its conversation."""
        note(answer_id=answer_id)
        conversation, turn = await services.conversations.owned_turn(principal, answer_id)
        note_read(principal, conversation, (turn,))
        return TurnOut.of(turn, principal)

    @post(
        "/{answer_id:str}/feedback",
        operation_id="giveFeedback",
        status_code=200,
        responses=problem_responses(404),
    )
    async def give_feedback(
        self,
        answer_id: FromPath[str],
        data: JSONBody[FeedbackIn],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Response[FeedbackOut]:
        """Rate one of the caller's answers ``up`` or ``down``, with an optional comment; a
        new rating replaces the previous one. Recorded in the audit trail too."""
        note(answer_id=answer_id, rating=data.rating, comment=data.comment)
        turn = await services.conversations.feedback(
            principal, answer_id, data.rating, data.comment
        )
        assert turn.feedback is not None
        note(
            conversation_id=turn.conversation_id,
            documents={c.citation.document_id for c in turn.citations},
        )
        return Response(FeedbackOut.of(turn.feedback))

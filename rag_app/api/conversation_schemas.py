"""Bodies of the conversation, answer and feedback endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from rag_app.api.schemas import CitationOut
from rag_app.auth.principal import Principal
from rag_app.conversations.records import Conversation, Feedback, Turn
from rag_app.conversations.service import (
    MAX_COMMENT_CHARS,
    WITHHELD_ANSWER,
    visible_citations,
)


class FeedbackIn(msgspec.Struct, forbid_unknown_fields=True):
    rating: Literal["up", "down"]
    comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT_CHARS)] | None = None


class FeedbackOut(msgspec.Struct):
    rating: str
    comment: str | None
    at: datetime

    @classmethod
    def of(cls, feedback: Feedback) -> FeedbackOut:
        return cls(feedback.rating, feedback.comment, feedback.at)


class TurnOut(msgspec.Struct):
    answer_id: str
    conversation_id: str
    question: str
    rewritten_query: str  # what retrieval searched for
    answer: str
    grounded: bool
    citations: list[CitationOut]
    withheld_citations: int  # citations to collections the caller can no longer read
    metadata: dict[str, str | int | float]
    created_at: datetime
    feedback: FeedbackOut | None

    @classmethod
    def of(cls, turn: Turn, principal: Principal) -> TurnOut:
        """As ``principal`` may see it now: a citation to a collection it can no longer
        read is withheld, and so is the answer text, which may quote it."""
        visible = visible_citations(principal, turn)
        return cls(
            answer_id=turn.answer_id,
            conversation_id=turn.conversation_id,
            question=turn.question,
            rewritten_query=turn.rewritten_query,
            answer=WITHHELD_ANSWER if visible.withheld else turn.answer,
            grounded=turn.grounded,
            citations=[CitationOut.of(c.citation) for c in visible.citations],
            withheld_citations=visible.withheld,
            metadata=dict(turn.metadata),
            created_at=turn.created_at,
            feedback=FeedbackOut.of(turn.feedback) if turn.feedback else None,
        )


class ConversationSummaryOut(msgspec.Struct):
    conversation_id: str
    title: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationSummaryOut:
        return cls(
            conversation.conversation_id,
            conversation.title,
            conversation.created_at,
            conversation.updated_at,
        )


class ConversationListOut(msgspec.Struct):
    items: list[ConversationSummaryOut]
    total: int
    limit: int
    offset: int


class ConversationOut(msgspec.Struct):
    conversation_id: str
    title: str
    created_at: datetime
    updated_at: datetime
    turns: list[TurnOut]

    @classmethod
    def of(cls, conversation: Conversation, principal: Principal) -> ConversationOut:
        return cls(
            conversation.conversation_id,
            conversation.title,
            conversation.created_at,
            conversation.updated_at,
            [TurnOut.of(t, principal) for t in conversation.turns],
        )

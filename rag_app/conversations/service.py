"""The conversations domain service: asks with the conversation in mind, keeps the turns,
and enforces ownership. The HTTP API, the CLI and other front ends (OpenAI-compatible
endpoint, MCP) call this, not the store.

Ownership: a conversation, its turns and their answers belong to the principal that
started it. Anyone else gets ``NotFoundError`` for it, exactly as for an id that does not
exist, so no caller learns that another's conversation exists.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from rag_app.auth.principal import Principal
from rag_app.conversations.records import (
    Conversation,
    ConversationPage,
    Feedback,
    StoredCitation,
    Turn,
    new_id,
)
from rag_app.conversations.rewrite import QueryRewriter
from rag_app.conversations.store import ConversationStore
from rag_app.domain import Answer, AnswerDelta, Citation, Exchange, Hit, SearchMode
from rag_app.errors import InvalidInputError, NotFoundError
from rag_app.retrieval import QueryService

log = logging.getLogger(__name__)

ID = re.compile(r"^[ca]_[0-9a-f]{24}$")
MAX_HISTORY_TURNS = 6  # earlier turns the rewriter and the answerer see, the most recent
MAX_TURNS = 200  # per conversation: past it, a new conversation must be started
MAX_COMMENT_CHARS = 2000
TITLE_CHARS = 80
Rating = Literal["up", "down"]
WITHHELD_ANSWER = (
    "This answer is withheld: it cites documents in collections this credential may no longer read."
)


def _title(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "\u2026"


@dataclass(frozen=True, slots=True)
class PendingTurn:
    """An ask under way: its ids and standalone query are known before the answer is.
    ``events`` yields the answer's text as it is written, then the stored ``Turn``; a
    consumer that stops early leaves no turn stored."""

    conversation_id: str
    answer_id: str
    rewritten_query: str
    events: AsyncIterator[AnswerDelta | Turn]

    async def final(self) -> Turn:
        """The stored turn, the text deltas skipped (for callers that do not stream)."""
        async for event in self.events:
            if isinstance(event, Turn):
                return event
        raise RuntimeError("the answer stream ended without an answer")


@dataclass(frozen=True, slots=True)
class VisibleCitations:
    """A stored turn's citations as one caller may see them now: those to collections it
    can no longer read are withheld (counted, not shown)."""

    citations: tuple[StoredCitation, ...]
    withheld: int


def visible_citations(principal: Principal, turn: Turn) -> VisibleCitations:
    shown = tuple(c for c in turn.citations if principal.can_read(c.collection))
    return VisibleCitations(shown, len(turn.citations) - len(shown))


class ConversationService:
    def __init__(
        self,
        *,
        store: ConversationStore,
        queries: QueryService,
        rewriter: QueryRewriter,
        retention_days: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._queries = queries
        self._rewriter = rewriter
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    async def owned(self, principal: Principal, conversation_id: str) -> Conversation:
        """The caller's conversation with its turns; ``NotFoundError`` otherwise."""
        conversation = (
            await self._store.get(conversation_id)
            if ID.match(conversation_id) and conversation_id.startswith("c_")
            else None
        )
        if conversation is None or conversation.principal != principal.name:
            raise NotFoundError(f"no conversation {conversation_id!r}")
        return conversation

    async def owned_turn(self, principal: Principal, answer_id: str) -> tuple[Conversation, Turn]:
        """The caller's answer and its conversation; ``NotFoundError`` otherwise."""
        turn = (
            await self._store.get_turn(answer_id)
            if ID.match(answer_id) and answer_id.startswith("a_")
            else None
        )
        if turn is not None:
            conversation = await self._store.get(turn.conversation_id)
            if conversation is not None and conversation.principal == principal.name:
                return conversation, turn
        raise NotFoundError(f"no answer {answer_id!r}")

    async def ask(
        self,
        principal: Principal,
        question: str,
        *,
        conversation_id: str | None = None,
        top_k: int = 5,
        filters: Mapping[str, Any] | None = None,
        mode: SearchMode | None = None,
    ) -> PendingTurn:
        """Start or continue a conversation: rewrite the question with the earlier turns in
        mind, retrieve for the rewrite from the caller's collections, and answer with the
        earlier turns as context. Bad input and a conversation the caller does not own
        raise here, before anything streams."""
        if not question.strip():
            raise InvalidInputError("the question is empty")
        question = question.replace("\x00", "\ufffd")  # kept as text: PostgreSQL refuses NUL
        if conversation_id is None:
            now = self._clock()
            conversation = Conversation(new_id("c"), principal.name, _title(question), now, now)
        else:
            conversation = await self.owned(principal, conversation_id)
            if len(conversation.turns) >= MAX_TURNS:
                raise InvalidInputError(
                    f"this conversation has {MAX_TURNS} turns, the most it may hold: "
                    "start a new one"
                )
        history = [
            Exchange(t.question, t.rewritten_query, t.answer)
            for t in conversation.turns[-MAX_HISTORY_TURNS:]
        ]
        rewrite = await self._rewriter.rewrite(question, history)
        hits, events = await self._queries.answer_with_hits(
            rewrite.query,
            top_k=top_k,
            filters=filters or {},
            collections=principal.readable,
            mode=mode,
            history=history,
        )
        answer_id = new_id("a")
        return PendingTurn(
            conversation.conversation_id,
            answer_id,
            rewrite.query,
            self._recorded(
                events,
                conversation=conversation,
                answer_id=answer_id,
                question=question,
                rewritten=rewrite.query,
                rewrite_metadata=rewrite.metadata,
                hits=hits,
            ),
        )

    async def _recorded(
        self,
        events: AsyncIterator[AnswerDelta | Answer],
        *,
        conversation: Conversation,
        answer_id: str,
        question: str,
        rewritten: str,
        rewrite_metadata: Mapping[str, str | int | float],
        hits: list[Hit],
    ) -> AsyncIterator[AnswerDelta | Turn]:
        collection_of = {h.chunk.chunk_id: h.chunk.collection for h in hits}
        async for event in events:
            if isinstance(event, AnswerDelta):
                yield event
                continue
            turn = Turn(
                answer_id=answer_id,
                conversation_id=conversation.conversation_id,
                turn_no=len(conversation.turns) + 1,
                question=question,
                rewritten_query=rewritten,
                answer=event.text,
                grounded=event.grounded,
                citations=tuple(_stored(c, collection_of) for c in event.citations),
                metadata={**event.metadata, **rewrite_metadata},
                created_at=self._clock(),
            )
            await self._store.save_turn(conversation, turn)
            yield turn

    async def list(self, principal: Principal, *, limit: int, offset: int) -> ConversationPage:
        """The caller's conversations, the most recently active first (without turns)."""
        return await self._store.list(principal.name, limit=limit, offset=offset)

    async def delete(self, principal: Principal, conversation_id: str) -> Conversation:
        """Delete the caller's conversation and its turns; returns what was deleted."""
        conversation = await self.owned(principal, conversation_id)
        await self._store.delete(conversation_id)
        return conversation

    async def feedback(
        self, principal: Principal, answer_id: str, rating: Rating, comment: str | None
    ) -> Turn:
        """Rate the caller's answer (a second rating replaces the first)."""
        if rating not in ("up", "down"):
            raise InvalidInputError(f"rating must be 'up' or 'down', got {rating!r}")
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise InvalidInputError(f"the comment is over {MAX_COMMENT_CHARS} characters")
        if comment is not None:
            comment = comment.replace("\x00", "\ufffd")
        _, turn = await self.owned_turn(principal, answer_id)
        given = Feedback(rating, comment or None, self._clock())
        if not await self._store.set_feedback(answer_id, given):
            raise NotFoundError(f"no answer {answer_id!r}")
        return dataclasses.replace(turn, feedback=given)

    async def sweep(self) -> int:
        """Delete the conversations inactive for longer than the retention period."""
        deleted = await self._store.delete_inactive_since(self._clock() - self._retention)
        if deleted:
            log.info("retention: deleted %d inactive conversation(s)", deleted)
        return deleted

    async def keep_sweeping(self, interval_seconds: float) -> None:
        """Sweep now and then every ``interval_seconds`` until cancelled; a failed sweep
        is logged and retried at the next interval."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("conversation retention sweep failed")
            await asyncio.sleep(interval_seconds)


def _stored(citation: Citation, collection_of: Mapping[str, str]) -> StoredCitation:
    # Verified citations quote a retrieved passage, so their chunk is among the hits.
    return StoredCitation(citation, collection_of[citation.chunk_id])

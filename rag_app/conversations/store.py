"""Where conversations are kept: PostgreSQL (with the catalog) or JSON objects (Option 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from rag_app.conversations.records import Conversation, ConversationPage, Feedback, Turn


@runtime_checkable
class ConversationStore(Protocol):
    """Conversations and their turns. Ownership is the caller's business (the service
    checks it); a store only keeps records.

    - ``save_turn`` records ``conversation`` if it is new (else sets its ``updated_at`` to
      the turn's time) and appends ``turn``; an ``answer_id`` already stored raises
      ``ValueError``.
    - ``get`` returns the conversation with its turns in order, or None.
    - ``list`` gives ``principal``'s conversations without turns, the most recently
      active first (ties by id), ``limit`` from ``offset``, and how many there are.
    - ``get_turn`` finds a turn by its answer id, or None.
    - ``set_feedback`` replaces the turn's feedback; False when no such turn.
    - ``delete`` removes a conversation and its turns; False when there was none.
    - ``delete_inactive_since`` removes every conversation last active before ``cutoff``
      and returns how many.
    """

    async def save_turn(self, conversation: Conversation, turn: Turn) -> None: ...

    async def get(self, conversation_id: str) -> Conversation | None: ...

    async def list(self, principal: str, *, limit: int, offset: int) -> ConversationPage: ...

    async def get_turn(self, answer_id: str) -> Turn | None: ...

    async def set_feedback(self, answer_id: str, feedback: Feedback) -> bool: ...

    async def delete(self, conversation_id: str) -> bool: ...

    async def delete_inactive_since(self, cutoff: datetime) -> int: ...

"""What a conversation stores: turns of question, standalone query, answer and citations."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rag_app.domain import Citation


def new_id(prefix: str) -> str:
    """An unguessable id (``c_`` conversations, ``a_`` answers): 96 random bits."""
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass(frozen=True, slots=True)
class StoredCitation:
    """A verified citation as it was given, with the collection of its document: read back,
    it is shown only to a caller who may still read that collection."""

    citation: Citation
    collection: str


@dataclass(frozen=True, slots=True)
class Feedback:
    rating: str  # up | down
    comment: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Turn:
    """One question and its answer. ``rewritten_query`` is what retrieval searched for:
    the question itself on a first turn, or the standalone form of a follow-up."""

    answer_id: str
    conversation_id: str
    turn_no: int  # 1-based, in the order asked
    question: str
    rewritten_query: str
    answer: str
    grounded: bool
    citations: tuple[StoredCitation, ...]
    metadata: Mapping[str, str | int | float]
    created_at: datetime
    feedback: Feedback | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """``principal``: who started it (an API key's id or a token's subject); only they may
    read, continue, export or delete it."""

    conversation_id: str
    principal: str
    title: str  # the first question, shortened
    created_at: datetime
    updated_at: datetime
    turns: tuple[Turn, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ConversationPage:
    items: list[Conversation]  # without their turns
    total: int

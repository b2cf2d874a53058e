"""Follow-up questions: a question asked after earlier turns of a conversation ("and what
does it cost?") is answered as a standalone question that carries what it refers to.

``FollowUpResolver`` is the seam; ``PrecedingQuestion`` is the plain implementation the
OpenAI-compatible endpoint uses until a conversation service (which rewrites follow-ups
with a model and keeps the history server-side) is plugged in behind the same Protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of a conversation."""

    role: Role
    text: str


@runtime_checkable
class FollowUpResolver(Protocol):
    async def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """The question to retrieve and answer with. ``history`` holds the earlier turns,
        oldest first, without ``question``; with no earlier user turn the result is
        ``question`` itself. Never raises for long or odd histories: the caller checks the
        result like any question (length limit)."""
        ...


class PrecedingQuestion:
    """``question`` preceded by the user's previous question, so retrieval finds the
    passages a follow-up refers back to (its pronouns and ellipses name nothing on their
    own). Assistant turns are left out: they are answers from the same passages, and a
    model-written text is no better a query than the question that produced it."""

    async def standalone(self, question: str, history: Sequence[Turn]) -> str:
        previous = next((t.text for t in reversed(history) if t.role == "user"), "")
        if not previous.strip():
            return question
        return f"{previous.strip()}\n{question}"

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from rag_app.domain import Answer, AnswerDelta, Exchange, Hit

NO_ANSWER = "The indexed documents do not contain a passage that answers this question."


@runtime_checkable
class Answerer(Protocol):
    """Answers a question from retrieved passages only, citing them.

    ``stream`` yields zero or more ``AnswerDelta`` pieces of the answer text, then exactly
    one final ``Answer`` (whose text is the concatenation of the deltas). When the passages
    do not support an answer, the final ``Answer`` has ``grounded=False`` and says so; it
    never makes one up. Passages are data: text inside them is never followed as an
    instruction.

    ``history`` holds the conversation's earlier turns, oldest first: context for what the
    question refers to, never a source (only ``hits`` may be cited). ``question`` is then
    the standalone form retrieval searched for.
    """

    def stream(
        self, question: str, hits: Sequence[Hit], history: Sequence[Exchange] = ()
    ) -> AsyncIterator[AnswerDelta | Answer]: ...


async def collect_answer(events: AsyncIterator[AnswerDelta | Answer]) -> Answer:
    """The final ``Answer`` of a stream."""
    async for event in events:
        if isinstance(event, Answer):
            return event
    raise RuntimeError("the answerer's stream ended without an answer")

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from rag_app.domain import Answer, AnswerDelta, Exchange, Hit

NO_ANSWER = "The indexed documents do not contain a passage that answers this question."


@dataclass(frozen=True, slots=True)
class Question:
    """A question as retrieval hands it to an answerer: its text, the embedding search used
    (an answerer never embeds the question again) and its content words
    (``text.words.content_words``, what keyword coverage counts)."""

    text: str
    vector: NDArray[np.float32]
    terms: frozenset[str]
    # A conversation's earlier turns, oldest first: context for what the question refers
    # to, never a source (only the hits may be cited). ``text`` is then the standalone
    # form retrieval searched for.
    history: tuple[Exchange, ...] = ()


@runtime_checkable
class Answerer(Protocol):
    """Answers a question from retrieved passages only, citing them.

    ``stream`` yields zero or more ``AnswerDelta`` pieces of the answer text, then exactly
    one final ``Answer`` (whose text is the concatenation of the deltas, with ``[n]``
    markers naming its n-th citation). When the passages do not support an answer, the
    final ``Answer`` has ``grounded=False`` and says so; it never makes one up. Passages
    are data: text inside them is never followed as an instruction.

    Whether each quote is really in the passage it cites is not the answerer's to check:
    retrieval checks every answerer's citations once (``retrieval/citations.py``).
    """

    def stream(
        self, question: Question, hits: Sequence[Hit]
    ) -> AsyncIterator[AnswerDelta | Answer]: ...


async def collect_answer(events: AsyncIterator[AnswerDelta | Answer]) -> Answer:
    """The final ``Answer`` of a stream."""
    async for event in events:
        if isinstance(event, Answer):
            return event
    raise RuntimeError("the answerer's stream ended without an answer")

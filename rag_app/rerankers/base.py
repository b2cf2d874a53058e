"""The ``Reranker`` protocol and the reranker that keeps the search's order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag_app.domain import Hit


@runtime_checkable
class Reranker(Protocol):
    """Reorders search candidates by their relevance to the query.

    ``rerank`` returns at most ``top_k`` of ``hits``, most relevant first, each one of the
    given hits with only its ``score`` replaced by the reranker's relevance (its chunk,
    similarity and BM25 score untouched); no hit twice, none added. Empty ``hits`` give
    ``[]`` without a call to any model. ``top_k`` is at least 1.
    """

    @property
    def name(self) -> str: ...

    async def rerank(self, query: str, hits: Sequence[Hit], *, top_k: int) -> list[Hit]: ...


class NoReranker:
    """The search's own order (``RAG_RERANKER=none``)."""

    name = "none"

    async def rerank(self, query: str, hits: Sequence[Hit], *, top_k: int) -> list[Hit]:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        return list(hits[:top_k])

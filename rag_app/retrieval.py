"""Search and question answering: question -> embedding -> hits -> answer with citations."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any

from rag_app.answerers.base import Answerer, collect_answer
from rag_app.answerers.citations import verify_citations
from rag_app.domain import Answer, AnswerDelta, Hit
from rag_app.embedders.base import Embedder, embed_query
from rag_app.errors import InvalidInputError
from rag_app.ingest.validation import check_filters
from rag_app.terms import content_words, coverage
from rag_app.vectorstores.base import MAX_TOP_K, VectorStore

# Vector search fetches more candidates than asked for, and a keyword bonus re-ranks them:
# in legal text the decisive words are exact (a defined term, a section number, a party),
# where embeddings of short table rows or clauses are weakest. Works on every store.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 20


class QueryService:
    def __init__(
        self,
        *,
        store: VectorStore,
        embedder: Embedder,
        answerer: Answerer,
        max_query_chars: int,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._answerer = answerer
        self._max_query_chars = max_query_chars

    def _check_query(self, query: str, what: str) -> str:
        text = query.strip()
        if not text:
            raise InvalidInputError(f"the {what} is empty")
        if len(text) > self._max_query_chars:
            raise InvalidInputError(
                f"the {what} is {len(text)} characters; the limit is {self._max_query_chars}"
            )
        return text

    async def search(
        self,
        query: str,
        *,
        top_k: int,
        filters: Mapping[str, Any],
        collections: frozenset[str] | None = None,
    ) -> list[Hit]:
        """The ``top_k`` passages closest to ``query`` that match ``filters``, best first,
        from ``collections`` only (None: all; the caller's grants)."""
        text = self._check_query(query, "query")
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidInputError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
        checked = check_filters(filters)
        vector = await embed_query(self._embedder, text)
        pool = min(MAX_TOP_K, max(top_k * CANDIDATES_PER_RESULT, MIN_CANDIDATES))
        candidates = await self._store.query(
            vector, top_k=pool, filters=checked, collections=collections
        )
        terms = content_words(text)
        reranked = [
            dataclasses.replace(hit, keyword=coverage(terms, hit.chunk.text)) for hit in candidates
        ]
        reranked.sort(key=lambda hit: hit.score, reverse=True)
        return reranked[:top_k]

    async def ask_stream(
        self,
        question: str,
        *,
        top_k: int,
        filters: Mapping[str, Any],
        collections: frozenset[str] | None = None,
    ) -> AsyncIterator[AnswerDelta | Answer]:
        """Retrieve first (so bad input raises here, before any streaming starts), then
        return the answer's events: text as it is produced, then the final answer whose
        citations have been checked against the retrieved passages."""
        question = self._check_query(question, "question")
        hits = await self.search(question, top_k=top_k, filters=filters, collections=collections)
        return self._verified(self._answerer.stream(question, hits), hits)

    @staticmethod
    async def _verified(
        events: AsyncIterator[AnswerDelta | Answer], hits: list[Hit]
    ) -> AsyncIterator[AnswerDelta | Answer]:
        async for event in events:
            yield verify_citations(event, hits) if isinstance(event, Answer) else event

    async def ask(
        self,
        question: str,
        *,
        top_k: int,
        filters: Mapping[str, Any],
        collections: frozenset[str] | None = None,
    ) -> Answer:
        events = await self.ask_stream(
            question, top_k=top_k, filters=filters, collections=collections
        )
        return await collect_answer(events)

"""Search and question answering: question -> embedding -> hits -> answer with citations."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from rag_app.answerers.base import Answerer, Question, collect_answer
from rag_app.domain import MAX_TOP_K, Answer, AnswerDelta, Exchange, Hit, SearchMode
from rag_app.embedders.base import Embedder, embed_query
from rag_app.errors import InvalidInputError
from rag_app.ingest.validation import check_filters
from rag_app.rerankers.base import Reranker
from rag_app.retrieval.citations import verify_citations
from rag_app.retrieval.fusion import CANDIDATES_PER_RESULT, MIN_CANDIDATES, Fusion, blend, fuse
from rag_app.text.words import content_words, coverage
from rag_app.vectorstores.base import VectorStore


class QueryService:
    def __init__(
        self,
        *,
        store: VectorStore,
        embedder: Embedder,
        answerer: Answerer,
        max_query_chars: int,
        default_mode: SearchMode = SearchMode.HYBRID,
        fusion: Fusion = "weighted",
        vector_weight: float = 0.75,
        reranker: Reranker | None = None,
        rerank_candidates: int = 20,
    ) -> None:
        """``reranker``: reorders the best ``rerank_candidates`` hits of every search (and
        so of every answer) before the first ``top_k`` are kept; None: the search's order."""
        self._store = store
        self._embedder = embedder
        self._answerer = answerer
        self._max_query_chars = max_query_chars
        self._default_mode = default_mode
        self._fusion = fusion
        self._vector_weight = vector_weight
        self._reranker = reranker
        self._rerank_candidates = rerank_candidates

    def _check_query(self, query: str, what: str) -> str:
        text = query.strip()
        if not text:
            raise InvalidInputError(f"the {what} is empty")
        if len(text) > self._max_query_chars:
            raise InvalidInputError(
                f"the {what} is {len(text)} characters; the limit is {self._max_query_chars}"
            )
        return text

    async def _retrieve(
        self,
        query: str,
        what: str,
        *,
        top_k: int,
        filters: Mapping[str, Any],
        collections: frozenset[str] | None,
        mode: SearchMode | None,
    ) -> tuple[Question, list[Hit]]:
        """The query checked and embedded once, and its hits (see ``search``)."""
        text = self._check_query(query, what)
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidInputError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
        checked = check_filters(filters)
        mode = mode or self._default_mode
        question = Question(
            text, await embed_query(self._embedder, text), frozenset(content_words(text))
        )
        vector = question.vector
        wanted = top_k if self._reranker is None else max(top_k, self._rerank_candidates)
        wanted = min(MAX_TOP_K, wanted)
        pool = min(MAX_TOP_K, max(wanted * CANDIDATES_PER_RESULT, MIN_CANDIDATES))
        if mode is SearchMode.VECTOR:
            hits = await self._store.query(
                vector, top_k=wanted, filters=checked, collections=collections
            )
        elif mode is SearchMode.KEYWORD:
            hits = await self._store.query_text(
                text, vector, top_k=wanted, filters=checked, collections=collections
            )
        else:
            candidates = await self._store.query_hybrid(
                text, vector, top_k=pool, filters=checked, collections=collections
            )
            if self._fusion == "rrf":
                hits = fuse([candidates.by_vector, candidates.by_words])[:wanted]
            else:
                hits = blend(candidates, vector_weight=self._vector_weight)[:wanted]
        if self._reranker is not None:
            hits = await self._reranker.rerank(text, hits, top_k=top_k)
        terms = question.terms
        return question, [
            dataclasses.replace(h, keyword=coverage(terms, h.chunk.text)) for h in hits
        ]

    async def search(
        self,
        query: str,
        *,
        top_k: int,
        filters: Mapping[str, Any],
        collections: frozenset[str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[Hit]:
        """The ``top_k`` passages that best answer ``query`` and match ``filters``, best
        first, from ``collections`` only (None: all; the caller's grants), found by
        ``mode`` (None: the service's default). Every hit carries its cosine similarity
        and the share of the query's content words it contains (``keyword``)."""
        _, hits = await self._retrieve(
            query, "query", top_k=top_k, filters=filters, collections=collections, mode=mode
        )
        return hits

    async def ask_stream(
        self,
        question: str,
        *,
        top_k: int,
        filters: Mapping[str, Any],
        collections: frozenset[str] | None = None,
        mode: SearchMode | None = None,
    ) -> AsyncIterator[AnswerDelta | Answer]:
        """Retrieve first (so bad input raises here, before any streaming starts), then
        return the answer's events: text as it is produced, then the final answer whose
        citations have been checked against the retrieved passages, once. The answerer
        gets the question's vector and terms: nothing is embedded twice."""
        asked, hits = await self._retrieve(
            question, "question", top_k=top_k, filters=filters, collections=collections, mode=mode
        )
        return self._verified(self._answerer.stream(asked, hits), hits)

    async def answer_with_hits(
        self,
        question: str,
        *,
        top_k: int,
        filters: Mapping[str, Any],
        collections: frozenset[str] | None = None,
        mode: SearchMode | None = None,
        history: Sequence[Exchange] = (),
    ) -> tuple[list[Hit], AsyncIterator[AnswerDelta | Answer]]:
        """``ask_stream``, with the hits retrieved for ``question`` (what citations may
        cite) and the conversation's earlier turns given to the answerer as context."""
        asked, hits = await self._retrieve(
            question, "question", top_k=top_k, filters=filters, collections=collections, mode=mode
        )
        asked = dataclasses.replace(asked, history=tuple(history))
        return hits, self._verified(self._answerer.stream(asked, hits), hits)

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
        mode: SearchMode | None = None,
    ) -> Answer:
        events = await self.ask_stream(
            question, top_k=top_k, filters=filters, collections=collections, mode=mode
        )
        return await collect_answer(events)

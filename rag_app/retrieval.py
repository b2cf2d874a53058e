"""Search and question answering: question -> embedding -> hits -> answer with citations."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from rag_app.answerers.base import Answerer, collect_answer
from rag_app.answerers.citations import verify_citations
from rag_app.domain import Answer, AnswerDelta, Hit, SearchMode
from rag_app.embedders.base import Embedder, embed_query
from rag_app.errors import InvalidInputError
from rag_app.ingest.validation import check_filters
from rag_app.terms import content_words, coverage
from rag_app.vectorstores.base import MAX_TOP_K, NativeHybrid, VectorStore

# Hybrid search fuses a vector list and a BM25 list: in legal text the decisive words are
# exact (a defined term, a section number, a party), where embeddings are weakest, and
# paraphrases are where words are weakest. Each list is longer than the answer, so a
# passage ranked well by one and moderately by the other can still win.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 20
RRF_K = 60  # the constant of Cormack et al. (2009): flattens the top ranks' advantage
Fusion = Literal["rrf", "weighted", "native"]


def fuse(rankings: list[list[Hit]], *, k: int = RRF_K) -> list[Hit]:
    """Reciprocal rank fusion: each hit scores the sum over rankings of 1 / (k + rank),
    best first; ties by cosine similarity, then chunk id. A hit found by several lists
    keeps the first list's copy, with the largest ``text_rank`` seen."""
    fused: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, 1):
            key = hit.chunk.chunk_id
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
            seen = first.setdefault(key, hit)
            if hit.text_rank > seen.text_rank:
                first[key] = dataclasses.replace(seen, text_rank=hit.text_rank)
    order = sorted(fused, key=lambda key: (-fused[key], -first[key].similarity, key))
    return [dataclasses.replace(first[key], score=fused[key]) for key in order]


def blend(by_vector: list[Hit], by_words: list[Hit], *, vector_weight: float) -> list[Hit]:
    """Convex combination of scores (Bruch et al., 2023): ``vector_weight`` x cosine
    similarity + (1 - ``vector_weight``) x BM25 / the best BM25 of ``by_words``, over the
    hits of both lists, best first; ties by chunk id. Every hit knows its similarity
    (keyword hits carry it too); a hit only the vector list found counts BM25 0."""
    found: dict[str, Hit] = {h.chunk.chunk_id: h for h in by_vector}
    for hit in by_words:
        found[hit.chunk.chunk_id] = hit  # the copy that carries the text rank
    best = max((h.text_rank for h in by_words), default=0.0) or 1.0
    scored = {
        key: vector_weight * h.similarity + (1 - vector_weight) * h.text_rank / best
        for key, h in found.items()
    }
    order = sorted(scored, key=lambda key: (-scored[key], key))
    return [dataclasses.replace(found[key], score=scored[key]) for key in order]


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
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._answerer = answerer
        self._max_query_chars = max_query_chars
        self._default_mode = default_mode
        self._fusion = fusion
        self._vector_weight = vector_weight

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
        mode: SearchMode | None = None,
    ) -> list[Hit]:
        """The ``top_k`` passages that best answer ``query`` and match ``filters``, best
        first, from ``collections`` only (None: all; the caller's grants), found by
        ``mode`` (None: the service's default). Every hit carries its cosine similarity
        and the share of the query's content words it contains (``keyword``)."""
        text = self._check_query(query, "query")
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidInputError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
        checked = check_filters(filters)
        mode = mode or self._default_mode
        vector = await embed_query(self._embedder, text)
        pool = min(MAX_TOP_K, max(top_k * CANDIDATES_PER_RESULT, MIN_CANDIDATES))
        if mode is SearchMode.VECTOR:
            hits = await self._store.query(
                vector, top_k=top_k, filters=checked, collections=collections
            )
        elif mode is SearchMode.KEYWORD:
            hits = await self._store.query_text(
                text, vector, top_k=top_k, filters=checked, collections=collections
            )
        elif self._fusion == "native" and isinstance(self._store, NativeHybrid):
            hits = await self._store.query_hybrid(
                text, vector, top_k=top_k, filters=checked, collections=collections
            )
        else:
            by_vector, by_words = await asyncio.gather(
                self._store.query(vector, top_k=pool, filters=checked, collections=collections),
                self._store.query_text(
                    text, vector, top_k=pool, filters=checked, collections=collections
                ),
            )
            if self._fusion in ("rrf", "native"):  # native: the store has no fusion of its own
                hits = fuse([by_vector, by_words])[:top_k]
            else:
                hits = blend(by_vector, by_words, vector_weight=self._vector_weight)[:top_k]
        terms = content_words(text)
        return [dataclasses.replace(h, keyword=coverage(terms, h.chunk.text)) for h in hits]

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
        citations have been checked against the retrieved passages."""
        question = self._check_query(question, "question")
        hits = await self.search(
            question, top_k=top_k, filters=filters, collections=collections, mode=mode
        )
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
        mode: SearchMode | None = None,
    ) -> Answer:
        events = await self.ask_stream(
            question, top_k=top_k, filters=filters, collections=collections, mode=mode
        )
        return await collect_answer(events)

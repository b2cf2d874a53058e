from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from rag_app.domain import MAX_TOP_K, Chunk, Filters, Hit
from rag_app.vectorstores.records import check_budget


@dataclass(frozen=True, slots=True)
class HybridCandidates:
    """The two candidate lists of one hybrid search, for fusion.

    ``by_vector``: the ``depth`` chunks nearest the query vector, nearest first;
    ``by_words``: the ``depth`` best by BM25, best first. Every hit of both lists carries its
    cosine similarity. A keyword hit carries its BM25 score in ``text_rank``; a vector hit
    carries its own when ``vector_hits_scored`` (the store scored it in the same query),
    else its BM25 is unknown: see ``unscored_text_rank``.
    """

    by_vector: list[Hit]
    by_words: list[Hit]
    depth: int
    vector_hits_scored: bool

    def unscored_text_rank(self) -> float:
        """The BM25 to assume for a vector hit whose score the store did not return and
        that is not in ``by_words``: 0 when ``by_words`` is shorter than ``depth`` (the text
        search returned every chunk holding a query word, so this one holds none), else the
        lowest BM25 in ``by_words`` (the most it can score: it ranked below all of them)."""
        if len(self.by_words) < self.depth or not self.by_words:
            return 0.0
        return min(h.text_rank for h in self.by_words)


async def hybrid_by_two_queries(
    store: VectorStore,
    text: str,
    vector: NDArray[np.float32],
    *,
    top_k: int,
    filters: Filters,
    collections: frozenset[str] | None = None,
) -> HybridCandidates:
    """``query`` and ``query_text`` side by side, for a store whose text search cannot score
    the vector hits (``vector_hits_scored`` False): the seam where a store with a native
    hybrid query (S3 Vectors' ``queryTexts`` + ``returnScores``) returns both scores."""
    by_vector, by_words = await asyncio.gather(
        store.query(vector, top_k=top_k, filters=filters, collections=collections),
        store.query_text(text, vector, top_k=top_k, filters=filters, collections=collections),
    )
    return HybridCandidates(by_vector, by_words, depth=top_k, vector_hits_scored=False)


@runtime_checkable
class VectorStore(Protocol):
    """Chunks and their vectors for one embedding space (one model, one dimension).

    ``Hit.similarity`` is the cosine similarity in [-1, 1], higher is closer. Filters are an
    equality AND over ``document_id``, ``collection`` and user metadata keys; a key no chunk
    has matches nothing (it is not an error). ``collections`` restricts a query or count to
    chunks of those collections, in the store's own query (None: no restriction; an empty
    set: nothing): it is how a caller's grants are enforced, never by filtering afterwards.
    """

    @property
    def dimension(self) -> int: ...

    async def create(self) -> None:
        """Make the index (or table) of this embedding space exist, and use it if it does:
        idempotent, safe for several processes starting at once. An existing index of
        another dimension or layout is refused with ``ValueError``."""
        ...

    async def upsert_document(
        self, document_id: str, chunks: Sequence[Chunk], vectors: NDArray[np.float32]
    ) -> None:
        """Make ``chunks`` the document's whole chunk set, replacing any earlier set.

        ``vectors[i]`` belongs to ``chunks[i]``. A reader sees the old set or the new one,
        never a mix, where the backend can promise it (pgvector: one transaction).
        Raises ``ValueError`` when a vector's length differs from ``dimension`` or when a
        chunk belongs to another document.
        """
        ...

    async def read_document(self, document_id: str) -> tuple[list[Chunk], NDArray[np.float32]]:
        """The document's chunks in ``chunk_no`` order and their vectors, as
        ``upsert_document`` takes them (so a document can be copied to another store).
        An unknown document gives ``([], array of shape (0, dimension))``."""
        ...

    async def delete_document(self, document_id: str) -> int:
        """Remove every chunk of the document; returns how many there were (0 if unknown)."""
        ...

    async def query(
        self,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> list[Hit]:
        """The ``top_k`` (1..100) chunks closest to ``vector`` that match ``filters``,
        closest first. Fewer when fewer match; an empty store returns ``[]``.
        ``Hit.score`` is the similarity."""
        ...

    async def query_text(
        self,
        text: str,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> list[Hit]:
        """The ``top_k`` (1..100) chunks that best match the words of ``text`` by BM25
        (``rag_app/bm25.py``), best first, with the same ``filters`` and ``collections``
        rules as ``query``. ``Hit.text_rank`` and ``Hit.score`` are the BM25 score,
        ``Hit.similarity`` the cosine similarity to ``vector`` (the query's embedding).
        ``[]`` when none of the words occurs in a matching chunk, or ``text`` has no words
        that count (only stop words or punctuation): that is not an error.
        """
        ...

    async def query_hybrid(
        self,
        text: str,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> HybridCandidates:
        """``query``'s ``top_k`` and ``query_text``'s ``top_k`` (same rules), as one
        ``HybridCandidates`` of depth ``top_k``; a store that can score its vector hits on
        BM25 in the same query does (``vector_hits_scored``), so fusion scores every
        candidate on both signals. ``text`` without words that count gives an empty
        ``by_words``, not an error."""
        ...

    async def count(self, filters: Filters, collections: frozenset[str] | None = None) -> int:
        """How many chunks match ``filters`` (``{}``: all)."""
        ...

    async def check(self) -> None:
        """Raise if the store cannot serve queries now (readiness)."""
        ...


def index_name(model_id: str, dimension: int) -> str:
    """The index (table) name for one embedding space: lowercase, ``[a-z0-9_]``, at most 63."""
    slug = re.sub(r"[^a-z0-9]+", "_", model_id.lower()).strip("_")
    suffix = f"_{dimension}"
    return ("chunks_" + slug)[: 63 - len(suffix)] + suffix


def check_upsert(
    document_id: str, chunks: Sequence[Chunk], vectors: NDArray[np.float32], dimension: int
) -> None:
    """The checks every backend makes before writing anything, budgets included."""
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    if len(vectors) and vectors.shape[1] != dimension:
        raise ValueError(f"vectors have dimension {vectors.shape[1]}, the index has {dimension}")
    for chunk in chunks:
        if chunk.document_id != document_id:
            raise ValueError(f"chunk {chunk.chunk_id} does not belong to document {document_id}")
        check_budget(chunk)


def check_query_vector(vector: NDArray[np.float32], dimension: int) -> None:
    if vector.shape != (dimension,):
        raise ValueError(f"query vector has shape {vector.shape}, index has {dimension}")


def check_top_k(top_k: int) -> None:
    if not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")

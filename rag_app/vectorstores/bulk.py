"""Writing many documents at once: the store's own bulk path where it has one (pgvector:
one transaction and one COPY for them all), else one ``upsert_document`` per document.

Used by large loads (``rag-app migrate from-postgres`` writes a page of documents,
``migrate copy`` a batch of them). Ingestion jobs keep ``upsert_document``: each job is
fenced and recorded on its own, and its write is a small share of its time (embedding is).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from rag_app.domain import Chunk
from rag_app.vectorstores.base import VectorStore

DocumentVectors = tuple[str, Sequence[Chunk], NDArray[np.float32]]
"""(document id, its whole chunk set, ``vectors[i]`` for ``chunks[i]``)."""


@runtime_checkable
class BulkWrite(Protocol):
    """A store that writes several documents in one call (pgvector)."""

    async def upsert_documents(self, documents: Sequence[DocumentVectors]) -> None:
        """``upsert_document`` for each of ``documents``, all written or none; a document id
        given twice, or a bad document, is refused (``ValueError``) before anything is
        written."""
        ...


async def upsert_documents(store: VectorStore, documents: Sequence[DocumentVectors]) -> None:
    """Make each document's chunks its whole chunk set, as ``upsert_document`` does. A
    document id given twice is refused (``ValueError``) before anything is written, on
    every store. On a ``BulkWrite`` store in one call, all or nothing; on another store one
    document after the other, so a failure leaves the documents before it written
    (re-running the call is safe: each write replaces)."""
    ids = [document_id for document_id, _, _ in documents]
    if len(set(ids)) != len(ids):
        raise ValueError("a document id is given more than once")
    if isinstance(store, BulkWrite):
        await store.upsert_documents(documents)
        return
    for document_id, chunks, vectors in documents:
        await store.upsert_document(document_id, chunks, vectors)

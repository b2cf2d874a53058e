"""``migrate copy``: every catalogued document's chunks and vectors from one vector store to
the other, unchanged (no embedding calls), for the same embedding model and dimension.

The catalog names the documents (oldest first); each is read whole from the source
(``read_document``) and written whole to the target, a batch of documents per bulk write
(``vectorstores.bulk``: each replaces its earlier set), and the checkpoint names the last
one copied, so a re-run continues after it and a document copied twice is still stored
once. At the end the two stores' chunk counts must agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rag_app.catalog.base import Catalog
from rag_app.domain import Document
from rag_app.errors import ConfigurationError, RagError
from rag_app.migration.checkpoint import Checkpoint, CheckpointStore
from rag_app.vectorstores.base import VectorStore
from rag_app.vectorstores.bulk import BulkWrite, DocumentVectors, upsert_documents

PAGE = 100
# A bulk write holds up to this many chunks or documents (a few MB of vectors at most).
BATCH_ROWS = 2000
BATCH_DOCUMENTS = 100


@dataclass(frozen=True, slots=True)
class Space:
    """An embedding space: the model that made the vectors and their dimension."""

    model_id: str
    dimension: int

    def __str__(self) -> str:
        return f"{self.model_id} ({self.dimension}-d)"


def check_same_space(source: Space, target: Space) -> None:
    if source != target:
        raise ConfigurationError(
            f"cannot copy: the source holds vectors of {source}, the target is for {target}. "
            "Vectors of different models or dimensions are not comparable; re-embed from the "
            "chunk text instead (rag-app migrate from-postgres)."
        )


class CountMismatchError(RagError):
    """The stores disagree on the chunk count after a copy."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    documents: int
    chunks: int
    missing: list[str]
    source_count: int
    target_count: int
    seconds: float
    resumed: bool

    def lines(self) -> list[str]:
        lines = [
            "copy finished" + (" (resumed from a checkpoint)" if self.resumed else ""),
            f"  copied:  {self.chunks:>8,} chunks of {self.documents:,} documents",
            f"  count:   source {self.source_count:,}, target {self.target_count:,}",
            f"  time:    {self.seconds:,.1f} s this session",
        ]
        if self.missing:
            lines.append(
                f"  not in the source store ({len(self.missing)}): " + ", ".join(self.missing[:20])
            )
        return lines


async def _documents(catalog: Catalog) -> list[Document]:
    documents: list[Document] = []
    while True:
        page = await catalog.list_documents(collections=None, limit=PAGE, offset=len(documents))
        documents.extend(page.items)
        if not page.items or len(documents) >= page.total:
            return documents


async def copy_store(
    source: VectorStore,
    target: VectorStore,
    catalog: Catalog,
    checkpoints: CheckpointStore,
    *,
    fresh: Checkpoint,
    restart: bool,
    on_start: Callable[[int, int], None],
    on_progress: Callable[[int], None],
) -> CopyReport:
    """Copy, then compare counts; raises ``CountMismatchError`` when they differ."""
    began = time.monotonic()
    await source.check()
    saved = None if restart else await checkpoints.load()
    resumed = saved is not None and not saved.finished
    checkpoint = saved if saved is not None and resumed else fresh
    documents = await _documents(catalog)
    ids = [d.document_id for d in documents]
    start = 0
    if checkpoint.after_document in ids:
        start = ids.index(checkpoint.after_document) + 1
    on_start(len(documents), start)
    missing: list[str] = []
    batch: list[DocumentVectors] = []
    done = start
    # A store without a bulk path writes one document at a time anyway: a checkpoint each.
    most = BATCH_DOCUMENTS if isinstance(target, BulkWrite) else 1
    for n, document in enumerate(documents[start:], start + 1):
        chunks, vectors = await source.read_document(document.document_id)
        if chunks:
            batch.append((document.document_id, chunks, vectors))
        elif document.chunks:
            missing.append(document.document_id)
        rows = sum(len(c) for _, c, _ in batch)
        if n == len(documents) or rows >= BATCH_ROWS or len(batch) >= most:
            # One bulk write per batch; then the checkpoint names the batch's last document.
            await upsert_documents(target, batch)
            checkpoint.after_document = document.document_id
            checkpoint.documents_written += len(batch)
            checkpoint.rows_written += rows
            await checkpoints.save(checkpoint)
            on_progress(n - done)
            done, batch = n, []
    source_count, target_count = await source.count({}), await target.count({})
    if source_count != target_count:
        raise CountMismatchError(
            f"count check failed: the source holds {source_count:,} chunks, the target "
            f"{target_count:,}. Chunks outside the catalog's documents are not copied, and a "
            "target that held other chunks before keeps them."
        )
    checkpoint.finished = True
    await checkpoints.save(checkpoint)
    return CopyReport(
        documents=checkpoint.documents_written,
        chunks=checkpoint.rows_written,
        missing=missing,
        source_count=source_count,
        target_count=target_count,
        seconds=time.monotonic() - began,
        resumed=resumed,
    )

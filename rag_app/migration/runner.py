"""``migrate from-postgres``: source pages -> documents -> embeddings -> store + catalog.

Pages are read in (document, id) order. A document is written once all its rows are in
(the last document of a page waits for the next page), so it is written whole, the page's
documents in one bulk write (``vectorstores.bulk``), each replacing its earlier set: a
re-run cannot duplicate a chunk.
The embedder is called once per page, over every accepted row of the page's documents.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from rag_app.catalog.base import Catalog
from rag_app.embedders.base import Embedder
from rag_app.migration.catalog_records import save_migrated_document
from rag_app.migration.checkpoint import Checkpoint, CheckpointStore
from rag_app.migration.mapping import Mapping
from rag_app.migration.report import RunReport, Tally
from rag_app.migration.rows import DocumentRows, Rejection, SkipReason, document_rows
from rag_app.migration.source import Resume, SourceRow, SourceTable
from rag_app.vectorstores.base import VectorStore
from rag_app.vectorstores.bulk import DocumentVectors, upsert_documents

Progress = Callable[[int], None]
"""Called with the number of source rows just handled."""


@dataclass(frozen=True, slots=True)
class Target:
    store: VectorStore
    catalog: Catalog
    embedder: Embedder


@dataclass(frozen=True, slots=True)
class Options:
    batch_size: int
    max_chars: int


def _by_document(rows: Sequence[SourceRow]) -> list[list[SourceRow]]:
    groups: list[list[SourceRow]] = []
    for row in rows:
        last = groups[-1][0] if groups else None
        if last is not None and (last.collection, last.document) == (row.collection, row.document):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


async def _documents(
    source: SourceTable, mapping: Mapping, options: Options, resume: Resume | None
) -> AsyncIterator[tuple[int, list[DocumentRows]]]:
    """Whole documents, a page at a time: each item is (rows handled, documents)."""

    def judge(rows: list[SourceRow]) -> DocumentRows:
        return document_rows(rows, mapping, max_chars=options.max_chars, page_base=source.page_base)

    pending: list[SourceRow] = []
    async for page in source.pages(resume=resume, size=options.batch_size):
        groups = _by_document(pending + page)
        pending = groups.pop()
        yield len(page), [judge(g) for g in groups]
    if pending:
        yield 0, [judge(pending)]


async def dry_run(
    source: SourceTable,
    mapping: Mapping,
    options: Options,
    *,
    on_start: Callable[[int, int], None],
    on_progress: Progress,
) -> Tally:
    """Read and judge every row; write nothing anywhere."""
    tally = Tally()
    count = await source.count()
    on_start(count.total, count.unkeyed)
    _count_unkeyed(tally, count.unkeyed)
    async for handled, documents in _documents(source, mapping, options, None):
        for document in documents:
            _count(tally, document)
        on_progress(handled)
    return tally


def _count_unkeyed(tally: Tally, unkeyed: int) -> None:
    tally.rows_read += unkeyed
    if unkeyed:
        tally.skipped[SkipReason.NO_KEY.value] += unkeyed
        tally.rejections.append(
            Rejection("-", SkipReason.NO_KEY, f"{unkeyed} rows have a NULL document key or id")
        )


def _count(tally: Tally, document: DocumentRows) -> None:
    tally.rows_read += len(document.chunks) + len(document.rejections)
    tally.documents += 1
    tally.rows_accepted += len(document.chunks)
    tally.chars_accepted += sum(len(c.text) for c in document.chunks)
    tally.count_collection(document.collection, len(document.chunks))
    tally.reject(document.rejections)


async def _write(documents: list[DocumentRows], target: Target) -> float:
    """Write the documents' chunks and records; returns the seconds spent embedding."""
    texts = [chunk.text for document in documents for chunk in document.chunks]
    began = time.monotonic()
    vectors = await target.embedder.embed_batch(texts)
    embed_seconds = time.monotonic() - began
    written: list[DocumentVectors] = []
    start = 0
    for document in documents:
        if document.chunks:
            end = start + len(document.chunks)
            written.append((document.document_id, document.chunks, vectors[start:end]))
            start = end
    # The page's documents in one bulk write where the store has one; each still replaces
    # its own earlier chunks, so a re-run after a failure stores every chunk once.
    await upsert_documents(target.store, written)
    for document in documents:
        if document.chunks:
            await save_migrated_document(target.catalog, document)
    return embed_seconds


async def from_postgres(
    source: SourceTable,
    mapping: Mapping,
    target: Target,
    checkpoints: CheckpointStore,
    *,
    fresh: Checkpoint,
    options: Options,
    restart: bool,
    on_start: Callable[[int, int], None],
    on_progress: Progress,
) -> RunReport:
    """Migrate every row not yet migrated; ``on_start(total, done)`` comes first.

    ``fresh`` is the checkpoint of a run that starts from nothing; ``restart`` ignores a
    saved one. Raises what the store or embedder raises; the checkpoint then holds the last
    page written whole, and the next run continues from there.
    """
    began = time.monotonic()
    saved = None if restart else await checkpoints.load()
    if saved is not None and saved.finished:
        return RunReport(0, 0, 0, {}, Counter(), [], 0, 0.0, True, already_finished=True)
    checkpoint = saved or fresh
    resume = (
        None
        if checkpoint.after_document is None
        else Resume(checkpoint.after_collection, checkpoint.after_document)
    )
    tally = Tally()
    session_rows = 0
    embed_seconds = 0.0
    count = await source.count()
    on_start(count.total, checkpoint.rows_read)
    if saved is None:
        _count_unkeyed(tally, count.unkeyed)
        checkpoint.rows_read = tally.rows_read
        checkpoint.skipped = dict(tally.skipped)
        on_progress(count.unkeyed)
        session_rows += count.unkeyed
    async for handled, documents in _documents(source, mapping, options, resume):
        if documents:
            embed_seconds += await _write(documents, target)
            for document in documents:
                _count(tally, document)
                checkpoint.rows_read += len(document.chunks) + len(document.rejections)
                checkpoint.rows_written += len(document.chunks)
                checkpoint.documents_written += 1 if document.chunks else 0
                if document.chunks:
                    written = checkpoint.by_collection.setdefault(document.collection, [0, 0])
                    written[0] += 1
                    written[1] += len(document.chunks)
                for rejection in document.rejections:
                    reason = rejection.reason.value
                    checkpoint.skipped[reason] = checkpoint.skipped.get(reason, 0) + 1
            checkpoint.after_document = documents[-1].source_document
            checkpoint.after_collection = documents[-1].source_collection
            await checkpoints.save(checkpoint)
        on_progress(handled)
        session_rows += handled
    checkpoint.finished = True
    await checkpoints.save(checkpoint)
    return RunReport(
        rows_read=checkpoint.rows_read,
        rows_written=checkpoint.rows_written,
        documents_written=checkpoint.documents_written,
        by_collection={k: (v[0], v[1]) for k, v in checkpoint.by_collection.items()},
        skipped=Counter(checkpoint.skipped),
        rejections=tally.rejections,
        session_rows=session_rows,
        seconds=time.monotonic() - began,
        resumed=saved is not None,
        embed_seconds=embed_seconds,
    )

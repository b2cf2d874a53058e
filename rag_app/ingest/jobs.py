"""Ingestion jobs: the state machine that takes one job from queued to done or failed
(``IngestionJobs.run``); the job queue's workers (``rag_app/jobqueue/worker.py``) call it.
Job state lives in the catalog, never only here.

Stages, in order (``RECOGNISING`` only when OCR or speech recognition runs):

    QUEUED -> PARSING -> [RECOGNISING] -> CHUNKING -> EMBEDDING -> INDEXING -> DONE

The catalog records the stages a reader can see last (QUEUED, PARSING, RECOGNISING,
EMBEDDING, DONE); CHUNKING takes milliseconds and INDEXING a fraction of EMBEDDING, so the
job holds them in memory only (a failure there still names them). Any stage may end in
FAILED instead, with a reason a person can act on. The document
follows its latest job: PROCESSING while it runs, READY or FAILED after (an earlier
indexed version keeps serving when a new one fails).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rag_app import metrics
from rag_app.blobstores.base import BlobStore
from rag_app.catalog.base import Catalog
from rag_app.domain import Chunk, Document, DocumentStatus, Job, JobStage, JobStatus
from rag_app.embedders.base import Embedder
from rag_app.errors import (
    PayloadTooLargeError,
    RagError,
    ReaderCrashedError,
    UnprocessableDocumentError,
)
from rag_app.ingest.chunking import ChunkLimits, ChunkSpan, chunk_content
from rag_app.ingest.email_messages import Attachment
from rag_app.ingest.extraction import Extraction, Extractor
from rag_app.ingest.files import StoredFile
from rag_app.ingest.originals import delete_version
from rag_app.vectorstores.base import VectorStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Retry:
    """A job attempt failed in a way another attempt may not (a crash, an outage): the job
    went back to ``queued`` with ``reason`` as its error, for the queue to offer again."""

    reason: str


def _retryable(error: Exception) -> bool:
    # Our own errors are verdicts on the file (malformed, too large): the same every time.
    return not isinstance(error, RagError) or isinstance(error, ReaderCrashedError)


STAGE_ORDER = tuple(JobStage)  # QUEUED ... DONE, in the order a job goes through them


def now() -> datetime:
    return datetime.now(UTC)


def version_of(job: Job) -> dict[str, Any]:
    """The document fields that describe the uploaded version a job ingests."""
    return {
        "title": job.title,
        "collection": job.collection,
        "metadata": job.metadata,
        "filename": job.filename,
        "media_type": job.media_type,
        "content_sha256": job.content_sha256,
        "size_bytes": job.size_bytes,
    }


def with_found(job: Job, extraction: Extraction) -> Job:
    """The job with what its file said about itself (an e-mail's headers): metadata the
    uploader did not set, and the title unless the uploader gave one (not the file name)."""
    if not extraction.metadata and extraction.title is None:
        return job
    defaulted = job.title == job.filename.rsplit("/", 1)[-1]
    return dataclasses.replace(
        job,
        title=extraction.title if extraction.title and defaulted else job.title,
        metadata={**extraction.metadata, **job.metadata},
    )


# Takes a message's attachments (to submit them as documents of their own).
AttachmentHandler = Callable[[Job, Sequence[Attachment]], Awaitable[None]]


def _chunks(job: Job, spans: list[ChunkSpan]) -> list[Chunk]:
    return [
        Chunk(
            document_id=job.document_id,
            chunk_no=i,
            text=span.text,
            page=span.page,
            char_start=span.char_start,
            char_end=span.char_end,
            title=job.title,
            collection=job.collection,
            metadata=job.metadata,
            ocr=span.ocr,
            start_s=span.start_s,
            end_s=span.end_s,
        )
        for i, span in enumerate(spans)
    ]


class IngestionJobs:
    """Runs one job through its stages: parse (and recognise), chunk, embed, index."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        blobs: BlobStore,
        store: VectorStore,
        embedder: Embedder,
        extractor: Extractor,
        chunking: ChunkLimits,
        max_chunks: int,
    ) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._store = store
        self._embedder = embedder
        self._extractor = extractor
        self._chunking = chunking
        self._max_chunks = max_chunks
        self._attachments: AttachmentHandler | None = None

    def on_attachments(self, handler: AttachmentHandler) -> None:
        """Who takes the attachments a job's file carries (unset: they are dropped); called
        before the job ends, so a client that sees it succeed finds them submitted."""
        self._attachments = handler

    async def run(self, job_id: str, *, may_retry: bool = False) -> Job | Retry | None:
        """Parse, chunk, embed and index one job's file. Failures are recorded on the job
        (and the document) with a readable reason; they are not raised. With
        ``may_retry``, a failure another attempt may not repeat (``_retryable``) puts the
        job back to ``queued`` with the reason and returns ``Retry``. A job already
        finished (or cancelled, or deleted) is left as it is (a queue may deliver it twice)."""
        found = await self._catalog.get_job(job_id)
        if found is None or found.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return None
        job = await self._advance(found, JobStage.PARSING)
        try:
            await self._set_document_status(job, DocumentStatus.PROCESSING, error=None)
            data = await self._blobs.get(job.blob_key)
            transcript = None
            if job.transcript_key is not None:
                transcript = StoredFile(
                    job.transcript_key, await self._blobs.get(job.transcript_key), "text/plain"
                )

            async def on_stage(stage: JobStage) -> None:
                nonlocal job
                job = await self._advance(job, stage)

            started = time.perf_counter()
            extraction = await self._extractor.extract(
                StoredFile(job.blob_key, data, job.media_type), transcript, on_stage
            )
            extracted = time.perf_counter()
            job = with_found(job, extraction)
            job = await self._advance(job, JobStage.CHUNKING, record=False)
            chunks = self._chunk(job, extraction)
            job = await self._advance(job, JobStage.EMBEDDING)
            embedding = time.perf_counter()
            vectors = await self._embedder.embed_batch([c.text for c in chunks])
            embedded = time.perf_counter()
            job = await self._advance(job, JobStage.INDEXING, record=False)
            indexing = time.perf_counter()
            await self._store.upsert_document(job.document_id, chunks, vectors)
            indexed = time.perf_counter()
            if extraction.attachments and self._attachments is not None:
                await self._attachments(job, extraction.attachments)
            job = await self._finish(job, extraction, chunks=len(chunks))
            # Where a job's time goes; the ingest benchmark reads ``stage_seconds``.
            seconds = {
                "extract": extracted - started,
                "embed": embedded - embedding,
                "index": indexed - indexing,
            }
            log.info(
                "job %s: %d chunks; extract %.2f s, embed %.2f s, index %.2f s",
                job_id,
                len(chunks),
                *seconds.values(),
                extra={"stage_seconds": seconds},
            )
        except Exception as e:
            if isinstance(e, RagError):
                reason = str(e)
            else:
                log.exception("ingestion job %s failed", job_id)
                reason = f"internal error while {job.stage.value}: {type(e).__name__}: {e}"
            if may_retry and _retryable(e):
                # The reason stays on the job through the next attempt: if that worker
                # dies, it is the last failure anyone saw.
                await self._catalog.save_job(
                    dataclasses.replace(
                        job,
                        stage=JobStage.QUEUED,
                        status=JobStatus.QUEUED,
                        error=reason,
                        updated_at=now(),
                    )
                )
                return Retry(reason)
            metrics.emit(metrics.INGESTION_FAILURES, Stage=job.stage.value)
            return await self._fail(job, reason)
        return job

    async def abandon(self, job_id: str, reason: str) -> None:
        """Mark an unfinished job failed with ``reason`` (it ran out of attempts, could not
        be queued, or an operator cancelled it); a finished or unknown job is left alone."""
        job = await self._catalog.get_job(job_id)
        if job is not None and job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            metrics.emit(metrics.INGESTION_FAILURES, Stage=job.stage.value)
            await self._fail(job, reason)

    def _chunk(self, job: Job, extraction: Extraction) -> list[Chunk]:
        spans = chunk_content(extraction.content, self._chunking)
        if not spans:  # never "succeeded" with nothing to find
            raise UnprocessableDocumentError("the file yielded no text to index")
        if len(spans) > self._max_chunks:
            raise PayloadTooLargeError(
                f"the document makes {len(spans):,} chunks; the limit is {self._max_chunks:,} "
                "(RAG_MAX_CHUNKS_PER_DOCUMENT); nothing was indexed"
            )
        return _chunks(job, spans)

    async def _advance(self, job: Job, stage: JobStage, *, record: bool = True) -> Job:
        """The job at ``stage`` (and running), saved unless ``record`` is False: stages only
        move forward, except to PARSING, where a job interrupted by a stop starts over."""
        if stage is not JobStage.PARSING and STAGE_ORDER.index(stage) <= STAGE_ORDER.index(
            job.stage
        ):
            raise AssertionError(f"job {job.job_id}: {job.stage.value} -> {stage.value}")
        status = JobStatus.SUCCEEDED if stage is JobStage.DONE else JobStatus.RUNNING
        error = None if stage is JobStage.DONE else job.error  # an earlier attempt's, until done
        job = dataclasses.replace(job, stage=stage, status=status, error=error, updated_at=now())
        if record:
            await self._catalog.save_job(job)
        return job

    async def _latest(self, job: Job) -> Document | None:
        """The job's document, if this job is still its latest version."""
        document = await self._catalog.get_document(job.document_id)
        if document is not None and document.latest_job_id == job.job_id:
            return document
        return None

    async def _set_document_status(
        self, job: Job, status: DocumentStatus, *, error: str | None
    ) -> None:
        document = await self._latest(job)
        if document is not None:
            await self._catalog.save_document(
                dataclasses.replace(document, status=status, error=error, updated_at=now())
            )

    async def _finish(self, job: Job, extraction: Extraction, *, chunks: int) -> Job:
        document = await self._catalog.get_document(job.document_id)
        if document is None:  # deleted while the job ran: leave nothing behind
            await self._store.delete_document(job.document_id)
            await delete_version(self._blobs, job.document_id, job.content_sha256, job.media_type)
        else:
            previous = (document.document_id, document.content_sha256, document.media_type)
            await self._catalog.save_document(
                dataclasses.replace(
                    document,
                    **version_of(job),
                    status=DocumentStatus.READY,
                    pages=extraction.pages,
                    chunks=chunks,
                    error=extraction.warning,
                    pages_text=extraction.pages_text,
                    pages_ocr=extraction.pages_ocr,
                    pages_empty=extraction.pages_empty,
                    duration_s=extraction.duration_s,
                    transcript_source=extraction.transcript_source,
                    updated_at=now(),
                )
            )
            if previous[1] != job.content_sha256:
                await delete_version(self._blobs, *previous)
        return await self._advance(job, JobStage.DONE)

    async def _fail(self, job: Job, reason: str) -> Job:
        # The document first, the job last (as in _finish): a client that sees the job
        # end then finds the document in its final state.
        document = await self._latest(job)
        if document is not None:
            if document.chunks > 0:  # an earlier version is indexed and keeps serving
                status, error = DocumentStatus.READY, f"the latest upload failed: {reason}"
                if job.content_sha256 != document.content_sha256:
                    await delete_version(
                        self._blobs, job.document_id, job.content_sha256, job.media_type
                    )
            else:
                status, error = DocumentStatus.FAILED, reason
            await self._catalog.save_document(
                dataclasses.replace(document, status=status, error=error, updated_at=now())
            )
        failed = dataclasses.replace(job, status=JobStatus.FAILED, error=reason, updated_at=now())
        await self._catalog.save_job(failed)
        return failed

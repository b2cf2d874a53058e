"""Ingestion: accept an upload, keep the original, and turn it into indexed chunks in a job."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rag_app.blobstores.base import BlobStore
from rag_app.catalog.base import Catalog
from rag_app.domain import (
    Chunk,
    Document,
    DocumentStatus,
    Job,
    JobStage,
    JobStatus,
    Metadata,
)
from rag_app.embedders.base import Embedder
from rag_app.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    RagError,
    UnsupportedMediaError,
)
from rag_app.ingest.extraction import Extraction, Extractor
from rag_app.ingest.files import EXTENSION_OF, FileKind, FileType, StoredFile, file_type
from rag_app.ingest.transcripts import parse_transcript
from rag_app.ingest.validation import (
    check_collection,
    check_document_id,
    check_filename,
    check_metadata,
    check_title,
)
from rag_app.vectorstores.base import VectorStore
from rag_app.vectorstores.records import check_filterable_budget

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "default"


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    data: bytes
    title: str | None = None
    collection: str = DEFAULT_COLLECTION
    metadata: Metadata = dataclasses.field(default_factory=dict)
    document_id: str | None = None
    transcript: bytes | None = None  # a WebVTT/SubRip file for the audio or video in ``data``


@dataclass(frozen=True, slots=True)
class Submission:
    document_id: str
    job_id: str
    status: JobStatus
    duplicate: bool


class JobTakenError(Exception):
    """The job's record changed under this process: another one runs it now."""


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_upload_bytes: int  # PDFs and transcripts
    max_media_bytes: int  # audio and video
    max_chunks: int = 20_000  # per document: bounds one job's embedding calls and storage


def _check_chunk_count(count: int, limit: int) -> None:
    if count > limit:
        raise PayloadTooLargeError(
            f"the document makes {count:,} chunks; the limit is {limit:,} "
            "(RAG_MAX_CHUNKS_PER_DOCUMENT); nothing was indexed"
        )


def blob_key(document_id: str, sha256: str, media_type: str) -> str:
    return f"documents/{document_id}/{sha256}.{EXTENSION_OF.get(media_type, 'pdf')}"


def transcript_keys(document_id: str, sha256: str) -> dict[str, str]:
    """Where a transcript uploaded next to a media version is kept, by its extension."""
    return {ext: f"documents/{document_id}/{sha256}.transcript.{ext}" for ext in ("vtt", "srt")}


def content_sha256(upload: Upload) -> str:
    """The digest that identifies a version: of the file, and of its transcript if one came
    with it (a corrected transcript for the same recording is a new version)."""
    sha = hashlib.sha256(upload.data).hexdigest()
    if upload.transcript is None:
        return sha
    return hashlib.sha256(
        f"{sha}+{hashlib.sha256(upload.transcript).hexdigest()}".encode()
    ).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _version_of(job: Job) -> dict[str, Any]:
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


class IngestionService:
    def __init__(
        self,
        *,
        catalog: Catalog,
        blobs: BlobStore,
        store: VectorStore,
        embedder: Embedder,
        extractor: Extractor,
        limits: IngestLimits,
        swap_lease_seconds: float = 600.0,
    ) -> None:
        self._catalog = catalog
        self._swap_lease_seconds = swap_lease_seconds
        self._extractor = extractor
        self._blobs = blobs
        self._store = store
        self._embedder = embedder
        self._limits = limits
        self._schedule: Callable[[str], None] = lambda job_id: None

    def on_submit(self, schedule: Callable[[str], None]) -> None:
        """Where new jobs go (the background runner); unset, they wait for ``run_job``."""
        self._schedule = schedule

    def _check_file(self, upload: Upload) -> FileType:
        size = len(upload.data)
        if size == 0:
            raise InvalidInputError(f"the file {upload.filename!r} is empty")
        found = file_type(upload.filename, upload.data[:1024])
        media = found.kind is FileKind.MEDIA
        limit = self._limits.max_media_bytes if media else self._limits.max_upload_bytes
        if size > limit:
            setting = "RAG_MAX_MEDIA_BYTES" if media else "RAG_MAX_UPLOAD_BYTES"
            raise PayloadTooLargeError(
                f"the file is {size} bytes; the limit for {found.extension.upper()} files is "
                f"{limit} bytes ({setting})"
            )
        if found.kind is FileKind.TRANSCRIPT:
            parse_transcript(upload.data)  # a malformed transcript is refused here, not later
        if upload.transcript is not None:
            if not media:
                raise InvalidInputError("a transcript can only come with an audio or video file")
            if len(upload.transcript) > self._limits.max_upload_bytes:
                raise PayloadTooLargeError(
                    f"the transcript is {len(upload.transcript)} bytes; the limit is "
                    f"{self._limits.max_upload_bytes} bytes"
                )
            sidecar = file_type("the transcript", upload.transcript[:1024])
            if sidecar.kind is not FileKind.TRANSCRIPT:
                raise UnsupportedMediaError("the transcript must be a WebVTT or SubRip file")
            parse_transcript(upload.transcript)
        return found

    async def submit(self, upload: Upload) -> Submission:
        """Validate and store the file, and queue a job for it.

        Identical content already in the collection (or under the same ``document_id``) is
        not ingested again: the existing document is returned with ``duplicate=True``.
        """
        check_filename(upload.filename)
        found = self._check_file(upload)
        collection = check_collection(upload.collection)
        metadata = check_metadata(upload.metadata)
        title = check_title(upload.title or upload.filename.rsplit("/", 1)[-1])
        sha = content_sha256(upload)

        if upload.document_id is None:
            existing = await self._catalog.find_document_by_content(collection, sha)
            document_id = existing.document_id if existing else uuid.uuid4().hex
        else:
            document_id = check_document_id(upload.document_id)
            existing = await self._catalog.get_document(document_id)
            holder = await self._catalog.find_document_by_content(collection, sha)
            if holder is not None and holder.document_id != document_id:
                raise ConflictError(
                    f"this content is already document {holder.document_id!r} of collection "
                    f"{collection!r}"
                )
        # The same budget the stores enforce per chunk, checked before the file is stored.
        check_filterable_budget(
            {**metadata, "document_id": document_id, "collection": collection, "page": 1},
            "the document's metadata",
        )
        if (
            existing is not None
            and existing.content_sha256 == sha
            and existing.status is not DocumentStatus.FAILED
        ):
            job = await self._catalog.get_job(existing.latest_job_id)
            status = job.status if job else JobStatus.SUCCEEDED
            return Submission(document_id, existing.latest_job_id, status, duplicate=True)

        key = blob_key(document_id, sha, found.media_type)
        await self._blobs.put(key, upload.data, content_type=found.media_type)
        transcript_key = None
        if upload.transcript is not None:
            sidecar = file_type("the transcript", upload.transcript[:1024])
            transcript_key = transcript_keys(document_id, sha)[sidecar.extension]
            await self._blobs.put(
                transcript_key, upload.transcript, content_type=sidecar.media_type
            )
        now = _now()
        job = Job(
            job_id=uuid.uuid4().hex,
            document_id=document_id,
            status=JobStatus.QUEUED,
            stage=JobStage.QUEUED,
            error=None,
            content_sha256=sha,
            blob_key=key,
            filename=upload.filename,
            media_type=found.media_type,
            size_bytes=len(upload.data),
            title=title,
            collection=collection,
            metadata=metadata,
            created_at=now,
            updated_at=now,
            transcript_key=transcript_key,
        )
        await self._catalog.save_job(job)
        if existing is None:
            created = Document(
                document_id=document_id,
                **_version_of(job),
                status=DocumentStatus.QUEUED,
                pages=0,
                chunks=0,
                error=None,
                latest_job_id=job.job_id,
                created_at=now,
                updated_at=now,
            )
            # The catalog decides between racing uploads: one creates the document.
            existing = await self._catalog.create_document(created)
            if existing is not None and not (
                existing.document_id == document_id and existing.content_sha256 != sha
            ):
                return await self._lost_race(job, existing, explicit=upload.document_id)
        if existing is not None:
            # A new version: the old chunks keep serving until the new ones are indexed.
            await self._catalog.save_document(
                dataclasses.replace(
                    existing,
                    status=DocumentStatus.QUEUED,
                    latest_job_id=job.job_id,
                    updated_at=now,
                )
            )
        self._schedule(job.job_id)
        return Submission(document_id, job.job_id, JobStatus.QUEUED, duplicate=False)

    async def _lost_race(self, job: Job, holder: Document, *, explicit: str | None) -> Submission:
        """Another upload created the document (or holds this content) first: this job
        will not run; the upload is that document's duplicate, or a conflict."""
        await self._catalog.save_job(
            dataclasses.replace(
                job,
                status=JobStatus.FAILED,
                error=f"duplicate of document {holder.document_id!r}",
                updated_at=_now(),
            )
        )
        if holder.document_id != job.document_id:
            await self._delete_files(job.document_id, job.content_sha256, job.media_type)
        if explicit is not None and holder.document_id != explicit:
            raise ConflictError(
                f"this content is already document {holder.document_id!r} of collection "
                f"{holder.collection!r}"
            )
        latest = await self._catalog.get_job(holder.latest_job_id)
        status = latest.status if latest else JobStatus.SUCCEEDED
        return Submission(holder.document_id, holder.latest_job_id, status, duplicate=True)

    async def run_job(self, job_id: str) -> None:
        """Parse, chunk, embed and index one job's file. Failures are recorded on the job
        (and the document) with a readable reason; they are not raised."""
        found = await self._catalog.get_job(job_id)
        if found is None or found.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return
        job = dataclasses.replace(
            found, stage=JobStage.PARSING, status=JobStatus.RUNNING, updated_at=_now()
        )
        if not await self._catalog.replace_job(job, previous=found):
            return  # another process claimed it first (two replicas resuming the same job)
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
            job = await self._advance(job, JobStage.CHUNKING)
            _check_chunk_count(len(extraction.spans), self._limits.max_chunks)
            chunks = [
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
                for i, span in enumerate(extraction.spans)
            ]
            job = await self._advance(job, JobStage.EMBEDDING)
            embedding = time.perf_counter()
            vectors = await self._embedder.embed_batch([c.text for c in chunks])
            embedded = time.perf_counter()
            job = await self._advance(job, JobStage.INDEXING)
            indexing = time.perf_counter()
            await self._acquire_swap(job)
            try:
                await self._check_content_free(job)
                await self._store.upsert_document(job.document_id, chunks, vectors)
                indexed = time.perf_counter()
                await self._finish(job, extraction, chunks=len(chunks))
            finally:
                await self._catalog.release_swap(job.document_id, job.job_id)
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
        except JobTakenError:
            log.warning("ingestion job %s was taken over by another process; stopping", job_id)
        except Exception as e:
            if isinstance(e, RagError):
                reason = str(e)
            else:
                log.exception("ingestion job %s failed", job_id)
                reason = f"internal error while {job.stage.value}: {type(e).__name__}: {e}"
            await self._fail(job, reason)

    async def _acquire_swap(self, job: Job) -> None:
        """Wait for the document's version-swap lease: another version being written waits
        here, then swaps in after it (the later swap is the newer version); a holder that died
        frees it after the lease."""
        deadline = time.monotonic() + self._swap_lease_seconds + 5
        delay = 0.05
        while not await self._catalog.acquire_swap(
            job.document_id, job.job_id, lease_seconds=self._swap_lease_seconds
        ):
            if time.monotonic() > deadline:
                raise ConflictError("another version of the document is still being indexed")
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)

    async def _check_content_free(self, job: Job) -> None:
        holder = await self._catalog.find_document_by_content(job.collection, job.content_sha256)
        if holder is not None and holder.document_id != job.document_id:
            raise ConflictError(
                f"this content became document {holder.document_id!r} of collection "
                f"{job.collection!r} while it was ingested"
            )

    async def _advance(
        self, job: Job, stage: JobStage, status: JobStatus = JobStatus.RUNNING
    ) -> Job:
        """The job's next state, written only if the job is still as this process left it:
        a process whose job was taken over (lease expired, message redelivered) stops."""
        advanced = dataclasses.replace(job, stage=stage, status=status, updated_at=_now())
        if not await self._catalog.replace_job(advanced, previous=job):
            raise JobTakenError(job.job_id)
        return advanced

    async def _set_document_status(
        self, job: Job, status: DocumentStatus, *, error: str | None
    ) -> None:
        document = await self._catalog.get_document(job.document_id)
        if document is not None and document.latest_job_id == job.job_id:
            await self._catalog.save_document(
                dataclasses.replace(document, status=status, error=error, updated_at=_now())
            )

    async def _finish(self, job: Job, extraction: Extraction, *, chunks: int) -> None:
        document = await self._catalog.get_document(job.document_id)
        if document is None:  # deleted while the job ran: leave nothing behind
            await self._store.delete_document(job.document_id)
            await self._delete_files(job.document_id, job.content_sha256, job.media_type)
        else:
            previous = (document.document_id, document.content_sha256, document.media_type)
            await self._catalog.save_document(
                dataclasses.replace(
                    document,
                    **_version_of(job),
                    status=DocumentStatus.READY,
                    pages=extraction.pages,
                    chunks=chunks,
                    error=extraction.warning,
                    pages_text=extraction.pages_text,
                    pages_ocr=extraction.pages_ocr,
                    pages_empty=extraction.pages_empty,
                    duration_s=extraction.duration_s,
                    transcript_source=extraction.transcript_source,
                    updated_at=_now(),
                )
            )
            if previous[1] != job.content_sha256:
                await self._delete_files(*previous)
        await self._advance(job, JobStage.DONE, JobStatus.SUCCEEDED)

    async def _fail(self, job: Job, reason: str) -> None:
        # The document first, the job last (as in _finish): a client that sees the job
        # end then finds the document in its final state.
        document = await self._catalog.get_document(job.document_id)
        if document is not None and document.latest_job_id == job.job_id:
            if document.chunks > 0:  # an earlier version is indexed and keeps serving
                status, error = DocumentStatus.READY, f"the latest upload failed: {reason}"
                if job.content_sha256 != document.content_sha256:
                    await self._delete_files(job.document_id, job.content_sha256, job.media_type)
            else:
                status, error = DocumentStatus.FAILED, reason
            await self._catalog.save_document(
                dataclasses.replace(document, status=status, error=error, updated_at=_now())
            )
        await self._catalog.replace_job(
            dataclasses.replace(job, status=JobStatus.FAILED, error=reason, updated_at=_now()),
            previous=job,
        )

    async def original(self, document_id: str) -> tuple[Document, bytes]:
        """The document and the bytes of its indexed (or, before that, uploaded) version.
        Unknown ids, and documents with no version indexed yet, raise NotFoundError."""
        document = await self._catalog.get_document(document_id)
        if document is None:
            raise NotFoundError(f"no document {document_id!r}")
        try:
            data = await self._blobs.get(
                blob_key(document_id, document.content_sha256, document.media_type)
            )
        except KeyError:
            raise NotFoundError(f"document {document_id!r} has no stored file") from None
        return document, data

    async def delete(self, document_id: str) -> None:
        """Remove the document's chunks, record and files. Unknown ids raise NotFoundError."""
        document = await self._catalog.get_document(document_id)
        if document is None:
            raise NotFoundError(f"no document {document_id!r}")
        job = await self._catalog.get_job(document.latest_job_id)
        await self._store.delete_document(document_id)
        await self._catalog.delete_document(document_id)
        await self._delete_files(document_id, document.content_sha256, document.media_type)
        if job is not None:
            await self._delete_files(document_id, job.content_sha256, job.media_type)

    async def _delete_files(self, document_id: str, sha256: str, media_type: str) -> None:
        """A version's original and any transcript that came with it."""
        await self._blobs.delete(blob_key(document_id, sha256, media_type))
        for key in transcript_keys(document_id, sha256).values():
            await self._blobs.delete(key)

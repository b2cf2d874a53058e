"""Ingestion: accept an upload, keep the original, and queue the job that indexes it
(``ingest/jobs.py`` runs it); read back and delete originals."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag_app.blobstores.base import BlobStore, SignsUrls
from rag_app.catalog.base import Catalog
from rag_app.domain import (
    Document,
    DocumentStatus,
    Job,
    JobStage,
    JobStatus,
    Metadata,
)
from rag_app.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    RagError,
    UnsupportedMediaError,
)
from rag_app.ingest.email_messages import Attachment
from rag_app.ingest.files import FileKind, FileType, file_type
from rag_app.ingest.jobs import IngestionJobs, Retry, now, version_of
from rag_app.ingest.originals import (
    blob_key,
    delete_version,
    ocr_layer_key,
    transcript_keys,
    word_layer_key,
)
from rag_app.ingest.transcripts import parse_transcript
from rag_app.ingest.validation import (
    check_collection,
    check_document_id,
    check_filename,
    check_metadata,
    check_title,
)
from rag_app.jobqueue.base import JobQueue
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


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_upload_bytes: int  # PDFs and transcripts
    max_media_bytes: int  # audio and video


def content_sha256(upload: Upload) -> str:
    """The digest that identifies a version: of the file, and of its transcript if one came
    with it (a corrected transcript for the same recording is a new version)."""
    sha = hashlib.sha256(upload.data).hexdigest()
    if upload.transcript is None:
        return sha
    return hashlib.sha256(
        f"{sha}+{hashlib.sha256(upload.transcript).hexdigest()}".encode()
    ).hexdigest()


class IngestionService:
    def __init__(
        self,
        *,
        catalog: Catalog,
        blobs: BlobStore,
        store: VectorStore,
        jobs: IngestionJobs,
        queue: JobQueue | None,
        limits: IngestLimits,
    ) -> None:
        """``queue``: where new jobs go (the job queue's ``send``); None: they wait for
        ``run_job``. If sending fails, the job (and a new document) is marked failed, so
        an upload of the same file starts afresh, and the error propagates."""
        self._catalog = catalog
        self._blobs = blobs
        self._store = store
        self._jobs = jobs
        self._queue = queue
        self._limits = limits
        jobs.on_attachments(self._submit_attachments)

    def _check_file(self, upload: Upload) -> tuple[FileType, FileType | None]:
        """The upload's type and its transcript's (sniffed here, once, and recorded on the
        job), after the size limits; a malformed transcript is refused now, not later."""
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
            return found, sidecar
        return found, None

    async def submit(
        self, upload: Upload, *, authorise: Callable[[Document], None] = lambda existing: None
    ) -> Submission:
        """Validate and store the file, and queue a job for it.

        Identical content already in the collection (or under the same ``document_id``) is
        not ingested again: the existing document is returned with ``duplicate=True``.
        ``authorise`` sees the document an explicit ``document_id`` replaces, if there is
        one, before anything is stored, and raises to refuse (the caller's grants).
        """
        check_filename(upload.filename)
        found, sidecar = self._check_file(upload)
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
            if existing is not None:
                authorise(existing)
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
        if upload.transcript is not None and sidecar is not None:
            transcript_key = transcript_keys(document_id, sha)[sidecar.extension]
            await self._blobs.put(
                transcript_key, upload.transcript, content_type=sidecar.media_type
            )
        created = now()
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
            created_at=created,
            updated_at=created,
            transcript_key=transcript_key,
        )
        await self._catalog.save_job(job)
        if existing is None:
            document = Document(
                document_id=document_id,
                **version_of(job),
                status=DocumentStatus.QUEUED,
                pages=0,
                chunks=0,
                error=None,
                latest_job_id=job.job_id,
                created_at=created,
                updated_at=created,
            )
            # The catalog decides between racing uploads: one creates the document.
            existing = await self._catalog.create_document(document)
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
                    updated_at=created,
                )
            )
        if self._queue is not None:
            try:
                await self._queue.send(job.job_id)
            except Exception:
                await self._jobs.abandon(job.job_id, "the job could not be queued; upload again")
                raise
        return Submission(document_id, job.job_id, JobStatus.QUEUED, duplicate=False)

    async def _lost_race(self, job: Job, holder: Document, *, explicit: str | None) -> Submission:
        """Another upload created the document (or holds this content) first: this job
        will not run; the upload is that document's duplicate, or a conflict."""
        await self._catalog.save_job(
            dataclasses.replace(
                job,
                status=JobStatus.FAILED,
                error=f"duplicate of document {holder.document_id!r}",
                updated_at=now(),
            )
        )
        if holder.document_id != job.document_id:
            await delete_version(self._blobs, job.document_id, job.content_sha256, job.media_type)
        if explicit is not None and holder.document_id != explicit:
            raise ConflictError(
                f"this content is already document {holder.document_id!r} of collection "
                f"{holder.collection!r}"
            )
        latest = await self._catalog.get_job(holder.latest_job_id)
        status = latest.status if latest else JobStatus.SUCCEEDED
        return Submission(holder.document_id, holder.latest_job_id, status, duplicate=True)

    async def _submit_attachments(self, job: Job, attachments: Sequence[Attachment]) -> None:
        """Each attachment of a supported type becomes a document of its own in the same
        collection, with ``parent_document_id`` metadata; others are skipped (logged).
        Without a background runner their jobs run here, before the message's ends."""
        for attachment in attachments:
            try:
                submission = await self.submit(
                    Upload(
                        filename=attachment.filename,
                        data=attachment.data,
                        collection=job.collection,
                        metadata={"parent_document_id": job.document_id},
                    )
                )
            except RagError as e:
                log.info(
                    "attachment %r of %s not ingested: %s", attachment.filename, job.document_id, e
                )
                continue
            if self._queue is None and not submission.duplicate:
                await self.run_job(submission.job_id)

    async def run_job(self, job_id: str, *, may_retry: bool = False) -> Job | Retry | None:
        """Run one job now, in this task (see ``IngestionJobs.run``): what a worker does
        with a job it took from the queue, and a caller without workers (tests) after
        ``submit``."""
        return await self._jobs.run(job_id, may_retry=may_retry)

    async def abandon(self, job_id: str, reason: str) -> None:
        """See ``IngestionJobs.abandon``."""
        await self._jobs.abandon(job_id, reason)

    async def retry(self, job_id: str) -> Job:
        """Queue a failed job again (its document's latest upload). Unknown ids raise
        NotFoundError; a job that is not failed, or whose document has a newer upload or
        is deleted, raises InvalidInputError."""
        job = await self._catalog.get_job(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r}")
        if job.status is not JobStatus.FAILED:
            raise InvalidInputError(
                f"job {job_id} is {job.status.value}; only a failed job retries"
            )
        document = await self._catalog.get_document(job.document_id)
        if document is None or document.latest_job_id != job.job_id:
            raise InvalidInputError(
                f"job {job_id} is not its document's latest upload (replaced or deleted)"
            )
        job = dataclasses.replace(
            job, status=JobStatus.QUEUED, stage=JobStage.QUEUED, error=None, updated_at=now()
        )
        await self._catalog.save_job(job)
        if document.chunks == 0:  # else the indexed version keeps serving meanwhile
            await self._catalog.save_document(
                dataclasses.replace(
                    document, status=DocumentStatus.QUEUED, error=None, updated_at=now()
                )
            )
        if self._queue is not None:
            await self._queue.send(job.job_id)
        return job

    async def _beside_original(
        self, document: Document, key_of: Callable[[str], str]
    ) -> bytes | None:
        """The blob ``key_of`` names beside ``document``'s indexed original, or None."""
        try:
            return await self._blobs.get(
                key_of(blob_key(document.document_id, document.content_sha256, document.media_type))
            )
        except KeyError:
            return None

    async def ocr_layer(self, document: Document) -> bytes | None:
        """The OCR'd copy of ``document``'s indexed PDF (its scanned pages with their words
        as a text layer), or None when no page of it was OCR'd by ocrmypdf."""
        return await self._beside_original(document, ocr_layer_key)

    async def signed_original_url(
        self, document: Document, *, seconds: int, content_type: str, disposition: str
    ) -> str | None:
        """A short-lived URL from which a browser fetches ``document``'s indexed original
        itself (with Range), served as ``content_type`` and ``disposition``; None when the
        blob store cannot sign URLs (the local one). The caller has checked access."""
        if not isinstance(self._blobs, SignsUrls):
            return None
        key = blob_key(document.document_id, document.content_sha256, document.media_type)
        return await self._blobs.signed_get(
            key, seconds=seconds, content_type=content_type, disposition=disposition
        )

    def signed_url_origin(self) -> str | None:
        """The origin of ``signed_original_url``'s URLs, or None (see there)."""
        return self._blobs.origin() if isinstance(self._blobs, SignsUrls) else None

    async def ocr_words(self, document: Document) -> bytes | None:
        """The words Amazon Textract read on ``document``'s indexed PDF with their boxes
        (``rag_app.ingest.word_layer``), or None when no page of it was OCR'd by Textract."""
        return await self._beside_original(document, word_layer_key)

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
        await delete_version(self._blobs, document_id, document.content_sha256, document.media_type)
        if job is not None:
            await delete_version(self._blobs, document_id, job.content_sha256, job.media_type)

"""The catalog records of a migrated document, so it lists, answers and cites like an
uploaded one: status ``ready``, its page and chunk counts, and a finished job.

There is no original file: the job's blob key names one that does not exist (deleting the
document then deletes nothing), and ``content_sha256`` is a digest of the chunk texts, so a
later upload of the real PDF is a new version, not a duplicate.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from datetime import UTC, datetime

from rag_app.catalog.base import Catalog
from rag_app.domain import Document, DocumentStatus, Job, JobStage, JobStatus, MetadataValue
from rag_app.ingest.originals import blob_key
from rag_app.migration.rows import DocumentRows

JOB_NAMESPACE = uuid.UUID("6f0d6c4e-1d0a-4c55-9a57-3c1d2f5e8b10")


def _common_metadata(rows: DocumentRows) -> dict[str, MetadataValue]:
    """The metadata every chunk of the document shares: what an upload would have set."""
    first, *rest = (chunk.metadata for chunk in rows.chunks)
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


async def save_migrated_document(catalog: Catalog, rows: DocumentRows) -> None:
    chunks = rows.chunks
    digest = hashlib.sha256("\x1e".join(c.text for c in chunks).encode()).hexdigest()
    filename = rows.source_key or rows.document_id
    now = datetime.now(UTC)
    existing = await catalog.get_document(rows.document_id)
    created = existing.created_at if existing else now
    media_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    job = Job(
        # One job id per document: a re-run replaces its record instead of adding one.
        job_id=uuid.uuid5(JOB_NAMESPACE, rows.document_id).hex,
        document_id=rows.document_id,
        status=JobStatus.SUCCEEDED,
        stage=JobStage.DONE,
        error=None,
        content_sha256=digest,
        blob_key=blob_key(rows.document_id, digest, media_type),
        filename=filename,
        media_type=media_type,
        size_bytes=sum(len(c.text.encode()) for c in chunks),
        title=chunks[0].title,
        collection=chunks[0].collection,
        metadata=_common_metadata(rows),
        created_at=created,
        updated_at=now,
    )
    await catalog.save_job(job)
    await catalog.save_document(
        Document(
            document_id=job.document_id,
            title=job.title,
            collection=job.collection,
            metadata=job.metadata,
            filename=job.filename,
            media_type=job.media_type,
            content_sha256=job.content_sha256,
            size_bytes=job.size_bytes,
            status=DocumentStatus.READY,
            pages=max(c.page for c in chunks),
            chunks=len(chunks),
            error=None,
            latest_job_id=job.job_id,
            created_at=created,
            updated_at=now,
        )
    )

"""Documents and their ingestion jobs as a caller sees them: every method takes the
``Principal`` and applies the collection grants here, so the API and the CLI share one set
of permission rules.

Rules: a caller reads only documents (and jobs) of collections it may read, and anything
else is reported exactly like a missing id (404: a caller learns nothing about other
collections, not even that an id exists); writing (upload, replace, delete) needs the
write grant on the document's collection, and replacing a document also on its current one.
"""

from __future__ import annotations

import builtins

from rag_app.auth.principal import Principal
from rag_app.catalog.base import Catalog, DocumentPage
from rag_app.domain import Document, Job, JobStatus
from rag_app.errors import ForbiddenError, NotFoundError
from rag_app.ingest.service import IngestionService, Submission, Upload
from rag_app.ingest.validation import ID_PATTERN, check_collection

# First among the download's declared types: generated clients read the first type they
# know, and read bytes for this one whatever type the file has.
OCTET_STREAM = "application/octet-stream"


def inline_disposition(filename: str) -> str:
    """``Content-Disposition`` showing a file inline under ``filename``, with every
    character that is not printable ASCII, and quotes and backslashes, as ``_`` (a header
    value carries no line breaks or quotes)."""
    name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f'inline; filename="{name}"'


# Past any catalog's size, and within PostgreSQL's bigint (a larger OFFSET is a server error).
MAX_OFFSET = 1_000_000_000


def _may_write(principal: Principal, collection: str) -> None:
    if not principal.can_write(collection):
        raise ForbiddenError(f"this credential may not write to collection {collection!r}")


class DocumentService:
    def __init__(self, *, catalog: Catalog, ingestion: IngestionService) -> None:
        self._catalog = catalog
        self._ingestion = ingestion

    async def _find(self, principal: Principal, document_id: str) -> Document:
        """The document, if it exists and ``principal`` may read it; else ``NotFoundError``.
        An id no document can have is not looked up (a NUL byte is a database error)."""
        document = None
        if ID_PATTERN.match(document_id):
            document = await self._catalog.get_document(document_id)
        if document is None or not principal.can_read(document.collection):
            raise NotFoundError(f"no document {document_id!r}")
        return document

    async def submit(self, principal: Principal, upload: Upload) -> Submission:
        """Store the upload and queue its ingestion (see ``IngestionService.submit``).
        Replacing a document (``upload.document_id``) needs the write grant on its current
        collection too; a replaced id the caller cannot read is a 404."""
        _may_write(principal, upload.collection)

        def authorise(existing: Document) -> None:
            if not principal.can_read(existing.collection):
                raise NotFoundError(f"no document {upload.document_id!r}")
            _may_write(principal, existing.collection)

        return await self._ingestion.submit(upload, authorise=authorise)

    async def list(
        self, principal: Principal, *, collection: str | None, limit: int, offset: int
    ) -> DocumentPage:
        """Documents of the collections ``principal`` may read (and ``collection``, if
        given), oldest first, a page at a time; ``limit`` and ``offset`` are the caller's
        (bounded by the API's schema, and by ``MAX_OFFSET``)."""
        wanted = None if collection is None else frozenset({check_collection(collection)})
        allowed = principal.readable
        if allowed is not None:
            wanted = allowed if wanted is None else wanted & allowed
        return await self._catalog.list_documents(collections=wanted, limit=limit, offset=offset)

    async def get(self, principal: Principal, document_id: str) -> Document:
        """One document: status, pages, chunks, content digest and the last error."""
        return await self._find(principal, document_id)

    async def original(self, principal: Principal, document_id: str) -> tuple[Document, bytes]:
        """The indexed original as uploaded, with its document."""
        await self._find(principal, document_id)
        return await self._ingestion.original(document_id)

    async def signed_content_url(
        self, principal: Principal, document_id: str, *, seconds: int, octet_stream: bool
    ) -> tuple[Document, str] | None:
        """The document and a URL valid ``seconds`` from which the caller's browser fetches
        the indexed original itself (with Range), served inline under its own name and its
        media type (``application/octet-stream`` with ``octet_stream``); None when the blob
        store cannot sign URLs. The same access check as ``get`` comes first."""
        document = await self._find(principal, document_id)
        url = await self._ingestion.signed_original_url(
            document,
            seconds=seconds,
            content_type=OCTET_STREAM if octet_stream else document.media_type,
            disposition=inline_disposition(document.filename),
        )
        return None if url is None else (document, url)

    def signed_content_origin(self) -> str | None:
        """The origin of ``signed_content_url``'s URLs (for the pages' CSP), or None."""
        return self._ingestion.signed_url_origin()

    async def ocr_layer(self, principal: Principal, document_id: str) -> bytes | None:
        """The OCR'd copy of a scanned PDF (see ``IngestionService.ocr_layer``), or None."""
        document = await self._find(principal, document_id)
        return await self._ingestion.ocr_layer(document)

    async def ocr_words(self, principal: Principal, document_id: str) -> bytes | None:
        """The words Amazon Textract read on a scanned PDF with their boxes (see
        ``IngestionService.ocr_words``), or None."""
        document = await self._find(principal, document_id)
        return await self._ingestion.ocr_words(document)

    async def delete(self, principal: Principal, document_id: str) -> None:
        """Delete the document, its chunks and its files (write grant on its collection)."""
        document = await self._find(principal, document_id)
        _may_write(principal, document.collection)
        await self._ingestion.delete(document_id)

    async def job(self, principal: Principal, job_id: str) -> Job:
        """An ingestion job of a collection ``principal`` may read; else ``NotFoundError``."""
        job = await self._catalog.get_job(job_id) if ID_PATTERN.match(job_id) else None
        if job is None or not principal.can_read(job.collection):
            raise NotFoundError(f"no job {job_id!r}")
        return job

    async def jobs(
        self, principal: Principal, *, status: JobStatus | None, collection: str | None, limit: int
    ) -> builtins.list[Job]:
        """Jobs of the collections ``principal`` may read (and ``collection``, if given),
        newest first, with that status (None: any)."""
        wanted = None if collection is None else frozenset({check_collection(collection)})
        allowed = principal.readable
        if allowed is not None:
            wanted = allowed if wanted is None else wanted & allowed
        return await self._catalog.list_jobs(status=status, collections=wanted, limit=limit)

    async def unfinished_jobs(self, principal: Principal) -> builtins.list[Job]:
        """Queued and running jobs of the collections ``principal`` may read, oldest first."""
        jobs = await self._catalog.unfinished_jobs()
        return [j for j in jobs if principal.can_read(j.collection)]

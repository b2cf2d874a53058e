from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from rag_app.api.errors import problem_responses
from rag_app.api.schemas import (
    DocumentListOut,
    DocumentOut,
    JobListOut,
    JobOut,
    SubmissionOut,
    UploadForm,
)
from rag_app.auth.principal import Principal
from rag_app.domain import Document, JobStatus
from rag_app.errors import ForbiddenError, InvalidInputError, NotFoundError
from rag_app.ingest.service import Upload
from rag_app.ingest.validation import ID_PATTERN, check_collection, check_document_id
from rag_app.services import Services

# Past any catalog's size, and within PostgreSQL's bigint (a larger OFFSET is a server error).
MAX_OFFSET = 1_000_000_000


def readable(principal: Principal, document: Document | None, document_id: str) -> Document:
    """The document, if it exists and the caller may read it; otherwise the same 404 (a
    caller learns nothing about other collections, not even that an id exists)."""
    if document is None or not principal.can_read(document.collection):
        raise NotFoundError(f"no document {document_id!r}")
    return document


async def _get_document(services: Services, document_id: str) -> Document | None:
    """None for an id no document can have (not looked up: a NUL byte is a database error)."""
    if not ID_PATTERN.match(document_id):
        return None
    return await services.catalog.get_document(document_id)


def may_write(principal: Principal, collection: str) -> None:
    if not principal.can_write(collection):
        raise ForbiddenError(f"this credential may not write to collection {collection!r}")


def _parse_metadata(raw: str | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"metadata is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise InvalidInputError("metadata must be a JSON object")
    return value


class DocumentController(Controller):
    path = "/documents"
    tags = ("documents",)

    @post(
        "/",
        operation_id="uploadDocument",
        status_code=HTTP_202_ACCEPTED,
        responses=problem_responses(403, 404, 413, 415, 422),
    )
    async def upload(
        self,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Response[SubmissionOut]:
        """Upload a PDF, an audio or video file (MP4, MOV, M4A, MP3, WAV; optionally with
        its ``transcript``, WebVTT or SubRip) or a transcript on its own; it is ingested in
        the background (poll ``/jobs/{job_id}``).

        Content already in the collection is not ingested twice: the answer is then 200
        with ``duplicate: true`` and the existing document's ids.
        """
        may_write(principal, data.collection)
        if data.document_id:  # replacing a document: its own collection must be writable too
            existing = await services.catalog.get_document(check_document_id(data.document_id))
            if existing is not None:
                may_write(principal, readable(principal, existing, data.document_id).collection)
        try:
            content = await data.file.read()
            filename = data.file.filename or "upload"
            transcript = await data.transcript.read() if data.transcript else None
        finally:
            await data.file.close()
            if data.transcript:
                await data.transcript.close()
        submission = await services.ingestion.submit(
            Upload(
                filename=filename,
                data=content,
                title=data.title,
                collection=data.collection,
                metadata=_parse_metadata(data.metadata),
                document_id=data.document_id or None,
                transcript=transcript,
            )
        )
        return Response(
            SubmissionOut(
                document_id=submission.document_id,
                job_id=submission.job_id,
                status=submission.status.value,
                duplicate=submission.duplicate,
            ),
            status_code=HTTP_200_OK if submission.duplicate else HTTP_202_ACCEPTED,
        )

    @get("/", operation_id="listDocuments", responses=problem_responses())
    async def list_documents(
        self,
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
        collection: FromQuery[str | None] = None,
    ) -> DocumentListOut:
        """Documents of the collections the caller may read, oldest first, a page at a time."""
        wanted = None if collection is None else frozenset({check_collection(collection)})
        allowed = principal.readable
        if allowed is not None:
            wanted = allowed if wanted is None else wanted & allowed
        page = await services.catalog.list_documents(collections=wanted, limit=limit, offset=offset)
        return DocumentListOut(
            items=[DocumentOut.of(d) for d in page.items],
            total=page.total,
            limit=limit,
            offset=offset,
        )

    @get("/{document_id:str}", operation_id="getDocument", responses=problem_responses(404))
    async def get_document(
        self,
        document_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> DocumentOut:
        """One document: status, pages, chunks, content digest and the last error."""
        document = await _get_document(services, document_id)
        return DocumentOut.of(readable(principal, document, document_id))

    @get(
        "/{document_id:str}/content",
        operation_id="getDocumentContent",
        responses=problem_responses(404),
    )
    async def get_content(
        self,
        document_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        """The indexed original, as uploaded: what hit and citation links point into
        (``#page=<n>`` for PDFs, ``#t=<seconds>`` for audio and video)."""
        readable(principal, await _get_document(services, document_id), document_id)
        document, data = await services.ingestion.original(document_id)
        # Printable ASCII only: a header value can carry neither line breaks nor quotes.
        name = "".join(
            c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
            for c in document.filename
        )
        return Response(
            data,
            media_type=document.media_type,
            headers={"content-disposition": f'inline; filename="{name}"'},
        )

    @delete(
        "/{document_id:str}",
        operation_id="deleteDocument",
        status_code=HTTP_204_NO_CONTENT,
        responses=problem_responses(403, 404),
    )
    async def delete_document(
        self,
        document_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> None:
        """Delete the document, its chunks and its file; no search returns it afterwards."""
        document = await _get_document(services, document_id)
        may_write(principal, readable(principal, document, document_id).collection)
        await services.ingestion.delete(document_id)


class JobController(Controller):
    path = "/jobs"
    tags = ("documents",)

    @get("/", operation_id="listJobs", responses=problem_responses())
    async def list_jobs(
        self,
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        status: FromQuery[JobStatus | None] = None,
        collection: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> JobListOut:
        """Ingestion jobs of the collections the caller may read, newest first: all, or
        those ``queued`` (waiting, or back in the queue after a failed attempt, with its
        reason), ``running``, ``succeeded`` or ``failed`` (with why)."""
        wanted = None if collection is None else frozenset({check_collection(collection)})
        allowed = principal.readable
        if allowed is not None:
            wanted = allowed if wanted is None else wanted & allowed
        jobs = await services.catalog.list_jobs(status=status, collections=wanted, limit=limit)
        return JobListOut(items=[JobOut.of(j) for j in jobs], limit=limit)

    @get("/{job_id:str}", operation_id="getJob", responses=problem_responses(404))
    async def get_job(
        self,
        job_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> JobOut:
        """An ingestion job: queued, running (with its stage), succeeded or failed (with why)."""
        job = await services.catalog.get_job(job_id) if ID_PATTERN.match(job_id) else None
        if job is None or not principal.can_read(job.collection):
            raise NotFoundError(f"no job {job_id!r}")
        return JobOut.of(job)

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
    HTTP_307_TEMPORARY_REDIRECT,
)

from rag_app.api.audit_trail import note
from rag_app.api.byte_ranges import ranged_response
from rag_app.api.errors import problem_responses
from rag_app.api.openapi import SECURITY, binary, operation_with
from rag_app.api.schemas import (
    DocumentListOut,
    DocumentOut,
    JobListOut,
    JobOut,
    SubmissionOut,
    UploadForm,
)
from rag_app.auth.principal import Principal
from rag_app.documents import (
    MAX_OFFSET,
    OCTET_STREAM,
    STORED_MEDIA_TYPES,
    Upload,
    inline_disposition,
    parse_metadata,
)
from rag_app.domain import JobStatus
from rag_app.services import Services
from rag_app.settings import Settings


class DocumentController(Controller):
    path = "/documents"
    tags = ("documents",)
    security = SECURITY

    @post(
        "/",
        operation_id="uploadDocument",
        status_code=HTTP_202_ACCEPTED,
        response_description="Accepted: the job that ingests the file",
        responses={
            HTTP_200_OK: ResponseSpec(
                SubmissionOut,
                description="The same content is already in the collection "
                "(duplicate: true): the existing document and its job",
                generate_examples=False,
            ),
            **problem_responses(403, 404, 409, 413, 415, 422),
        },
    )
    async def upload(
        self,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Response[SubmissionOut]:
        """Upload a PDF, a Word file (.docx), an e-mail (.eml, Outlook .msg: its
        attachments become documents of their own), an audio or video file (MP4, MOV, M4A,
        MP3, WAV; optionally with its ``transcript``, WebVTT or SubRip) or a transcript on
        its own; it is ingested in the background (poll ``/jobs/{job_id}``).

        Content already in the collection is not ingested twice: the answer is then 200
        with ``duplicate: true`` and the existing document's ids.
        """
        note(collections={data.collection})
        if data.document_id:  # an upload naming a document id replaces that document
            note(action="replaceDocument", documents={data.document_id})
        try:
            content = await data.file.read()
            filename = data.file.filename or "upload"
            transcript = await data.transcript.read() if data.transcript else None
        finally:
            await data.file.close()
            if data.transcript:
                await data.transcript.close()
        submission = await services.documents.submit(
            principal,
            Upload(
                filename=filename,
                data=content,
                title=data.title,
                collection=data.collection,
                metadata=parse_metadata(data.metadata),
                document_id=data.document_id or None,
                transcript=transcript,
            ),
        )
        note(documents={submission.document_id}, duplicate=submission.duplicate)
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
        page = await services.documents.list(
            principal, collection=collection, limit=limit, offset=offset
        )
        note(
            collections={d.collection for d in page.items},
            documents={d.document_id for d in page.items},
        )
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
        note(documents={document_id})
        document = await services.documents.get(principal, document_id)
        note(collections={document.collection})
        return DocumentOut.of(document)

    @get(
        "/{document_id:str}/content",
        operation_id="getDocumentContent",
        response_description="The original file, in its own media type",
        responses={
            **problem_responses(404),
            HTTP_307_TEMPORARY_REDIRECT: ResponseSpec(
                data_container=None,
                description="With RAG_CONTENT_REDIRECT (S3 only): the same file from a "
                "short-lived presigned S3 URL in `Location` (Range works there too)",
            ),
        },
        operation_class=operation_with(
            HTTP_200_OK, binary([OCTET_STREAM, *STORED_MEDIA_TYPES]), replace=True
        ),
    )
    async def get_content(
        self,
        document_id: FromPath[str],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        """The indexed original, as uploaded: what hit and citation links point into
        (``#page=<n>`` for PDFs, ``#t=<seconds>`` for audio and video), in its own media
        type, or as ``application/octet-stream`` when the request accepts only that. One
        ``Range: bytes=`` range is answered with 206 and that slice (players seek with it).
        With ``RAG_CONTENT_REDIRECT`` (S3), a 307 to a presigned S3 URL valid
        ``RAG_CONTENT_REDIRECT_SECONDS`` instead, after the same access check."""
        note(documents={document_id})
        generic = request.headers.get("accept", "").strip() == OCTET_STREAM
        settings: Settings = request.app.state.settings
        if settings.content_redirect and (
            signed := await services.documents.signed_content_url(
                principal,
                document_id,
                seconds=settings.content_redirect_seconds,
                octet_stream=generic,
            )
        ):
            document, url = signed
            note(collections={document.collection})
            return Response(
                b"",
                status_code=HTTP_307_TEMPORARY_REDIRECT,
                headers={"location": url, "cache-control": "no-store"},
            )
        document, data = await services.documents.original(principal, document_id)
        note(collections={document.collection})
        return ranged_response(
            data,
            range_header=request.headers.get("range"),
            media_type=OCTET_STREAM if generic else document.media_type,
            headers={"content-disposition": inline_disposition(document.filename)},
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
        """Delete the document, its chunks and its file; no search returns it afterwards.
        Its audit events stay."""
        note(documents={document_id})
        note(collections={(await services.documents.get(principal, document_id)).collection})
        await services.documents.delete(principal, document_id)


class JobController(Controller):
    path = "/jobs"
    tags = ("documents",)
    security = SECURITY

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
        jobs = await services.documents.jobs(
            principal, status=status, collection=collection, limit=limit
        )
        return JobListOut(items=[JobOut.of(j) for j in jobs], limit=limit)

    @get("/{job_id:str}", operation_id="getJob", responses=problem_responses(404))
    async def get_job(
        self,
        job_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> JobOut:
        """An ingestion job: queued, running (with its stage), succeeded or failed (with why)."""
        job = await services.documents.job(principal, job_id)
        note(documents={job.document_id}, collections={job.collection}, job_id=job_id)
        return JobOut.of(job)

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from rag_app.api.errors import problem_responses
from rag_app.api.schemas import DocumentListOut, DocumentOut, JobOut, SubmissionOut, UploadForm
from rag_app.auth.principal import Principal
from rag_app.documents import MAX_OFFSET, Upload, parse_metadata
from rag_app.services import Services


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
        return DocumentOut.of(await services.documents.get(principal, document_id))

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
        document, data = await services.documents.original(principal, document_id)
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
        await services.documents.delete(principal, document_id)


class JobController(Controller):
    path = "/jobs"
    tags = ("documents",)

    @get("/{job_id:str}", operation_id="getJob", responses=problem_responses(404))
    async def get_job(
        self,
        job_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> JobOut:
        """An ingestion job: queued, running (with its stage), succeeded or failed (with why)."""
        return JobOut.of(await services.documents.job(principal, job_id))

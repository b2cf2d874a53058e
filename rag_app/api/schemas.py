"""Request and response bodies: the API contract clients rely on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec
from litestar.datastructures import UploadFile

from rag_app.domain import Answer, Citation, Document, Hit, Job
from rag_app.vectorstores.base import MAX_TOP_K

FilterValue = str | int | float | bool
TopK = Annotated[int, msgspec.Meta(ge=1, le=MAX_TOP_K, description="passages to retrieve")]
Filters = Annotated[
    dict[str, FilterValue],
    msgspec.Meta(
        description="Equality AND over document_id, collection and user metadata keys",
        max_length=34,
    ),
]
QueryText = Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]


@dataclass
class UploadForm:
    """``multipart/form-data``: the file, and optionally how to file it."""

    file: UploadFile
    title: str | None = None
    collection: str = "default"
    metadata: str | None = None  # a JSON object of string/number/boolean values
    document_id: str | None = None  # reuse an id to replace that document's content


class SubmissionOut(msgspec.Struct):
    document_id: str
    job_id: str
    status: str
    duplicate: bool


class JobOut(msgspec.Struct):
    job_id: str
    document_id: str
    status: str
    stage: str
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            job_id=job.job_id,
            document_id=job.document_id,
            status=job.status.value,
            stage=job.stage.value,
            error=job.error,
            created_at=job.created_at,
            updated_at=job.updated_at,
        )


class DocumentOut(msgspec.Struct):
    document_id: str
    title: str
    collection: str
    metadata: dict[str, FilterValue]
    filename: str
    media_type: str
    status: str
    pages: int
    chunks: int
    content_sha256: str
    size_bytes: int
    error: str | None
    job_id: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(
            document_id=document.document_id,
            title=document.title,
            collection=document.collection,
            metadata=dict(document.metadata),
            filename=document.filename,
            media_type=document.media_type,
            status=document.status.value,
            pages=document.pages,
            chunks=document.chunks,
            content_sha256=document.content_sha256,
            size_bytes=document.size_bytes,
            error=document.error,
            job_id=document.latest_job_id,
            created_at=document.created_at,
            updated_at=document.updated_at,
        )


class DocumentListOut(msgspec.Struct):
    items: list[DocumentOut]
    total: int
    limit: int
    offset: int


class SearchIn(msgspec.Struct, forbid_unknown_fields=True):
    query: QueryText
    top_k: TopK = 5
    filters: Filters = msgspec.field(default_factory=dict)


class HitOut(msgspec.Struct):
    document_id: str
    title: str
    page: int
    text: str
    score: float  # what hits are ranked by: similarity + 0.3 x keyword
    similarity: float  # cosine similarity of the passage's vector to the query's
    keyword: float  # share of the query's content words found in the passage
    chunk_id: str
    collection: str

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        c = hit.chunk
        return cls(
            document_id=c.document_id,
            title=c.title,
            page=c.page,
            text=c.text,
            score=round(hit.score, 6),
            similarity=round(hit.similarity, 6),
            keyword=round(hit.keyword, 6),
            chunk_id=c.chunk_id,
            collection=c.collection,
        )


class SearchOut(msgspec.Struct):
    hits: list[HitOut]


class AskIn(msgspec.Struct, forbid_unknown_fields=True):
    question: QueryText
    top_k: TopK = 5
    filters: Filters = msgspec.field(default_factory=dict)


class CitationOut(msgspec.Struct):
    document_id: str
    title: str
    page: int
    quote: str
    chunk_id: str

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        return cls(c.document_id, c.title, c.page, c.quote, c.chunk_id)


class AskOut(msgspec.Struct):
    answer: str
    grounded: bool
    citations: list[CitationOut]
    metadata: dict[str, str | int | float]  # answerer, model id, tokens, latency

    @classmethod
    def of(cls, answer: Answer) -> AskOut:
        return cls(
            answer.text,
            answer.grounded,
            [CitationOut.of(c) for c in answer.citations],
            dict(answer.metadata),
        )

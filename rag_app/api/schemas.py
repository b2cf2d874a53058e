"""Request and response bodies: the API contract clients rely on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec
from litestar.datastructures import UploadFile

from rag_app.conversations.records import Turn
from rag_app.domain import MAX_TOP_K, UNPAGED, Citation, Document, Hit, Job, SearchMode

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
    transcript: UploadFile | None = None  # a .vtt or .srt for the audio or video in ``file``
    title: str | None = None
    collection: str = "default"
    metadata: str | None = None  # a JSON object of string/number/boolean values
    document_id: str | None = None  # reuse an id to replace that document's content


def source_link(document_id: str, page: int, start_s: float | None) -> str:
    """The original file at the passage: ``#t=<seconds>`` for media (a media fragment that
    players seek to), ``#page=<n>`` for PDFs (what PDF viewers open at), the file itself
    for an unpaged passage."""
    base = f"/documents/{document_id}/content"
    if start_s is None:
        return base if page == UNPAGED else f"{base}#page={page}"
    return f"{base}#t={round(start_s, 2):g}"


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


class JobListOut(msgspec.Struct):
    items: list[JobOut]
    limit: int


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
    error: str | None  # a failure, or what an indexed document is missing (pages left empty)
    job_id: str
    created_at: datetime
    updated_at: datetime
    pages_text: int  # PDF pages read from their text layer
    pages_ocr: int  # PDF pages whose text was recognised by OCR
    pages_empty: int  # PDF pages with no text found: not searchable
    duration_s: float | None  # media length
    transcript_source: str | None  # vtt, srt, faster-whisper tiny.en, amazon-transcribe

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
            pages_text=document.pages_text,
            pages_ocr=document.pages_ocr,
            pages_empty=document.pages_empty,
            duration_s=document.duration_s,
            transcript_source=document.transcript_source,
        )


class DocumentListOut(msgspec.Struct):
    items: list[DocumentOut]
    total: int
    limit: int
    offset: int


# None: the service's default (RAG_SEARCH_MODE, hybrid unless configured otherwise).
Mode = Annotated[
    SearchMode | None,
    msgspec.Meta(
        description="hybrid: vector + keyword (BM25) results fused (by default a weighted sum "
        "of cosine similarity and normalised BM25; RAG_HYBRID_FUSION); "
        "vector: by meaning only; keyword: by the query's words only"
    ),
]


class SearchIn(msgspec.Struct, forbid_unknown_fields=True):
    query: QueryText
    top_k: TopK = 5
    filters: Filters = msgspec.field(default_factory=dict)
    mode: Mode = None


class HitOut(msgspec.Struct):
    document_id: str
    title: str
    page: int | None  # None: the source gave no page (a migrated text or note)
    text: str
    score: float  # what hits are ordered by: the fusion score (hybrid), similarity or BM25
    similarity: float  # cosine similarity of the passage's vector to the query's
    text_rank: float  # BM25 score of the passage for the query's words (0: none occur)
    keyword: float  # share of the query's content words found in the passage
    chunk_id: str
    collection: str
    ocr: bool  # the passage's text was recognised from a scanned page
    start_s: float | None  # media: when the passage is spoken
    end_s: float | None
    link: str  # the original at this passage: ...#page=<n> or ...#t=<start_s>

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        c = hit.chunk
        return cls(
            document_id=c.document_id,
            title=c.title,
            page=None if c.page == UNPAGED else c.page,
            text=c.text,
            score=round(hit.score, 6),
            similarity=round(hit.similarity, 6),
            text_rank=round(hit.text_rank, 6),
            keyword=round(hit.keyword, 6),
            chunk_id=c.chunk_id,
            collection=c.collection,
            ocr=c.ocr,
            start_s=c.start_s,
            end_s=c.end_s,
            link=source_link(c.document_id, c.page, c.start_s),
        )


class SearchOut(msgspec.Struct):
    hits: list[HitOut]


class AskIn(msgspec.Struct, forbid_unknown_fields=True):
    question: QueryText
    top_k: TopK = 5
    filters: Filters = msgspec.field(default_factory=dict)
    mode: Mode = None
    conversation_id: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=64,
                description="continue this conversation (yours); omitted: start a new one",
            ),
        ]
        | None
    ) = None


class CitationOut(msgspec.Struct):
    document_id: str
    title: str
    page: int | None  # None: the source gave no page (a migrated text or note)
    quote: str
    chunk_id: str
    ocr: bool
    start_s: float | None
    end_s: float | None
    link: str

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        return cls(
            c.document_id,
            c.title,
            None if c.page == UNPAGED else c.page,
            c.quote,
            c.chunk_id,
            c.ocr,
            c.start_s,
            c.end_s,
            source_link(c.document_id, c.page, c.start_s),
        )


class AskOut(msgspec.Struct):
    answer: str
    grounded: bool
    citations: list[CitationOut]
    metadata: dict[str, str | int | float]  # answerer, model id, tokens, latency, rewriter
    conversation_id: str  # pass it back to ask a follow-up
    answer_id: str  # for feedback and export
    rewritten_query: str  # what retrieval searched for: the question, or its standalone form

    @classmethod
    def of(cls, turn: Turn) -> AskOut:
        """A turn just answered: its citations are to collections the caller can read."""
        return cls(
            turn.answer,
            turn.grounded,
            [CitationOut.of(c.citation) for c in turn.citations],
            dict(turn.metadata),
            turn.conversation_id,
            turn.answer_id,
            turn.rewritten_query,
        )


class AskDelta(msgspec.Struct):
    """A ``delta`` event of a streamed answer: a piece of its text, as it is written."""

    text: str


class Done(msgspec.Struct):
    """The ``done`` event that ends a streamed answer."""

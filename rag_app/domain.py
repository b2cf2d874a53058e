"""The values that flow through the service: file -> pages -> chunks -> hits -> answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

MAX_TOP_K = 100  # the most hits one search returns (S3 Vectors' own limit on a query)

MetadataValue: TypeAlias = str | int | float | bool
Metadata: TypeAlias = Mapping[str, MetadataValue]
Filters: TypeAlias = Mapping[str, MetadataValue]
"""Equality conditions, all of which must hold. Keys: ``document_id``, ``collection``
or a user metadata key."""

RESERVED_FILTER_KEYS = frozenset({"document_id", "collection"})

UNPAGED = 0
"""The ``page`` of a passage whose source gave no page (a migrated text, web page or note):
its citations carry no page (``page: null`` in the API) and link to the document itself."""


@dataclass(frozen=True, slots=True)
class PageText:
    """The text of one page; ``number`` is the 1-based PDF page number. ``ocr``: the text
    was recognised from the page's image, not read from its text layer."""

    number: int
    text: str
    ocr: bool = False


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech: seconds from the start of the media, and what was said."""

    start_s: float
    end_s: float
    text: str
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """Timed speech of one audio or video file, in order. ``source`` says where it came from
    (``vtt``, ``srt``, ``faster-whisper tiny.en``, ``amazon-transcribe``); ``duration_s`` is
    the media's length when known."""

    segments: tuple[Segment, ...]
    source: str
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of one page: ``text == page_text[char_start:char_end]``."""

    document_id: str
    chunk_no: int
    text: str
    page: int
    char_start: int
    char_end: int
    title: str
    collection: str
    metadata: Metadata = field(default_factory=dict)
    ocr: bool = False
    start_s: float | None = None
    """Media only: where the passage starts and ends, in seconds (``page`` is then 1 and the
    "page" is the whole transcript)."""
    end_s: float | None = None

    @property
    def chunk_id(self) -> str:
        return f"{self.document_id}#{self.chunk_no}"


class SearchMode(StrEnum):
    """How passages are retrieved: by meaning (``vector``), by the question's words
    (``keyword``: full-text BM25), or both fused (``hybrid``: by default a weighted sum of
    cosine similarity and normalised BM25, or reciprocal rank fusion; RAG_HYBRID_FUSION)."""

    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk.

    - ``similarity``: the cosine similarity of its vector to the query's, whichever way it
      was found;
    - ``text_rank``: its BM25 score for the query's words (0 when none occur in it);
    - ``keyword``: the share of the query's content words found in its text;
    - ``score``: what the results were ordered by: the similarity (vector search), the
      BM25 score (keyword search), the fusion's score (hybrid search), or the reranker's
      relevance when one reorders the results.
      A store's own results carry the similarity (vector) or the BM25 score (text).
    """

    chunk: Chunk
    similarity: float
    text_rank: float = 0.0
    keyword: float = 0.0
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a quote comes from: a page, and for media a time range (``start_s``/``end_s``);
    ``ocr`` when the passage's text was recognised from a scan."""

    document_id: str
    title: str
    page: int
    quote: str
    chunk_id: str
    ocr: bool = False
    start_s: float | None = None
    end_s: float | None = None

    @classmethod
    def of(cls, chunk: Chunk, quote: str) -> Citation:
        return cls(
            document_id=chunk.document_id,
            title=chunk.title,
            page=chunk.page,
            quote=quote,
            chunk_id=chunk.chunk_id,
            ocr=chunk.ocr,
            start_s=chunk.start_s,
            end_s=chunk.end_s,
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """``metadata``: how the answer was made (answerer, model id, token counts, latency)."""

    text: str
    grounded: bool
    citations: tuple[Citation, ...]
    metadata: Mapping[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Exchange:
    """An earlier turn of a conversation as later turns see it: the question as asked,
    the standalone query it searched for, and the answer's text (citation markers
    included, passages not)."""

    question: str
    query: str
    answer: str


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    """A piece of answer text, as a streaming answerer produces it."""

    text: str


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobStage(StrEnum):
    QUEUED = "queued"
    PARSING = "parsing"
    RECOGNISING = "recognising"  # OCR of scanned pages, or speech to text
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    INDEXING = "indexing"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Document:
    """A document as the catalog knows it. ``content_sha256``, ``pages`` and ``chunks``
    describe the indexed version once one is; until then, the version being ingested."""

    document_id: str
    title: str
    collection: str
    metadata: Metadata
    filename: str
    media_type: str
    content_sha256: str
    size_bytes: int
    status: DocumentStatus
    pages: int
    chunks: int
    error: str | None
    latest_job_id: str
    created_at: datetime
    updated_at: datetime
    # What ingestion found (of the indexed version): PDF pages read from their text layer,
    # recognised by OCR, or left without text; for media, its length and where the
    # transcript came from.
    pages_text: int = 0
    pages_ocr: int = 0
    pages_empty: int = 0
    duration_s: float | None = None
    transcript_source: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One ingestion of one uploaded version of a document."""

    job_id: str
    document_id: str
    status: JobStatus
    stage: JobStage
    error: str | None
    content_sha256: str
    blob_key: str
    filename: str
    media_type: str
    size_bytes: int
    title: str
    collection: str
    metadata: Metadata
    created_at: datetime
    updated_at: datetime
    transcript_key: str | None = None
    """A transcript (VTT/SRT) uploaded next to the media: used instead of speech recognition."""

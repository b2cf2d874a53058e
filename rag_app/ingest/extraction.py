"""From a stored original to its text, once: PDF pages (read from their text layer, OCR'd or
left empty) or a transcript (uploaded, or recognised from the media), with an account of
what was found. Chunking is not done here (``ingest/chunking.py``).

Never a silent empty ingest: a file that yields no text at all raises a readable
``UnprocessableDocumentError`` naming why (scanned and OCR off, silent recording...).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio.to_thread

from rag_app.domain import JobStage, PageText, Transcript
from rag_app.errors import PayloadTooLargeError, UnprocessableDocumentError
from rag_app.ingest.files import FileKind, StoredFile, recorded_type
from rag_app.ingest.isolation import ProcessLimits, run_isolated
from rag_app.ingest.media import media_duration
from rag_app.ingest.ocr import OcrUnavailableError, PageOcr
from rag_app.ingest.pdf import extract_pages, pages_without_text, text_chars
from rag_app.ingest.transcriber import Transcriber
from rag_app.ingest.transcripts import parse_transcript


@dataclass(frozen=True, slots=True)
class Extraction:
    content: tuple[PageText, ...] | Transcript  # the pages of a PDF, or a transcript
    pages: int
    pages_text: int = 0
    pages_ocr: int = 0
    pages_empty: int = 0
    duration_s: float | None = None
    transcript_source: str | None = None
    warning: str | None = None  # indexed, but not all of it: shown as the document's error


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    max_pages: int
    ocr_min_chars: int  # letters and digits below which a page counts as scanned
    max_media_seconds: float
    # PDF and media parsers run in a child process within these (ingest/isolation.py).
    parser: ProcessLimits = field(default_factory=ProcessLimits)


async def _stay(stage: JobStage) -> None:
    return None


class Extractor:
    """Reads PDFs (with OCR for scanned pages when ``ocr`` is set), transcripts, and audio
    and video (through ``transcriber`` unless a transcript came with the media)."""

    def __init__(
        self,
        *,
        limits: ExtractionLimits,
        ocr: PageOcr | None,
        transcriber: Transcriber | None,
    ) -> None:
        self._limits = limits
        self._ocr = ocr
        self._transcriber = transcriber

    async def extract(
        self,
        file: StoredFile,
        transcript: StoredFile | None = None,
        on_stage: Callable[[JobStage], Awaitable[None]] = _stay,
    ) -> Extraction:
        """The file's text (a file with no text at all raises) and what was found. The
        type is the one recorded at upload (``file.media_type``), not sniffed again.
        ``transcript``: a WebVTT/SubRip file uploaded next to media, used instead of ASR.
        ``on_stage(RECOGNISING)`` is awaited before OCR or speech recognition starts."""
        found = recorded_type(file.media_type)
        if found.kind is FileKind.PDF:
            extraction = await self._pdf(file, on_stage)
        elif found.kind is FileKind.TRANSCRIPT:
            extraction = self._timed(parse_transcript(file.data), duration_s=None)
        else:
            extraction = await self._media(file, transcript, on_stage)
        return extraction

    def _check_duration(self, seconds: float | None) -> None:
        limit = self._limits.max_media_seconds
        if seconds is not None and seconds > limit:
            raise PayloadTooLargeError(
                f"the media is {seconds:.0f} seconds long; the limit is {limit:.0f} seconds "
                "(RAG_MAX_MEDIA_SECONDS)"
            )

    async def _media(
        self,
        file: StoredFile,
        sidecar: StoredFile | None,
        on_stage: Callable[[JobStage], Awaitable[None]],
    ) -> Extraction:
        duration = await anyio.to_thread.run_sync(
            lambda: run_isolated(media_duration, file.data, limits=self._limits.parser)
        )
        self._check_duration(duration)
        if sidecar is not None:
            transcript = parse_transcript(sidecar.data)
        elif self._transcriber is None:
            raise UnprocessableDocumentError(
                "audio and video need speech recognition, which is off (RAG_TRANSCRIBER=off): "
                "upload a .vtt or .srt transcript with the media, or turn it on"
            )
        else:
            await on_stage(JobStage.RECOGNISING)
            transcript = await self._transcriber.transcribe(file)
            if not transcript.segments:
                raise UnprocessableDocumentError(
                    f"{transcript.source} found no speech in the media; nothing was indexed"
                )
        return self._timed(transcript, duration_s=duration)

    def _timed(self, transcript: Transcript, *, duration_s: float | None) -> Extraction:
        duration = duration_s or transcript.duration_s or transcript.segments[-1].end_s
        self._check_duration(duration)
        return Extraction(
            content=transcript, pages=1, duration_s=duration, transcript_source=transcript.source
        )

    async def _pdf(
        self, file: StoredFile, on_stage: Callable[[JobStage], Awaitable[None]]
    ) -> Extraction:
        limits = self._limits
        read = functools.partial(extract_pages, max_pages=limits.max_pages)
        pages = await anyio.to_thread.run_sync(
            lambda: run_isolated(read, file.data, limits=limits.parser)
        )
        scanned = pages_without_text(pages, min_chars=limits.ocr_min_chars)
        why_not = await self._ocr_into(pages, file, scanned, on_stage) if scanned else None
        ocr_pages = [p for p in pages if p.ocr]
        text_pages = len(pages) - len(scanned)
        empty = len(scanned) - len(ocr_pages)
        if text_pages + len(ocr_pages) == 0:
            raise UnprocessableDocumentError(
                f"none of the {len(pages)} pages has text: the PDF looks scanned (an image of "
                f"text) and {why_not or 'OCR found no legible text on them'}; nothing was indexed"
            )
        warning = None
        if empty:
            numbers = [n for n in scanned if not pages[n - 1].ocr]
            listed = ", ".join(map(str, numbers[:20])) + (", ..." if len(numbers) > 20 else "")
            warning = (
                f"{empty} of {len(pages)} pages have no text (pages {listed}) and cannot be "
                f"found by search: {why_not or 'OCR found no legible text on them'}"
            )
        return Extraction(
            content=tuple(pages),
            pages=len(pages),
            pages_text=text_pages,
            pages_ocr=len(ocr_pages),
            pages_empty=empty,
            warning=warning,
        )

    async def _ocr_into(
        self,
        pages: list[PageText],
        file: StoredFile,
        numbers: list[int],
        on_stage: Callable[[JobStage], Awaitable[None]],
    ) -> str:
        """Replace the scanned ``pages`` with their OCR text where some is found; return why
        the rest stay empty."""
        if self._ocr is None:
            return "OCR is off (RAG_OCR=off)"
        try:
            await on_stage(JobStage.RECOGNISING)
            recognised = await self._ocr.recognise(file, numbers)
        except OcrUnavailableError as e:
            return f"OCR is unavailable: {e}"
        for page in recognised:
            if text_chars(page.text) > 0:
                pages[page.number - 1] = page
        return f"{self._ocr.name} found no legible text on them"

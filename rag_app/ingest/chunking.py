"""Chunking, in one place: what an extraction (PDF pages, or a transcript) becomes before it
is embedded (``chunk_content``).

Pages: structure-aware. Paragraphs and numbered clauses are kept whole where they fit,
split at sentences where they do not, and at words only for run-on text.

Chunks never cross a page, so every chunk cites exactly one page and its text is an exact
slice of that page's text (``page.text[char_start:char_end]``), which is what lets an
answer's quote be checked against the page it cites. The cost: a paragraph that runs over a
page break is two chunks.

Transcripts: runs of whole segments within a size and a time window. The transcript is one
"page" of text, a line per segment (``Speaker: text`` when the speaker is known), so a
chunk is still an exact slice of its page (``char_start`` / ``char_end``) and also carries
the time range it was spoken in (``start_s`` / ``end_s``). A segment longer than a chunk is
cut at words, its time shared out by characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag_app.domain import PageText, Transcript
from rag_app.text.sentences import Span, paragraphs, sentences, words


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    page: int
    char_start: int
    char_end: int
    text: str
    ocr: bool = False
    start_s: float | None = None  # media: the time range the passage was spoken in
    end_s: float | None = None


def _units(text: str, max_chars: int) -> list[Span]:
    """Paragraphs, each broken down to sentences, then words, only as far as needed."""
    units: list[Span] = []
    for p_start, p_end in paragraphs(text):
        if p_end - p_start <= max_chars:
            units.append((p_start, p_end))
            continue
        for s_start, s_end in sentences(text, p_start, p_end):
            if s_end - s_start <= max_chars:
                units.append((s_start, s_end))
            else:
                units.extend(words(text, s_start, s_end, max_chars))
    return units


def _overlap_start(units: Sequence[Span], first: int, last: int, overlap: int) -> int:
    """Index of the earliest unit in ``units[first..last]`` such that the units from it to
    ``last`` fit in ``overlap`` characters; ``last + 1`` when not even the last one fits."""
    start = last + 1
    while start - 1 > first and units[last][1] - units[start - 1][0] <= overlap:
        start -= 1
    return start


def chunk_page(page: PageText, *, max_chars: int, overlap: int) -> list[ChunkSpan]:
    text = page.text
    units = _units(text, max_chars)
    chunks: list[ChunkSpan] = []
    first = 0
    while first < len(units):
        last = first
        while last + 1 < len(units) and units[last + 1][1] - units[first][0] <= max_chars:
            last += 1
        start, end = units[first][0], units[last][1]
        chunks.append(ChunkSpan(page.number, start, end, text[start:end], ocr=page.ocr))
        if last + 1 >= len(units):
            break
        # The next chunk repeats the trailing whole units of this one that fit in `overlap`.
        first = _overlap_start(units, first, last, overlap)
    return chunks


def chunk_pages(pages: Sequence[PageText], *, max_chars: int, overlap: int) -> list[ChunkSpan]:
    """Every page's chunks, in page order."""
    return [c for page in pages for c in chunk_page(page, max_chars=max_chars, overlap=overlap)]


TRANSCRIPT_PAGE = 1


@dataclass(frozen=True, slots=True)
class _Line:
    start: int  # offsets in the transcript text
    end: int
    start_s: float
    end_s: float


def transcript_page(transcript: Transcript) -> tuple[PageText, list[_Line]]:
    """The transcript as one page of text, and where each segment's line lies in it."""
    parts: list[str] = []
    lines: list[_Line] = []
    offset = 0
    for segment in transcript.segments:
        line = f"{segment.speaker}: {segment.text}" if segment.speaker else segment.text
        parts.append(line)
        lines.append(_Line(offset, offset + len(line), segment.start_s, segment.end_s))
        offset += len(line) + 1
    return PageText(TRANSCRIPT_PAGE, "\n".join(parts)), lines


def _fitted(text: str, lines: list[_Line], max_chars: int) -> list[_Line]:
    """Lines no longer than ``max_chars``: longer ones cut at words, time shared out."""
    fitted: list[_Line] = []
    for line in lines:
        if line.end - line.start <= max_chars:
            fitted.append(line)
            continue
        per_char = (line.end_s - line.start_s) / (line.end - line.start)
        for start, end in words(text, line.start, line.end, max_chars):
            fitted.append(
                _Line(
                    start,
                    end,
                    line.start_s + (start - line.start) * per_char,
                    line.start_s + (end - line.start) * per_char,
                )
            )
    return fitted


def chunk_transcript(
    transcript: Transcript, *, max_chars: int, overlap: int, max_seconds: float
) -> list[ChunkSpan]:
    """Consecutive segments up to ``max_chars`` characters and ``max_seconds`` of speech per
    chunk (a single longer segment is a chunk of its own); the next chunk repeats the
    trailing segments that fit in ``overlap`` characters and in the time window."""
    page, raw_lines = transcript_page(transcript)
    lines = _fitted(page.text, raw_lines, max_chars)
    chunks: list[ChunkSpan] = []
    first = 0
    while first < len(lines):
        last = first
        while last + 1 < len(lines) and (
            lines[last + 1].end - lines[first].start <= max_chars
            and lines[last + 1].end_s - lines[first].start_s <= max_seconds
        ):
            last += 1
        start, end = lines[first].start, lines[last].end
        chunks.append(
            ChunkSpan(
                page.number,
                start,
                end,
                page.text[start:end],
                start_s=min(line.start_s for line in lines[first : last + 1]),
                end_s=max(line.end_s for line in lines[first : last + 1]),
            )
        )
        if last + 1 >= len(lines):
            break
        # Overlap: trailing segments that fit in ``overlap`` characters and keep the next
        # chunk's first two segments within the time window.
        following = last + 1
        while (
            following - 1 > first
            and lines[last].end - lines[following - 1].start <= overlap
            and lines[last + 1].end_s - lines[following - 1].start_s <= max_seconds
        ):
            following -= 1
        first = following
    return chunks


@dataclass(frozen=True, slots=True)
class ChunkLimits:
    max_chars: int  # RAG_CHUNK_SIZE
    overlap: int  # RAG_CHUNK_OVERLAP
    max_seconds: float  # RAG_MEDIA_CHUNK_SECONDS: longest stretch of speech in one chunk


def chunk_content(content: Sequence[PageText] | Transcript, limits: ChunkLimits) -> list[ChunkSpan]:
    """The chunks of an extraction's content: PDF pages, or a transcript."""
    if isinstance(content, Transcript):
        return chunk_transcript(
            content,
            max_chars=limits.max_chars,
            overlap=limits.overlap,
            max_seconds=limits.max_seconds,
        )
    return chunk_pages(content, max_chars=limits.max_chars, overlap=limits.overlap)

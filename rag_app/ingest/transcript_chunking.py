"""Chunks of a transcript: runs of whole segments within a size and a time window.

The transcript is one "page" of text, a line per segment (``Speaker: text`` when the
speaker is known), so a chunk is still an exact slice of its page (``char_start`` /
``char_end``) and also carries the time range it was spoken in (``start_s`` / ``end_s``).
A segment longer than a chunk is cut at words, its time shared out by characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag_app.domain import PageText, Transcript
from rag_app.ingest.chunking import ChunkSpan
from rag_app.text.sentences import words

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

"""Structure-aware chunking: paragraphs and numbered clauses are kept whole where they fit,
split at sentences where they do not, and at words only for run-on text.

Chunks never cross a page, so every chunk cites exactly one page and its text is an exact
slice of that page's text (``page.text[char_start:char_end]``), which is what lets an
answer's quote be checked against the page it cites. The cost: a paragraph that runs over a
page break is two chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag_app.domain import PageText
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

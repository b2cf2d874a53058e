"""PDF pages as images, and where a quote sits on them, from PDFium's own character boxes.

Boxes are fractions of the rendered page (0..1, origin top left, y down), so a client
places them over the image at any size or zoom. Matching ignores whitespace and reads
PDFium's end-of-line hyphen (U+FFFE) and dot leaders the way ``normalize_page_text`` wrote
the canonical text that chunks and citations quote."""

from __future__ import annotations

import io
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass

import anyio.to_thread
import pypdfium2 as pdfium

from rag_app.errors import InvalidInputError
from rag_app.ingest.pdf import PDF_MEDIA_TYPE, PDFIUM_LOCK
from rag_app.ingest.word_layer import PlacedWord, decode

MAX_QUOTE_CHARS = 4000
log = logging.getLogger(__name__)
__all__ = [
    "MAX_QUOTE_CHARS",
    "PDF_MEDIA_TYPE",
    "PageImageCache",
    "QuoteBoxes",
    "quote_boxes",
    "quote_boxes_in_words",
    "render_png",
]
_DOTS = re.compile(r"\.{2,}")


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle as fractions of the page image: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class QuoteBoxes:
    """``boxes``: one per line the quote spans; empty when the page's text layer does not
    hold the quote (an OCR'd page keeps no character positions)."""

    page: int
    pages: int
    width_pt: float
    height_pt: float
    boxes: tuple[Box, ...]


def _squash(text: str) -> tuple[str, list[int]]:
    """The text without whitespace or control characters, U+FFFE read as ``-`` and any run
    of dots as one, with the index in ``text`` of every character kept."""
    kept: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch == "\ufffe":
            ch = "-"
        if ch.isspace() or ord(ch) < 32 or ch == "\x7f":
            continue
        if ch == "." and kept and kept[-1] == ".":
            continue
        kept.append(ch)
        index.append(i)
    return "".join(kept), index


def _needle(quote: str) -> str:
    return _DOTS.sub(".", "".join(quote.split()))


def _page_index(pdf: pdfium.PdfDocument, page: int) -> int:
    if not 1 <= page <= len(pdf):
        raise InvalidInputError(f"page {page} is out of range: the document has {len(pdf)} pages")
    return page - 1


def _to_fractions(
    rect: tuple[float, float, float, float],
    bbox: tuple[float, float, float, float],
    rotation: int,
) -> Box:
    """A rectangle in PDF points (l, b, r, t; y up) as fractions of the page as rendered
    (PDFium applies the page's /Rotate, clockwise)."""
    left, bottom, right, top = bbox
    width, height = right - left, top - bottom
    x0, x1 = (rect[0] - left) / width, (rect[2] - left) / width
    y0, y1 = (top - rect[3]) / height, (top - rect[1]) / height
    if rotation == 90:
        x0, y0, x1, y1 = 1 - y1, x0, 1 - y0, x1
    elif rotation == 180:
        x0, y0, x1, y1 = 1 - x1, 1 - y1, 1 - x0, 1 - y0
    elif rotation == 270:
        x0, y0, x1, y1 = y0, 1 - x1, y1, 1 - x0
    x0, y0, x1, y1 = (min(1.0, max(0.0, v)) for v in (x0, y0, x1, y1))
    return Box(round(x0, 5), round(y0, 5), round(x1 - x0, 5), round(y1 - y0, 5))


def quote_boxes_sync(data: bytes, page: int, quote: str) -> QuoteBoxes:
    """Where ``quote`` first occurs on ``page`` (1-based). Callers hold no PDFium lock."""
    if len(quote) > MAX_QUOTE_CHARS:
        raise InvalidInputError(f"a quote holds at most {MAX_QUOTE_CHARS} characters")
    needle = _needle(quote)
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(data)
        try:
            handle = pdf[_page_index(pdf, page)]
            bbox = handle.get_bbox()
            rotation = handle.get_rotation()
            textpage = handle.get_textpage()
            raw = textpage.get_text_range()
            boxes: list[Box] = []
            squashed, index = _squash(raw)
            at = squashed.find(needle) if needle else -1
            # Character indices match get_text_range() offsets only when the counts agree.
            if at >= 0 and len(raw) == textpage.count_chars():
                start, end = index[at], index[at + len(needle) - 1]
                for i in range(textpage.count_rects(start, end - start + 1)):
                    boxes.append(_to_fractions(textpage.get_rect(i), bbox, rotation))
            width, height = handle.get_size()
            textpage.close()
            handle.close()
            return QuoteBoxes(page, len(pdf), width, height, tuple(boxes))
        finally:
            pdf.close()


def quote_in_words(words: list[PlacedWord], quote: str) -> tuple[Box, ...]:
    """Where ``quote`` first occurs in ``words`` (a page's, in reading order): one box per
    line it spans, the union of the boxes of the words it touches on that line."""
    texts: list[str] = []
    owner: list[int] = []
    for i, word in enumerate(words):
        squashed, _ = _squash(word.text)
        texts.append(squashed)
        owner += [i] * len(squashed)
    joined, index = _squash("".join(texts))
    needle = _needle(quote)
    at = joined.find(needle) if needle else -1
    if at < 0:
        return ()
    touched = sorted({owner[index[i]] for i in range(at, at + len(needle))})
    lines: dict[int, list[PlacedWord]] = {}
    for i in touched:
        lines.setdefault(words[i].line, []).append(words[i])
    boxes = []
    for line in lines.values():
        x0, y0 = min(w.x for w in line), min(w.y for w in line)
        x1, y1 = max(w.x + w.w for w in line), max(w.y + w.h for w in line)
        x0, y0, x1, y1 = (min(1.0, max(0.0, v)) for v in (x0, y0, x1, y1))
        boxes.append(Box(round(x0, 5), round(y0, 5), round(x1 - x0, 5), round(y1 - y0, 5)))
    return tuple(boxes)


def quote_boxes_in_words_sync(data: bytes, layer: bytes, page: int, quote: str) -> QuoteBoxes:
    """Where ``quote`` first occurs on ``page`` (1-based) of the PDF ``data``, read from the
    word layer ``layer`` (``rag_app.ingest.word_layer``) instead of a text layer."""
    if len(quote) > MAX_QUOTE_CHARS:
        raise InvalidInputError(f"a quote holds at most {MAX_QUOTE_CHARS} characters")
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(data)
        try:
            handle = pdf[_page_index(pdf, page)]
            width, height = handle.get_size()
            pages = len(pdf)
            handle.close()
        finally:
            pdf.close()
    try:
        words = decode(layer, page)
    except ValueError as e:  # a damaged layer: no boxes, the viewer shows the quote alone
        log.warning("word layer unreadable, page %d: %s", page, e)
        words = []
    return QuoteBoxes(page, pages, width, height, quote_in_words(words, quote))


def render_png_sync(data: bytes, page: int, width_px: int) -> bytes:
    """``page`` (1-based) as a PNG ``width_px`` wide (its height follows the page's shape)."""
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(data)
        try:
            handle = pdf[_page_index(pdf, page)]
            width_pt, _ = handle.get_size()
            image = handle.render(scale=width_px / width_pt).to_pil()
            handle.close()
        finally:
            pdf.close()
    out = io.BytesIO()
    # Level 1: about 3x faster than the default for a page of text, a little larger.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


class PageImageCache:
    """Rendered pages, least recently used dropped first past ``max_bytes``. Keys carry the
    content digest, so a replaced document never shows its old pages."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._images: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()

    def get(self, key: tuple[str, int, int]) -> bytes | None:
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
        return image

    def put(self, key: tuple[str, int, int], image: bytes) -> None:
        if len(image) > self._max_bytes or key in self._images:
            return
        self._images[key] = image
        self._bytes += len(image)
        while self._bytes > self._max_bytes:
            _, dropped = self._images.popitem(last=False)
            self._bytes -= len(dropped)


async def render_png(data: bytes, page: int, width_px: int) -> bytes:
    return await anyio.to_thread.run_sync(render_png_sync, data, page, width_px)


async def quote_boxes(data: bytes, page: int, quote: str) -> QuoteBoxes:
    return await anyio.to_thread.run_sync(quote_boxes_sync, data, page, quote)


async def quote_boxes_in_words(data: bytes, layer: bytes, page: int, quote: str) -> QuoteBoxes:
    return await anyio.to_thread.run_sync(quote_boxes_in_words_sync, data, layer, page, quote)

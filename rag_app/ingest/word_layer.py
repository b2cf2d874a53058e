"""The words an OCR service read on a scanned page and where they stand, kept beside the
original (``originals.word_layer_key``) for the viewer's quote highlight: what the OCR'd PDF
copy (``originals.ocr_layer_key``) is to ocrmypdf, this is to Amazon Textract, whose
``WORD`` blocks carry a bounding box but which writes no PDF.

Stored as JSON: ``{"version": 1, "pages": {"<n>": [[text, line, x, y, w, h], ...]}}`` with
each page's words in reading order, ``line`` the index of the line holding the word on its
page, and the box as fractions of the page (0..1, origin top left, y down), as Textract
gives ``Geometry.BoundingBox``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class PlacedWord:
    """A recognised word: its text, the index of its line on the page, and its box as
    fractions of the page (left, top, width, height)."""

    text: str
    line: int
    x: float
    y: float
    w: float
    h: float


def encode(pages: Mapping[int, Iterable[PlacedWord]]) -> bytes:
    """``pages`` (1-based page number to words in reading order) as the stored JSON."""
    return json.dumps(
        {
            "version": FORMAT_VERSION,
            "pages": {
                str(n): [[w.text, w.line, w.x, w.y, w.w, w.h] for w in words]
                for n, words in sorted(pages.items())
            },
        },
        separators=(",", ":"),
    ).encode()


def decode(data: bytes, page: int) -> list[PlacedWord]:
    """The words of ``page`` (1-based) in a stored layer; none for a page it does not hold.
    A layer that is not this format raises ValueError."""
    try:
        document: Any = json.loads(data)
        version = document.get("version") if isinstance(document, dict) else None
        words = [
            PlacedWord(str(text), int(line), float(x), float(y), float(w), float(h))
            for text, line, x, y, w, h in document["pages"].get(str(page), [])
        ]
    except (KeyError, TypeError, AttributeError, ValueError) as e:  # JSON errors too
        raise ValueError(f"not a word layer: {e}") from None
    if version != FORMAT_VERSION:
        raise ValueError(f"not a word layer of version {FORMAT_VERSION}: {version!r}")
    return words


def textract_words(blocks: Iterable[Mapping[str, Any]]) -> dict[int, list[PlacedWord]]:
    """The ``WORD`` blocks of a Textract text detection, by 1-based page, each on the line
    (``LINE`` block, in reading order) whose ``CHILD`` relationship lists it. A word with no
    geometry is left out (the highlight has nothing to draw)."""
    blocks = list(blocks)
    words = {b["Id"]: b for b in blocks if b.get("BlockType") == "WORD" and b.get("Id")}
    pages: dict[int, list[PlacedWord]] = {}
    lines_seen: dict[int, int] = {}
    for block in blocks:
        if block.get("BlockType") != "LINE":
            continue
        page = int(block.get("Page", 1))
        line = lines_seen.get(page, 0)
        lines_seen[page] = line + 1
        for relation in block.get("Relationships", []):
            if relation.get("Type") != "CHILD":
                continue
            for word_id in relation.get("Ids", []):
                word = words.get(word_id)
                box = (word or {}).get("Geometry", {}).get("BoundingBox")
                if word is None or not box or not word.get("Text"):
                    continue
                pages.setdefault(page, []).append(
                    PlacedWord(
                        word["Text"],
                        line,
                        round(float(box["Left"]), 5),
                        round(float(box["Top"]), 5),
                        round(float(box["Width"]), 5),
                        round(float(box["Height"]), 5),
                    )
                )
    return pages

"""What Amazon Textract's text detection answers for a scan of a born-digital page: a
``PAGE`` block, then each line as a ``LINE`` block whose ``CHILD`` relationship lists its
``WORD`` blocks, every block with its ``Geometry.BoundingBox`` (fractions of the page, origin
top left), the words and boxes read from the page's own text layer with PDFium. Model-valid
for ``GetDocumentTextDetection``, so ``botocore.stub.Stubber`` accepts it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium


def _geometry(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {
        "BoundingBox": {"Left": x0, "Top": y0, "Width": x1 - x0, "Height": y1 - y0},
        "Polygon": [{"X": x, "Y": y} for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))],
    }


def page_words(pdf: Path, page: int) -> list[list[tuple[str, tuple[float, float, float, float]]]]:
    """The lines of ``page`` (1-based): each a list of (word, (x0, y0, x1, y1)) with the box
    as fractions of the page, y down."""
    document = pdfium.PdfDocument(pdf)
    handle = document[page - 1]
    textpage = handle.get_textpage()
    left, bottom, right, top = handle.get_bbox()
    lines: list[list[tuple[str, tuple[float, float, float, float]]]] = [[]]
    word, box = "", [1.0, 1.0, 0.0, 0.0]
    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if ch.isspace() or not ch.isprintable():
            if word:
                lines[-1].append((word, (box[0], box[1], box[2], box[3])))
                word, box = "", [1.0, 1.0, 0.0, 0.0]
            if ch in "\r\n" and lines[-1]:
                lines.append([])
            continue
        x0, y0, x1, y1 = textpage.get_charbox(i)
        word += ch
        box = [
            min(box[0], (x0 - left) / (right - left)),
            min(box[1], (top - y1) / (top - bottom)),
            max(box[2], (x1 - left) / (right - left)),
            max(box[3], (top - y0) / (top - bottom)),
        ]
    if word:
        lines[-1].append((word, (box[0], box[1], box[2], box[3])))
    document.close()
    return [line for line in lines if line]


def detection_blocks(pdf: Path, page: int, *, as_page: int = 1) -> list[dict[str, Any]]:
    """The blocks Textract gives for a scan of ``page`` of ``pdf``, numbered ``as_page``."""
    blocks: list[dict[str, Any]] = [
        {
            "BlockType": "PAGE",
            "Id": str(uuid.uuid4()),
            "Page": as_page,
            "Geometry": _geometry(0, 0, 1, 1),
        }
    ]
    for line in page_words(pdf, page):
        ids = [str(uuid.uuid4()) for _ in line]
        x0 = min(b[0] for _, b in line)
        y0 = min(b[1] for _, b in line)
        x1 = max(b[2] for _, b in line)
        y1 = max(b[3] for _, b in line)
        blocks.append(
            {
                "BlockType": "LINE",
                "Id": str(uuid.uuid4()),
                "Page": as_page,
                "Confidence": 99.0,
                "Text": " ".join(w for w, _ in line),
                "Geometry": _geometry(x0, y0, x1, y1),
                "Relationships": [{"Type": "CHILD", "Ids": ids}],
            }
        )
        blocks += [
            {
                "BlockType": "WORD",
                "Id": word_id,
                "Page": as_page,
                "Confidence": 99.0,
                "Text": text,
                "TextType": "PRINTED",
                "Geometry": _geometry(*box),
            }
            for word_id, (text, box) in zip(ids, line, strict=True)
        ]
    return blocks

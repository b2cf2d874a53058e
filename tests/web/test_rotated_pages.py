"""Quote boxes on a page with ``/Rotate``: a born-digital page turned 90, 180 or 270 degrees
by its page dictionary, text layer untouched. The quote route's boxes are fractions of the
page as PDFium renders it for the viewer, so they must land on the quoted words there.
Checked with pixels rather than with the rotation formula: the rendered page turned back
(by Pillow) is the upright page, and the boxes painted on the rendered page, turned back
the same way, cover the upright page's boxes."""

from __future__ import annotations

import io

import numpy as np
import pypdf
import pypdfium2 as pdfium
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from rag_app.documents.page_images import Box, quote_boxes_sync, render_png_sync
from tests.conftest import CORPUS

BULLETIN = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


def _turned(data: bytes, rotate: int) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    for page in writer.pages:
        page.rotate(rotate)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _painted(size: tuple[int, int], boxes: tuple[Box, ...]) -> Image.Image:
    """``boxes`` filled white on black, on an image of ``size`` (the page as rendered)."""
    image = Image.new("L", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for b in boxes:
        draw.rectangle(
            (b.x * width, b.y * height, (b.x + b.w) * width, (b.y + b.h) * height), fill=255
        )
    return image


def _text(data: bytes) -> str:
    return str(pdfium.PdfDocument(data)[0].get_textpage().get_text_range())


def _grey(image: Image.Image) -> NDArray[np.float64]:
    return np.asarray(image.convert("L"), dtype=np.float64)


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_quote_boxes_on_a_turned_page_land_on_its_words_as_the_viewer_shows_them(
    rotate: int,
) -> None:
    upright_pdf = BULLETIN.read_bytes()
    turned_pdf = _turned(upright_pdf, rotate)
    # A quote as ingestion reads the turned page (PDFium orders a page turned 180 degrees
    # otherwise) that the upright page holds too: there it gives the expected boxes.
    upright_text = "".join(_text(upright_pdf).split())
    lines = [line.strip() for line in _text(turned_pdf).splitlines() if len(line.split()) >= 5]
    quote = [line for line in lines if "".join(line.split()) in upright_text][-1]

    found = quote_boxes_sync(turned_pdf, 1, quote)
    upright = quote_boxes_sync(upright_pdf, 1, quote)
    assert found.boxes
    assert upright.boxes
    shown = Image.open(io.BytesIO(render_png_sync(turned_pdf, 1, 600)))
    # Pillow turns counter-clockwise: by /Rotate's angle, it undoes the clockwise turn.
    back = shown.rotate(rotate, expand=True)
    rendered = Image.open(io.BytesIO(render_png_sync(upright_pdf, 1, back.width)))
    assert abs(rendered.height - back.height) <= 1
    page = rendered.resize(back.size)
    # The viewer shows the page turned as /Rotate says: turned back, it is the upright page
    # but for anti-aliasing, and far from it turned any other way.
    same = float(np.abs(_grey(back) - _grey(page)).mean())
    other = [
        float(np.abs(_grey(back.rotate(a, expand=True).resize(back.size)) - _grey(page)).mean())
        for a in (90, 180, 270)
    ]
    assert same < 10 < min(other), (same, other)

    drawn = _grey(_painted(shown.size, found.boxes).rotate(rotate, expand=True)) > 127
    expected = _grey(_painted(back.size, upright.boxes)) > 127
    overlap = (drawn & expected).sum() / (drawn | expected).sum()
    assert overlap > 0.9, overlap
    width, height = pdfium.PdfDocument(upright_pdf)[0].get_size()
    turned_size = (height, width) if rotate in (90, 270) else (width, height)
    assert (found.width_pt, found.height_pt) == pytest.approx(turned_size)

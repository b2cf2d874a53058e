"""The quote highlight on a scanned page: the PDF uploaded is image-only (a real page of the
corpus rendered at 200 dpi, as a scanner makes it), ocrmypdf + tesseract recognise it, and the
OCR'd copy kept beside the original gives PDFium the words' positions. The boxes drawn for a
quote must fall on the same words of the born-digital page (same geometry), the original stays
what was uploaded, and deleting the document deletes the OCR layer too."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.ingest.originals import blob_key, ocr_layer_key
from rag_app.settings import Settings
from tests.conftest import CORPUS
from tests.support.scans import scanned_pdf
from tests.web.scanned_quotes import quote_on_a_scan

pytestmark = pytest.mark.slow
BULLETIN = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


def word_centres(pdf: Path, words: list[str]) -> list[tuple[str, float, float]]:
    """Each word's first occurrence on page 1 of the born-digital PDF: its characters'
    centres as fractions of the page (x right, y down)."""
    page = pdfium.PdfDocument(pdf)[0]
    textpage = page.get_textpage()
    left, bottom, right, top = page.get_bbox()
    centres = []
    for word in words:
        start, count = textpage.search(word, match_case=True, match_whole_word=True).get_next()
        for i in range(start, start + count):
            x0, y0, x1, y1 = textpage.get_charbox(i)
            centres.append(
                (
                    word,
                    ((x0 + x1) / 2 - left) / (right - left),
                    (top - (y0 + y1) / 2) / (top - bottom),
                )
            )
    return centres


def test_a_quote_on_a_scanned_page_is_boxed_on_its_words(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", ocr="ocrmypdf")
    scan = scanned_pdf(BULLETIN)
    born_digital = pdfium.PdfDocument(BULLETIN)[0].get_textpage().get_text_range()
    with TestClient(create_app(settings)) as client:
        # A quote from what OCR read: words the born-digital page has too, in a row.
        quoted = quote_on_a_scan(
            client,
            "bulletin-scan.pdf",
            scan,
            query="burglary theft vehicle",
            timeout=600,
            keep=lambda word: re.search(rf"\b{word}\b", born_digital) is not None,
        )
        document_id, quote, boxes = quoted.document_id, quoted.quote, quoted.boxes
        # Each word's characters on the born-digital page lie inside a drawn box (a scan at
        # 200 dpi: allow a pixel or two of slack).
        slack = 2 / (8.5 * 200)
        for word, cx, cy in word_centres(BULLETIN, quoted.words):
            assert any(
                b["x"] - slack <= cx <= b["x"] + b["w"] + slack
                and b["y"] - slack <= cy <= b["y"] + b["h"] + slack
                for b in boxes
            ), (word, cx, cy, boxes)
        assert sum(b["w"] * b["h"] for b in boxes) < 0.1  # the quote, not the page

        # The original is what was uploaded; the layer sits beside it until the delete.
        assert client.get(f"/documents/{document_id}/content").content == scan
        document = client.get(f"/documents/{document_id}").json()
        key = ocr_layer_key(blob_key(document_id, document["content_sha256"], "application/pdf"))
        layer = settings.data_dir / "blobs" / key
        assert pdfium.PdfDocument(layer.read_bytes())[0].get_textpage().count_chars() > 100
        assert client.delete(f"/documents/{document_id}").status_code == 204
        assert not layer.exists()
        assert (
            client.get(
                f"/documents/{document_id}/pages/1/quote", params={"text": quote}
            ).status_code
            == 404
        )

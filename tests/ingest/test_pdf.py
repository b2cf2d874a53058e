from __future__ import annotations

import pytest

from rag_app.errors import PayloadTooLargeError, UnprocessableDocumentError
from rag_app.ingest.pdf import extract_pages, normalize_page_text, pages_without_text
from tests.conftest import CORPUS, FAA_PDF


def test_pages_are_numbered_from_one_in_order() -> None:
    pages = extract_pages(FAA_PDF.read_bytes(), max_pages=100)
    assert [p.number for p in pages] == list(range(1, 16))
    assert "AOA sensor system test" in pages[5].text
    assert "40 work-hours" in pages[5].text


def test_page_text_is_normalised() -> None:
    raw = "FAA\ufffeapproved\r\nline two \t\r\nTest ........ 40\x00"
    assert normalize_page_text(raw) == "FAA-approved\nline two\nTest ... 40"


def test_encrypted_pdf_is_reported_as_encrypted() -> None:
    with pytest.raises(UnprocessableDocumentError, match="encrypted"):
        extract_pages((CORPUS / "hostile" / "password-example.pdf").read_bytes(), max_pages=10)


@pytest.mark.parametrize(
    "data", [b"", b"hello", b"%PDF-1.7\n garbage", b"%PDF-" + bytes(range(256))]
)
def test_garbage_is_unprocessable_not_a_crash(data: bytes) -> None:
    with pytest.raises(UnprocessableDocumentError):
        extract_pages(data, max_pages=10)


def test_page_limit() -> None:
    with pytest.raises(PayloadTooLargeError, match="15 pages"):
        extract_pages(FAA_PDF.read_bytes(), max_pages=14)


def test_a_pdf_with_no_text_has_every_page_reported_as_needing_ocr() -> None:
    # A real one-page PDF with an empty content stream, written out by hand.
    body = b"%PDF-1.4\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length 0 >>\nstream\n\nendstream",
    ]
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    body += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    pages = extract_pages(body, max_pages=10)
    assert [(p.number, p.text) for p in pages] == [(1, "")]
    assert pages_without_text(pages, min_chars=20) == [1]

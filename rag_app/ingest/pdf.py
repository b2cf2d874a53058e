"""PDF text per page with pypdfium2 (BSD/Apache; fast, reads multi-column pages in order),
falling back to pypdf for files PDFium rejects but pypdf can read."""

from __future__ import annotations

import io
import re
import threading

import pypdfium2 as pdfium

from rag_app.domain import PageText
from rag_app.errors import PayloadTooLargeError, UnprocessableDocumentError

PDF_MAGIC = b"%PDF-"
PDF_MEDIA_TYPE = "application/pdf"

# PDFium is not thread-safe; every call into it goes through this lock.
_PDFIUM = threading.Lock()
PDFIUM_LOCK = _PDFIUM  # for the viewer's page images (rag_app.documents.page_images)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}")


def looks_like_pdf(head: bytes) -> bool:
    """PDF files start with ``%PDF-`` (allowing the up-to-1024 leading bytes readers accept)."""
    return PDF_MAGIC in head[:1024]


def normalize_page_text(raw: str) -> str:
    """The canonical text of a page: what chunks slice and citations quote.

    Line breaks become ``\\n``; PDFium's end-of-line hyphen marker (U+FFFE) becomes ``-``;
    dot leaders in tables shrink to ``...``; control characters go.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-")
    text = _CONTROL.sub("", text)
    text = _DOT_LEADER.sub("... ", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return text.strip()


def _encrypted_error() -> UnprocessableDocumentError:
    return UnprocessableDocumentError(
        "the PDF is encrypted (password-protected); remove the password and upload it again"
    )


def _pdfium_pages(data: bytes, max_pages: int) -> list[PageText]:
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as e:
            if "password" in str(e).lower():
                raise _encrypted_error() from e
            raise
        try:
            count = len(pdf)
            _check_page_count(count, max_pages)
            pages = []
            for index in range(count):
                page = pdf[index]
                textpage = page.get_textpage()
                pages.append(PageText(index + 1, normalize_page_text(textpage.get_text_range())))
                textpage.close()
                page.close()
            return pages
        finally:
            pdf.close()


def _pypdf_pages(data: bytes, max_pages: int) -> list[PageText]:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise _encrypted_error()
    _check_page_count(len(reader.pages), max_pages)
    return [
        PageText(i + 1, normalize_page_text(page.extract_text() or ""))
        for i, page in enumerate(reader.pages)
    ]


def _check_page_count(count: int, max_pages: int) -> None:
    if count == 0:
        raise UnprocessableDocumentError("the PDF has no pages")
    if count > max_pages:
        raise PayloadTooLargeError(f"the PDF has {count} pages; the limit is {max_pages}")


def extract_pages(data: bytes, *, max_pages: int) -> list[PageText]:
    """Text of every page's text layer, in order; a scanned page comes back with little or
    no text (``pages_without_text`` finds them). Raises ``UnprocessableDocumentError`` with a
    readable reason for files that are not PDFs or are malformed or encrypted, and
    ``PayloadTooLargeError`` over ``max_pages``."""
    if not looks_like_pdf(data[:1024]):
        raise UnprocessableDocumentError("the file is not a PDF (no %PDF- header)")
    try:
        pages = _pdfium_pages(data, max_pages)
    except (UnprocessableDocumentError, PayloadTooLargeError):
        raise
    except Exception as pdfium_error:
        try:
            pages = _pypdf_pages(data, max_pages)
        except (UnprocessableDocumentError, PayloadTooLargeError):
            raise
        except Exception as e:
            raise UnprocessableDocumentError(
                f"the PDF could not be read (malformed or damaged): {pdfium_error}; {e}"
            ) from e
    return pages


def text_chars(text: str) -> int:
    """Letters and digits: what tells a text layer from a scan's stray page number or
    the dots and rules that some scanners leave behind."""
    return sum(ch.isalnum() for ch in text)


def pages_without_text(pages: list[PageText], *, min_chars: int) -> list[int]:
    """Numbers of the pages whose text layer has fewer than ``min_chars`` letters and
    digits: scanned pages (an image of text) that need OCR to be searchable."""
    return [page.number for page in pages if text_chars(page.text) < min_chars]

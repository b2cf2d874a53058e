"""Distinct small PDFs made from the real corpus's text (fpdf2), and the chunks each one
must end with (the production reader and chunker, run here independently of any job)."""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib
from fpdf import FPDF

from rag_app.ingest.chunking import chunk_pages
from rag_app.ingest.pdf import extract_pages
from rag_app.settings import Settings
from tests.conftest import CORPUS


@functools.cache
def _corpus_paragraphs() -> list[str]:
    words: list[str] = []
    for pdf in sorted((CORPUS / "pdf").glob("*.pdf")):
        for page in extract_pages(pdf.read_bytes(), max_pages=40):
            words += page.text.split()
    return [" ".join(words[i : i + 120]) for i in range(0, len(words) - 120, 120)]


def text_pdf(text: str) -> bytes:
    pdf = FPDF(format="letter")
    pdf.set_margins(25, 25)
    pdf.set_auto_page_break(True, 25)
    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    pdf.add_font("DejaVu", fname=str(font))
    pdf.set_font("DejaVu", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 5, text)
    return bytes(pdf.output())


def distinct_pdfs(count: int, *, paragraphs: int = 3) -> list[bytes]:
    """``count`` PDFs with different text, ``paragraphs`` of ~120 corpus words each."""
    pool = _corpus_paragraphs()
    step = max(1, len(pool) // count)
    return [
        text_pdf(
            f"Exhibit {n}.\n\n"
            + "\n\n".join(pool[(n * step + k) % len(pool)] for k in range(paragraphs))
        )
        for n in range(count)
    ]


def expected_chunks(data: bytes, settings: Settings) -> int:
    pages = extract_pages(data, max_pages=settings.max_pages)
    return len(chunk_pages(pages, max_chars=settings.chunk_size, overlap=settings.chunk_overlap))

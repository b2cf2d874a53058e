"""Scanned PDFs made from real ones: each page rendered to an image (pypdfium2) and saved
as an image-only PDF (Pillow), which is what a scanner produces: no text layer at all."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pytest

PIL = pytest.importorskip("PIL", reason="Pillow (the 'ocr' extra) renders the scans")


def scanned_pdf(
    path: Path, *, dpi: int = 200, pages: list[int] | None = None, rotate: int = 0
) -> bytes:
    """``path``'s pages (1-based ``pages``, default all) as an image-only PDF. ``rotate``
    (90, 180, 270): each page fed to the scanner turned, as scanners save a sideways page:
    the image is stored turned ``rotate`` degrees counter-clockwise and the page's
    ``/Rotate`` turns it back clockwise, so a viewer shows it upright."""
    pdf = pdfium.PdfDocument(path.read_bytes())
    try:
        numbers = pages or list(range(1, len(pdf) + 1))
        images = [
            pdf[n - 1].render(scale=dpi / 72).to_pil().convert("L").rotate(rotate, expand=True)
            for n in numbers
        ]
    finally:
        pdf.close()
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    if not rotate:
        return out.getvalue()
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(out))
    for page in writer.pages:
        page.rotate(rotate)
    turned = io.BytesIO()
    writer.write(turned)
    return turned.getvalue()


def text_then_scan(text_pdf: Path, scan: bytes) -> bytes:
    """A PDF whose first pages have a text layer (``text_pdf``) and whose last pages are
    ``scan``: a filing with scanned exhibits."""
    writer = pypdf.PdfWriter()
    for source in (pypdf.PdfReader(text_pdf), pypdf.PdfReader(io.BytesIO(scan))):
        for page in source.pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

"""The OCR seam: text for the scanned pages of a PDF, from ocrmypdf + tesseract in the
process's own container (``ocr_local.py``) or from Amazon Textract (``ocr_textract.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag_app.domain import PageText
from rag_app.errors import ConfigurationError
from rag_app.ingest.files import StoredFile


class OcrUnavailableError(ConfigurationError):
    """The OCR engine is not installed or not reachable; the message says what to install
    or configure. Ingestion then indexes the pages that have text and reports the rest."""


@runtime_checkable
class PageOcr(Protocol):
    """Recognises the text of image-only PDF pages.

    - ``recognise`` returns one ``PageText`` per requested page number (1-based), in the order
      asked, each with ``ocr=True``; a page where nothing legible is found (a blank page)
      has empty text, which is not an error.
    - It raises ``OcrUnavailableError`` when the engine cannot run at all (not installed,
      no permission), and ``UnprocessableDocumentError`` when this file cannot be OCR'd
      (empty, not a PDF, damaged beyond reading).
    """

    @property
    def name(self) -> str:
        """What the status and logs call the engine (``ocrmypdf``, ``amazon-textract``)."""
        ...

    async def recognise(self, pdf: StoredFile, pages: Sequence[int]) -> list[PageText]: ...

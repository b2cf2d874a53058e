"""OCR in the process's own container: ocrmypdf (the 'ocr' extra) drives Debian's
``tesseract-ocr`` on the scanned pages only, and the text layer it adds is read back with
the same PDF reader as every other page, so OCR'd text is normalised the same way.

With a blob store, the OCR'd PDF itself is kept next to the original
(``originals.ocr_layer_key``): its invisible text layer puts each recognised word where it
stands on the scan, which is what the viewer's quote highlight reads.

Pages are rasterised with PDFium (``--rasterizer pypdfium``), so Ghostscript is not needed
for this; ``--force-ocr`` on just the requested pages replaces the stray characters a scan
may carry (a Bates stamp) with the text of the whole page image.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import anyio.to_thread

from rag_app.blobstores.base import BlobStore
from rag_app.domain import PageText
from rag_app.errors import UnprocessableDocumentError
from rag_app.ingest.files import StoredFile
from rag_app.ingest.ocr import OcrUnavailableError
from rag_app.ingest.originals import ocr_layer_key
from rag_app.ingest.pdf import extract_pages

MISSING_DEPENDENCY = 3  # ocrmypdf's exit codes
INPUT_FILE_ERROR = 2
ENCRYPTED_PDF = 8


def _check_installed(language: str) -> None:
    if importlib.util.find_spec("ocrmypdf") is None:
        raise OcrUnavailableError(
            "ocrmypdf is not installed (the 'ocr' extra: `uv sync --extra ocr`)"
        )
    if shutil.which("tesseract") is None:
        raise OcrUnavailableError(
            "tesseract is not installed (Debian: apt-get install tesseract-ocr "
            f"tesseract-ocr-{language.split('+')[0]})"
        )


class OcrmypdfOcr:
    def __init__(
        self,
        *,
        language: str = "eng",
        timeout_seconds: float = 1800,
        blobs: BlobStore | None = None,
    ) -> None:
        self._language = language
        self._timeout = timeout_seconds
        self._blobs = blobs

    @property
    def name(self) -> str:
        return "ocrmypdf"

    def _run(self, data: bytes, pages: Sequence[int]) -> tuple[list[PageText], bytes]:
        _check_installed(self._language)
        with tempfile.TemporaryDirectory(prefix="rag-ocr-") as folder:
            source, target = Path(folder) / "in.pdf", Path(folder) / "out.pdf"
            source.write_bytes(data)
            command = [
                sys.executable, "-m", "ocrmypdf", "--quiet",
                "--force-ocr", "--pages", ",".join(map(str, pages)),
                "--language", self._language,
                "--output-type", "pdf", "--rasterizer", "pypdfium", "--optimize", "0",
                "--jobs", "1", str(source), str(target),
            ]  # fmt: skip
            # One tesseract thread per job: the service has other work on its cores.
            env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
            try:
                result = subprocess.run(
                    command, capture_output=True, timeout=self._timeout, check=False, env=env
                )
            except subprocess.TimeoutExpired:
                raise UnprocessableDocumentError(
                    f"OCR of {len(pages)} pages did not finish in {self._timeout:.0f} s"
                ) from None
            lines = [s for s in result.stderr.decode(errors="replace").splitlines() if s.strip()]
            if result.returncode == MISSING_DEPENDENCY:  # what is missing, then the advice
                raise OcrUnavailableError(f"ocrmypdf cannot run: {' '.join(lines[:2])}")
            reason = lines[-1] if lines else "no message"
            if result.returncode != 0:
                raise UnprocessableDocumentError(
                    f"OCR failed (ocrmypdf exit {result.returncode}): {reason}"
                )
            layer = target.read_bytes()
            recognised = extract_pages(layer, max_pages=sys.maxsize)
        return [PageText(n, recognised[n - 1].text, ocr=True) for n in pages], layer

    async def recognise(self, pdf: StoredFile, pages: Sequence[int]) -> list[PageText]:
        recognised, layer = await anyio.to_thread.run_sync(self._run, pdf.data, pages)
        if self._blobs is not None:
            await self._blobs.put(ocr_layer_key(pdf.key), layer, content_type="application/pdf")
        return recognised

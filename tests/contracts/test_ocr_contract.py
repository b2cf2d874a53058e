"""The PageOcr contract over every engine: ocrmypdf + tesseract on real scans (a page of
``scotus-transcript-p1.pdf`` rendered to an image-only PDF, a blank scanned page, an empty
and a broken file), and Amazon Textract through the real boto3 client, its responses
stubbed by ``botocore.stub.Stubber`` (checked against the service's model) with the
documents bucket on moto's S3, answering each case as the service does: the LINE blocks of
the pages it reads, none for a blank page, a failed job for a file it cannot read.

ocrmypdf's run on the scan rasterises and recognises two pages (about 15 s): slow. Its
refusals of the empty and the broken file stay in the default suite (about 2 s each)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pypdf
import pytest
from botocore.stub import Stubber

from rag_app.blobstores.s3 import S3BlobStore
from rag_app.errors import UnprocessableDocumentError
from rag_app.ingest.files import StoredFile
from rag_app.ingest.ocr import PageOcr
from rag_app.ingest.ocr_local import OcrmypdfOcr
from rag_app.ingest.ocr_textract import TextractOcr
from tests.conftest import CORPUS
from tests.support.aws_stubs import stubbed
from tests.support.scans import scanned_pdf

pytestmark = pytest.mark.anyio

SCOTUS_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
# What the page says, as Textract's LINE blocks give it back.
SCOTUS_LINES = ["IN THE SUPREME COURT OF THE UNITED STATES", "Washington, D.C."]
BROKEN = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\n" + b"\x00garbage" * 64


class LocalEngine:
    """ocrmypdf reads the bytes; there is nothing to arrange."""

    def __init__(self) -> None:
        self.ocr = OcrmypdfOcr()

    async def given(self, case: str, data: bytes, lines: dict[int, list[str]]) -> StoredFile:
        return StoredFile(f"documents/{case}.pdf", data, "application/pdf")


class TextractEngine:
    """Puts the PDF in the bucket and queues what Amazon Textract answers for it."""

    def __init__(self, client: Any, stubber: Stubber, blobs: S3BlobStore) -> None:
        self.stubber = stubber
        self.blobs = blobs
        self.ocr = TextractOcr(
            client, blobs, first_poll_seconds=0.01, max_poll_seconds=0.02, timeout_seconds=30
        )

    async def given(self, case: str, data: bytes, lines: dict[int, list[str]]) -> StoredFile:
        key = f"documents/{uuid.uuid4().hex}/{hashlib.sha256(data).hexdigest()}.pdf"
        await self.blobs.put(key, data, content_type="application/pdf")
        job = uuid.uuid4().hex * 2
        self.stubber.add_response("start_document_text_detection", {"JobId": job})
        if case in ("empty", "broken"):
            self.stubber.add_response(
                "get_document_text_detection",
                {"JobStatus": "FAILED", "StatusMessage": "Request has unsupported document format"},
            )
            return StoredFile(key, data, "application/pdf")
        pages = len(pypdf.PdfReader(io.BytesIO(data)).pages)
        blocks: list[dict[str, Any]] = []
        for page in range(1, pages + 1):
            blocks.append({"BlockType": "PAGE", "Id": uuid.uuid4().hex, "Page": page})
            blocks += [
                {"BlockType": "LINE", "Id": uuid.uuid4().hex, "Text": text, "Page": page}
                for text in lines.get(page, [])
            ]
        self.stubber.add_response(
            "get_document_text_detection",
            {"JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": pages}, "Blocks": blocks},
        )
        return StoredFile(key, data, "application/pdf")


@pytest.fixture
def engine(request: pytest.FixtureRequest, moto_s3: Any) -> Iterator[Any]:
    if request.param == "ocrmypdf":
        pytest.importorskip("ocrmypdf", reason="OCR is the 'ocr' extra")
        yield LocalEngine()
        return
    for client, stubber in stubbed("textract"):
        blobs = S3BlobStore(moto_s3, bucket="documents", prefix=f"t-{uuid.uuid4().hex[:8]}")
        yield TextractEngine(client, stubber, blobs)


LOCAL = pytest.param("ocrmypdf", marks=pytest.mark.needs_tool("tesseract"))
ENGINES = [LOCAL, "amazon-textract"]
ENGINES_ON_SCANS = [
    pytest.param("ocrmypdf", marks=[pytest.mark.slow, pytest.mark.needs_tool("tesseract")]),
    "amazon-textract",
]


def _scan_then_blank() -> bytes:
    """A scanned page of the transcript, then a blank scanned page."""
    from PIL import Image  # the 'ocr' extra, as tests.support.scans checks

    scan = pypdf.PdfReader(io.BytesIO(scanned_pdf(SCOTUS_PDF, dpi=150)))
    blank = io.BytesIO()
    Image.new("L", (1275, 1650), 255).save(blank, "PDF", resolution=150)
    writer = pypdf.PdfWriter()
    writer.add_page(scan.pages[0])
    writer.add_page(pypdf.PdfReader(blank).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def _recognise(engine: Any, case: str, data: bytes, pages: Sequence[int]) -> list[Any]:
    pdf = await engine.given(case, data, {1: SCOTUS_LINES})
    return list(await engine.ocr.recognise(pdf, pages))


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
async def test_it_is_a_page_ocr_with_a_name(engine: Any) -> None:
    assert isinstance(engine.ocr, PageOcr)
    assert engine.ocr.name


@pytest.mark.parametrize("engine", ENGINES_ON_SCANS, indirect=True)
async def test_one_page_text_per_page_asked_in_the_order_asked_a_blank_page_empty(
    engine: Any,
) -> None:
    pages = await _recognise(engine, "scan", _scan_then_blank(), [2, 1])
    assert [p.number for p in pages] == [2, 1]
    assert all(p.ocr for p in pages)
    assert pages[0].text == ""  # the blank page: nothing legible, not an error
    assert "SUPREME COURT" in pages[1].text.upper()
    assert "WASHINGTON" in pages[1].text.upper()


@pytest.mark.parametrize("case", ["empty", "broken"])
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
async def test_an_empty_or_broken_file_is_unprocessable(engine: Any, case: str) -> None:
    data = b"" if case == "empty" else BROKEN
    with pytest.raises(UnprocessableDocumentError):
        await _recognise(engine, case, data, [1])

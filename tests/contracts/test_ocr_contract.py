"""The PageOcr contract over every engine: ocrmypdf + tesseract on real scans (a page of
``scotus-transcript-p1.pdf`` rendered to an image-only PDF, a blank scanned page, an empty
and a broken file), and Amazon Textract through the real boto3 client, its responses
stubbed by ``botocore.stub.Stubber`` (checked against the service's model) with the
documents bucket on moto's S3, answering each case as the service does: the LINE and WORD
blocks of the pages it reads (the scanned page's own words and boxes), none for a blank page,
a failed job for a file it cannot read. Textract's word boxes are kept beside the original
for the viewer's highlight.

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
from rag_app.ingest.originals import word_layer_key
from rag_app.ingest.word_layer import decode
from tests.conftest import CORPUS
from tests.support.aws_stubs import stubbed
from tests.support.scans import scanned_pdf
from tests.support.textract_blocks import detection_blocks, page_words

pytestmark = pytest.mark.anyio

SCOTUS_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
BROKEN = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\n" + b"\x00garbage" * 64


class LocalEngine:
    """ocrmypdf reads the bytes; there is nothing to arrange."""

    def __init__(self) -> None:
        self.ocr = OcrmypdfOcr()

    async def given(self, case: str, data: bytes) -> StoredFile:
        return StoredFile(f"documents/{case}.pdf", data, "application/pdf")


class TextractEngine:
    """Puts the PDF in the bucket and queues what Amazon Textract answers for it."""

    def __init__(self, client: Any, stubber: Stubber, blobs: S3BlobStore) -> None:
        self.stubber = stubber
        self.blobs = blobs
        self.ocr = TextractOcr(
            client, blobs, first_poll_seconds=0.01, max_poll_seconds=0.02, timeout_seconds=30
        )

    async def given(self, case: str, data: bytes) -> StoredFile:
        """Page 1 reads as the transcript's first page; any other page is blank."""
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
            if page == 1:
                blocks += detection_blocks(SCOTUS_PDF, 1)
            else:
                blocks.append({"BlockType": "PAGE", "Id": uuid.uuid4().hex, "Page": page})
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
    pdf = await engine.given(case, data)
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


@pytest.mark.parametrize("engine", ["amazon-textract"], indirect=True)
async def test_textract_keeps_the_words_boxes_of_the_pages_it_read(engine: Any) -> None:
    pdf = await engine.given("scan", _scan_then_blank())
    await engine.ocr.recognise(pdf, [1, 2])
    layer = await engine.blobs.get(word_layer_key(pdf.key))
    expected = [(w, i, box) for i, line in enumerate(page_words(SCOTUS_PDF, 1)) for w, box in line]
    kept = decode(layer, 1)
    assert [(w.text, w.line) for w in kept] == [(w, i) for w, i, _ in expected]
    for word, (_, _, (x0, y0, x1, y1)) in zip(kept, expected, strict=True):
        assert (word.x, word.y, word.x + word.w, word.y + word.h) == pytest.approx(
            (x0, y0, x1, y1), abs=1e-4
        )
    assert decode(layer, 2) == []  # the blank page: no words, nothing kept


@pytest.mark.parametrize("engine", ["amazon-textract"], indirect=True)
async def test_textract_pages_not_asked_for_keep_no_words(engine: Any) -> None:
    pdf = await engine.given("scan", _scan_then_blank())
    await engine.ocr.recognise(pdf, [2])
    with pytest.raises(KeyError):  # nothing legible on the pages asked: no layer at all
        await engine.blobs.get(word_layer_key(pdf.key))

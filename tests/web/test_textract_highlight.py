"""The quote highlight on a page Amazon Textract read: an image-only PDF (a real corpus page
rendered at 200 dpi) uploaded to the app on the S3 blob store (moto's server) with
``RAG_OCR=textract``; the app's own boto3 Textract client goes over HTTP to a local endpoint
(``AWS_ENDPOINT_URL_TEXTRACT``) that answers the JSON protocol with the blocks Textract gives
for that page: its lines and words with their boxes (the born-digital page's own). The
boxes the quote route draws for a quote must cover each quoted word's box, the word layer
must sit beside the original and go with the document.

Slow: Textract's first poll waits 5 s (the app's setting)."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pypdfium2 as pdfium
import pytest
from litestar.testing import TestClient
from PIL import Image

from rag_app.api import create_app
from rag_app.ingest.originals import blob_key, word_layer_key
from rag_app.ingest.word_layer import textract_words
from rag_app.settings import Settings
from rag_app_dev.local_http import LocalHttpServer, send
from tests.conftest import CORPUS
from tests.support.scans import scanned_pdf
from tests.support.textract_blocks import detection_blocks, page_words
from tests.web.scanned_quotes import quote_on_a_scan

pytestmark = pytest.mark.slow
BULLETIN = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


class LocalTextract(LocalHttpServer):
    """Text detection jobs that succeed at once with ``blocks``; records the S3 objects."""

    def __init__(self, blocks: list[dict[str, Any]]) -> None:
        super().__init__()
        self.blocks = blocks
        self.objects: list[dict[str, str]] = []

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        target = request.headers.get("X-Amz-Target", "")
        body = json.loads(request.rfile.read(int(request.headers["Content-Length"])))
        if target.endswith(".StartDocumentTextDetection"):
            self.objects.append(body["DocumentLocation"]["S3Object"])
            send(request, 200, json.dumps({"JobId": uuid.uuid4().hex}).encode())
        elif target.endswith(".GetDocumentTextDetection"):
            answer = {
                "JobStatus": "SUCCEEDED",
                "DocumentMetadata": {"Pages": 1},
                "Blocks": self.blocks,
            }
            send(request, 200, json.dumps(answer).encode())
        else:
            send(
                request, 400, b'{"message": "unknown operation"}', error_type="ValidationException"
            )


@pytest.fixture
def textract(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalTextract]:
    with LocalTextract(detection_blocks(BULLETIN, 1)) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_TEXTRACT", server.endpoint_url)
        yield server


def _settings(database_url: str, tmp_path: Path, moto_s3: Any) -> tuple[Settings, str]:
    """The app on a fresh bucket of moto's S3 with ``RAG_OCR=textract``; and the bucket."""
    bucket = f"documents-{uuid.uuid4().hex[:10]}"
    moto_s3.create_bucket(Bucket=bucket)
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        blob_store="s3",
        documents_bucket=bucket,
        ocr="textract",
    )
    return settings, bucket


def _uncovered(words: list[str], boxes: list[dict[str, Any]]) -> list[str]:
    """The ``words`` none of whose boxes on the born-digital page (fractions of the page
    as shown, y down) lies inside one of ``boxes``."""
    placed: dict[str, list[tuple[float, float, float, float]]] = {}
    for line in page_words(BULLETIN, 1):
        for word, box in line:
            placed.setdefault(word, []).append(box)

    def covered(box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        return any(
            b["x"] <= x0 + 1e-4
            and b["y"] <= y0 + 1e-4
            and x1 - 1e-4 <= b["x"] + b["w"]
            and y1 - 1e-4 <= b["y"] + b["h"]
            for b in boxes
        )

    return [word for word in words if not any(covered(box) for box in placed.get(word, []))]


def test_a_quote_on_a_page_textract_read_is_boxed_on_its_words(
    database_url: str, tmp_path: Path, moto_s3: Any, textract: LocalTextract
) -> None:
    settings, bucket = _settings(database_url, tmp_path, moto_s3)
    scan = scanned_pdf(BULLETIN)
    with TestClient(create_app(settings)) as client:
        quoted = quote_on_a_scan(
            client, "bulletin-scan.pdf", scan, query="burglary theft vehicle", timeout=300
        )
        document_id, boxes = quoted.document_id, quoted.boxes
        assert textract.objects
        assert textract.objects[0]["Bucket"] == bucket
        # Each quoted word's box (one of its occurrences on the page) lies inside a drawn box.
        assert _uncovered(quoted.words, boxes) == [], boxes
        assert sum(b["w"] * b["h"] for b in boxes) < 0.1  # the quote, not the page
        missing = client.get(
            f"/documents/{document_id}/pages/1/quote", params={"text": "not on this page"}
        ).json()
        assert missing["found"] is False
        assert missing["boxes"] == []

        document = client.get(f"/documents/{document_id}").json()
        key = word_layer_key(blob_key(document_id, document["content_sha256"], "application/pdf"))
        assert moto_s3.get_object(Bucket=bucket, Key=key)["ContentType"] == "application/json"
        assert client.delete(f"/documents/{document_id}").status_code == 204
        assert moto_s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0) == 0


def _mean_difference(png: bytes, other: Image.Image) -> float:
    """Mean absolute difference of grey levels (0-255) between two images of one size."""
    shown = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    assert shown.shape == (other.height, other.width)
    return float(np.abs(shown - np.asarray(other.convert("L"), dtype=np.float64)).mean())


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_on_a_page_scanned_turned_the_boxes_land_on_the_words_as_the_viewer_shows_them(
    database_url: str, tmp_path: Path, moto_s3: Any, textract: LocalTextract, rotate: int
) -> None:
    """A page fed to the scanner sideways or upside down: its image is stored turned and
    its ``/Rotate`` turns it back. The local Textract answers the boxes of the page as
    shown (upright): what Textract is assumed to measure on (the skipped test below)."""
    settings, _ = _settings(database_url, tmp_path, moto_s3)
    with TestClient(create_app(settings)) as client:
        quoted = quote_on_a_scan(
            client,
            f"bulletin-turned-{rotate}.pdf",
            scanned_pdf(BULLETIN, rotate=rotate),
            query="burglary theft vehicle",
            timeout=300,
        )
        # The viewer's page image (PDFium applies /Rotate) is the page upright: it differs
        # from the born-digital page's rendering by scan noise, and from it turned by far.
        shown = client.get(f"/documents/{quoted.document_id}/pages/1", params={"width": 600})
        assert shown.status_code == 200
        page = pdfium.PdfDocument(BULLETIN)[0]
        upright = page.render(scale=600 / page.get_width()).to_pil()
        same = _mean_difference(shown.content, upright)
        turned = [
            _mean_difference(shown.content, upright.rotate(a, expand=True).resize(upright.size))
            for a in (90, 180, 270)
        ]
        print(
            f"\n/Rotate {rotate}: mean difference {same:.1f} upright, {', '.join(f'{t:.1f}' for t in turned)} turned"
        )
        assert same < 10 < min(turned)
        # The boxes, fractions of that image, cover each quoted word where it stands on it;
        # the page's size is the size shown.
        assert _uncovered(quoted.words, quoted.boxes) == [], quoted.boxes
        assert sum(b["w"] * b["h"] for b in quoted.boxes) < 0.1
        assert quoted.size_pt == pytest.approx(page.get_size())


LIVE_PROFILE = "RAG_TEXTRACT_LIVE_PROFILE"
LIVE_BUCKET = "RAG_TEXTRACT_LIVE_BUCKET"


@pytest.mark.skipif(
    not (os.environ.get(LIVE_PROFILE) and os.environ.get(LIVE_BUCKET)),
    reason="unknown without AWS: whether Amazon Textract measures a PDF page that has "
    "/Rotate on the page as shown (/Rotate applied, which the word layer and the test above "
    "assume) or on the page as stored; its documentation says only that a box is a ratio "
    "of the document page, origin top left. To settle it, set RAG_TEXTRACT_LIVE_PROFILE (an "
    "AWS profile allowed textract:StartDocumentTextDetection and GetDocumentTextDetection, "
    "s3:PutObject and DeleteObject) and RAG_TEXTRACT_LIVE_BUCKET (a bucket in its region).",
)
@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_textract_measures_a_page_scanned_turned_on_the_page_as_shown(rotate: int) -> None:
    session = boto3.Session(profile_name=os.environ[LIVE_PROFILE])  # not the tests' doubles
    region = session.region_name
    s3 = session.client("s3", endpoint_url=f"https://s3.{region}.amazonaws.com")
    textract = session.client("textract", endpoint_url=f"https://textract.{region}.amazonaws.com")
    bucket, key = os.environ[LIVE_BUCKET], f"rag-app-rotation-check/{uuid.uuid4().hex}.pdf"
    s3.put_object(Bucket=bucket, Key=key, Body=scanned_pdf(BULLETIN, rotate=rotate))
    try:
        job = textract.start_document_text_detection(
            DocumentLocation={"S3Object": {"Bucket": bucket, "Name": key}}
        )["JobId"]
        deadline = time.monotonic() + 300
        while (result := textract.get_document_text_detection(JobId=job))[
            "JobStatus"
        ] == "IN_PROGRESS":
            assert time.monotonic() < deadline, "Textract took over 5 minutes"
            time.sleep(2)
        assert result["JobStatus"] == "SUCCEEDED", result.get("StatusMessage")
        blocks = result["Blocks"]
        while token := result.get("NextToken"):
            result = textract.get_document_text_detection(JobId=job, NextToken=token)
            blocks += result["Blocks"]
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
    # Words that stand once on the page: Textract's box centre against the page as shown.
    shown: dict[str, list[tuple[float, float, float, float]]] = {}
    for line in page_words(BULLETIN, 1):
        for word, box in line:
            shown.setdefault(word, []).append(box)
    pairs = [
        (w, shown[w.text][0]) for w in textract_words(blocks)[1] if len(shown.get(w.text, [])) == 1
    ]
    off = [
        w.text
        for w, (x0, y0, x1, y1) in pairs
        if abs(w.x + w.w / 2 - (x0 + x1) / 2) > 0.01 or abs(w.y + w.h / 2 - (y0 + y1) / 2) > 0.01
    ]
    assert len(pairs) >= 20, pairs
    assert len(off) <= len(pairs) // 10, off

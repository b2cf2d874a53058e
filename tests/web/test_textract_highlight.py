"""The quote highlight on a page Amazon Textract read: an image-only PDF (a real corpus page
rendered at 200 dpi) uploaded to the app on the S3 blob store (moto's server) with
``RAG_OCR=textract``; the app's own boto3 Textract client goes over HTTP to a local endpoint
(``AWS_ENDPOINT_URL_TEXTRACT``) that answers the JSON protocol with the blocks Textract gives
for that page: its lines and words with their boxes (the born-digital page's own). The
boxes the quote route draws for a quote must cover each quoted word's box, the word layer
must sit beside the original and go with the document.

Slow: Textract's first poll waits 5 s (the app's setting)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.ingest.originals import blob_key, word_layer_key
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


def test_a_quote_on_a_page_textract_read_is_boxed_on_its_words(
    database_url: str, tmp_path: Path, moto_s3: Any, textract: LocalTextract
) -> None:
    bucket = f"documents-{uuid.uuid4().hex[:10]}"
    moto_s3.create_bucket(Bucket=bucket)
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        blob_store="s3",
        documents_bucket=bucket,
        ocr="textract",
    )
    scan = scanned_pdf(BULLETIN)
    with TestClient(create_app(settings)) as client:
        quoted = quote_on_a_scan(
            client, "bulletin-scan.pdf", scan, query="burglary theft vehicle", timeout=300
        )
        document_id, boxes = quoted.document_id, quoted.boxes
        assert textract.objects
        assert textract.objects[0]["Bucket"] == bucket
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

        # Each quoted word's box (one of its occurrences on the page) lies inside a drawn box.
        for word in quoted.words:
            assert any(covered(box) for box in placed[word]), (word, placed[word], boxes)
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

"""Scanned PDFs through the API: never a silent empty ingest. With OCR off (or missing), a
PDF of scanned pages fails with a reason a person can act on, and a PDF with some scanned
pages is indexed with the missing pages counted and named in its status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.settings import Settings
from tests.conftest import AOA_QUESTION, CORPUS, FAA_PDF, wait_for_job
from tests.support.scans import scanned_pdf, text_then_scan

SCOTUS_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"


def post_pdf(client: TestClient[Any], name: str, data: bytes) -> dict[str, Any]:
    response = client.post("/documents", files={"file": (name, data, "application/pdf")})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def no_ocr_client(database_url: str, tmp_path: Path) -> Iterator[TestClient[Any]]:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", ocr="off")
    with TestClient(create_app(settings)) as c:
        yield c


def test_a_scanned_pdf_with_ocr_off_fails_with_a_readable_reason(
    no_ocr_client: TestClient[Any],
) -> None:
    body = post_pdf(no_ocr_client, "scan.pdf", scanned_pdf(SCOTUS_PDF))
    job = wait_for_job(no_ocr_client, body["job_id"])
    assert job["status"] == "failed"
    assert "none of the 1 pages has text" in job["error"]
    assert "scanned" in job["error"]
    assert "OCR is off (RAG_OCR=off)" in job["error"]
    document = no_ocr_client.get(f"/documents/{body['document_id']}").json()
    assert document | {"status": "failed", "chunks": 0} == document
    assert document["error"] == job["error"]


def test_a_partly_scanned_pdf_is_indexed_and_its_empty_pages_are_named(
    no_ocr_client: TestClient[Any],
) -> None:
    data = text_then_scan(SCOTUS_PDF, scanned_pdf(SCOTUS_PDF))
    body = post_pdf(no_ocr_client, "filing-with-exhibit.pdf", data)
    job = wait_for_job(no_ocr_client, body["job_id"])
    assert job["status"] == "succeeded", job
    document = no_ocr_client.get(f"/documents/{body['document_id']}").json()
    assert document["status"] == "ready"
    assert (document["pages"], document["pages_text"], document["pages_ocr"]) == (2, 1, 0)
    assert document["pages_empty"] == 1
    assert "1 of 2 pages have no text (pages 2)" in document["error"]
    hits = no_ocr_client.post("/search", json={"query": "oral argument", "top_k": 20}).json()
    assert hits["hits"]
    assert {h["page"] for h in hits["hits"]} == {1}
    assert all(h["ocr"] is False and h["start_s"] is None for h in hits["hits"])
    assert hits["hits"][0]["link"] == f"/documents/{body['document_id']}/content#page=1"
    content = no_ocr_client.get(f"/documents/{body['document_id']}/content")
    assert content.status_code == 200
    assert content.content == data
    assert content.headers["content-type"] == "application/pdf"


def _need_ocr() -> None:
    pytest.importorskip("ocrmypdf", reason="OCR is the 'ocr' extra")


@pytest.fixture
def ocr_client(database_url: str, tmp_path: Path) -> Iterator[TestClient[Any]]:
    _need_ocr()
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", ocr="ocrmypdf")
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.slow
@pytest.mark.needs_tool("tesseract")
def test_a_scanned_page_is_ocrd_searchable_and_cited_as_ocr(ocr_client: TestClient[Any]) -> None:
    # Page 6 of the FAA rule, scanned: its cost table holds the answer to AOA_QUESTION.
    body = post_pdf(ocr_client, "faa-p6-scan.pdf", scanned_pdf(FAA_PDF, pages=[6]))
    job = wait_for_job(ocr_client, body["job_id"], timeout=300)
    assert job["status"] == "succeeded", job
    document = ocr_client.get(f"/documents/{body['document_id']}").json()
    assert (document["pages_text"], document["pages_ocr"], document["pages_empty"]) == (0, 1, 0)
    assert document["error"] is None
    hits = ocr_client.post("/search", json={"query": "AOA sensor system test", "top_k": 3}).json()
    assert hits["hits"]
    assert all(h["ocr"] is True for h in hits["hits"])
    assert any("40 work-hours" in h["text"] for h in hits["hits"])
    answer = ocr_client.post("/ask", json={"question": AOA_QUESTION}).json()
    assert answer["grounded"] is True, answer
    assert answer["citations"]
    assert all(c["ocr"] is True and c["page"] == 1 for c in answer["citations"])
    assert any("work-hours" in c["quote"] for c in answer["citations"])


@pytest.mark.needs_tool("tesseract")
def test_ocr_without_the_language_data_fails_saying_what_is_missing(
    database_url: str, tmp_path: Path
) -> None:
    _need_ocr()
    settings = Settings(database_url=database_url, data_dir=tmp_path / "d", ocr_language="tlh")
    with TestClient(create_app(settings)) as client:
        body = post_pdf(client, "scan.pdf", scanned_pdf(SCOTUS_PDF, dpi=100))
        job = wait_for_job(client, body["job_id"], timeout=300)
    assert job["status"] == "failed"
    assert "OCR is unavailable: ocrmypdf cannot run" in job["error"]
    assert "language data" in job["error"]
    assert "tlh" in job["error"]

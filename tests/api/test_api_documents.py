"""Document lifecycle and bad input through the API: every failure is a clear 4xx or a failed
job with a readable reason, and the service and the documents already in it are unharmed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.settings import Settings
from tests.conftest import AOA_QUESTION, CORPUS, FAA_PDF, upload, wait_for_job

SCOTUS_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
HOSTILE = CORPUS / "hostile"


def _problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    return str(body["detail"])


def _ingest(client: TestClient[Any], path: Path, **fields: str) -> dict[str, Any]:
    status, body = upload(client, path, **fields)
    assert status == 202, body
    job = wait_for_job(client, body["job_id"])
    assert job["status"] == "succeeded", job
    return body


def test_upload_returns_202_with_ids_and_the_job_runs_to_success(client: TestClient[Any]) -> None:
    status, body = upload(client, SCOTUS_PDF, metadata='{"court": "SCOTUS", "year": 2019}')
    assert status == 202
    assert body["status"] == "queued"
    assert body["duplicate"] is False
    job = wait_for_job(client, body["job_id"])
    assert job == job | {"status": "succeeded", "stage": "done", "error": None}
    assert job["document_id"] == body["document_id"]
    document = client.get(f"/documents/{body['document_id']}").json()
    assert document["metadata"] == {"court": "SCOTUS", "year": 2019}
    hits = client.post(
        "/search", json={"query": "oral argument", "filters": {"court": "SCOTUS", "year": 2019}}
    ).json()["hits"]
    assert hits
    assert all(h["document_id"] == body["document_id"] for h in hits)


def test_identical_content_is_not_ingested_twice(client: TestClient[Any]) -> None:
    first = _ingest(client, SCOTUS_PDF)
    status, second = upload(client, SCOTUS_PDF)
    assert status == 200
    assert second["duplicate"] is True
    assert second["document_id"] == first["document_id"]
    assert client.get("/documents").json()["total"] == 1


def test_new_content_under_the_same_id_replaces_the_chunks(client: TestClient[Any]) -> None:
    _ingest(client, SCOTUS_PDF, document_id="case-17")
    before = client.get("/documents/case-17").json()
    _ingest(client, FAA_PDF, document_id="case-17")
    after = client.get("/documents/case-17").json()
    assert after["content_sha256"] != before["content_sha256"]
    assert after["pages"] == 15
    hits = client.post(
        "/search", json={"query": "Supreme Court oral argument", "top_k": 50}
    ).json()["hits"]
    assert {h["page"] for h in hits} - set(range(1, 16)) == set()
    assert all("SUPREME COURT" not in h["text"] for h in hits)
    assert client.get("/documents").json()["total"] == 1


def test_delete_removes_every_chunk_of_the_document(client: TestClient[Any]) -> None:
    body = _ingest(client, SCOTUS_PDF)
    keep = _ingest(client, FAA_PDF)
    response = client.delete(f"/documents/{body['document_id']}")
    assert response.status_code == 204
    hits = client.post("/search", json={"query": "Supreme Court", "top_k": 100}).json()["hits"]
    assert hits
    assert all(h["document_id"] == keep["document_id"] for h in hits)
    _problem(client.get(f"/documents/{body['document_id']}"), 404)
    _problem(client.delete(f"/documents/{body['document_id']}"), 404)


def test_documents_list_pages_oldest_first(client: TestClient[Any]) -> None:
    ids = [_ingest(client, path)["document_id"] for path in (SCOTUS_PDF, FAA_PDF)]
    first = client.get("/documents", params={"limit": 1}).json()
    second = client.get("/documents", params={"limit": 1, "offset": 1}).json()
    beyond = client.get("/documents", params={"limit": 1, "offset": 5}).json()
    assert [first["items"][0]["document_id"], second["items"][0]["document_id"]] == ids
    assert first["total"] == second["total"] == beyond["total"] == 2
    assert beyond["items"] == []
    _problem(client.get("/documents", params={"limit": 0}), 400)
    _problem(client.get("/documents", params={"limit": 501}), 400)


def test_empty_file_is_rejected_with_400(client: TestClient[Any]) -> None:
    detail = _problem(
        client.post("/documents", files={"file": ("empty.pdf", b"", "application/pdf")}), 400
    )
    assert "empty" in detail


def test_a_file_that_is_not_a_pdf_is_rejected_with_415(client: TestClient[Any]) -> None:
    response = client.post(
        "/documents", files={"file": ("notes.pdf", b"just some text\n" * 10, "application/pdf")}
    )
    assert "not a PDF" in _problem(response, 415)


def test_missing_file_field_is_a_400(client: TestClient[Any]) -> None:
    _problem(client.post("/documents", data={"title": "no file"}), 400)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"metadata": "{not json"}, "not valid JSON"),
        ({"metadata": "[1, 2]"}, "JSON object"),
        ({"metadata": '{"a": {"nested": 1}}'}, "string, number or boolean"),
        ({"metadata": '{"collection": "x"}'}, "reserved"),
        ({"collection": "../etc"}, "collection"),
        ({"document_id": "a/b"}, "document_id"),
        ({"metadata": json.dumps({f"k{i}": "x" * 500 for i in range(5)})}, "2048"),
    ],
)
def test_bad_form_fields_are_rejected_with_400(
    client: TestClient[Any], fields: dict[str, str], words: str
) -> None:
    status, body = upload(client, SCOTUS_PDF, **fields)
    assert status == 400, body
    assert words in body["detail"]


def test_file_over_the_size_limit_is_rejected_with_413(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, max_upload_bytes=50_000)
    with TestClient(create_app(settings)) as client:
        status, body = upload(client, SCOTUS_PDF)  # 84 KB
        assert status == 413, body
        assert "limit" in body["detail"]
        big = b"%PDF-1.7\n" + b"0" * 2_000_000  # over the whole request limit too
        response = client.post("/documents", files={"file": ("big.pdf", big, "application/pdf")})
        assert response.status_code == 413
        assert client.get("/health/live").status_code == 200


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("password-example.pdf", "encrypted"),
        ("malformed-from-issue-932.pdf", None),
    ],
)
def test_hostile_pdfs_fail_cleanly_and_leave_other_documents_intact(
    client: TestClient[Any], name: str, reason: str | None
) -> None:
    good = _ingest(client, SCOTUS_PDF)
    status, body = upload(client, HOSTILE / name)
    assert status == 202, body
    job = wait_for_job(client, body["job_id"])
    if reason is None:  # PDFium reads this one; whatever it makes of it, the job ends
        assert job["status"] in ("succeeded", "failed")
    else:
        assert job["status"] == "failed"
        assert reason in job["error"]
        document = client.get(f"/documents/{body['document_id']}").json()
        assert document["status"] == "failed"
        assert reason in document["error"]
    assert client.get("/health/ready").status_code == 200
    hits = client.post(
        "/search", json={"query": "Supreme Court", "filters": {"document_id": good["document_id"]}}
    ).json()["hits"]
    assert hits


def test_hostile_empty_pdf_from_the_corpus_is_rejected(client: TestClient[Any]) -> None:
    status, body = upload(client, HOSTILE / "empty.pdf")
    assert status == 400
    assert "empty" in body["detail"]


def test_unknown_ids_are_404(client: TestClient[Any]) -> None:
    assert "no document" in _problem(client.get("/documents/nope"), 404)
    assert "no job" in _problem(client.get("/jobs/nope"), 404)
    _problem(client.delete("/documents/nope"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"query": AOA_QUESTION, "top_k": 0},
        {"query": AOA_QUESTION, "top_k": 101},
        {"query": AOA_QUESTION, "top_k": "five"},
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 2001},
        {"query": AOA_QUESTION, "filters": {"collection": 3}},
        {"query": AOA_QUESTION, "filters": {"bad key!": "x"}},
        {"query": AOA_QUESTION, "filters": {"a": ["list"]}},
        {"query": AOA_QUESTION, "unknown": 1},
        {"query": AOA_QUESTION, "mode": "semantic"},
        {"query": AOA_QUESTION, "mode": 1},
        {},
    ],
)
def test_bad_search_bodies_are_400(client: TestClient[Any], body: dict[str, Any]) -> None:
    _problem(client.post("/search", json=body), 400)
    question = {("question" if k == "query" else k): v for k, v in body.items()}
    _problem(client.post("/ask", json=question), 400)


def test_malformed_json_is_400(client: TestClient[Any]) -> None:
    response = client.post(
        "/search", content=b"{nope", headers={"content-type": "application/json"}
    )
    _problem(response, 400)


def test_search_on_an_empty_index_returns_no_hits(client: TestClient[Any]) -> None:
    assert client.post("/search", json={"query": "anything"}).json() == {"hits": []}
    body = client.post("/ask", json={"question": "anything?"}).json()
    assert body["grounded"] is False


def test_a_decompression_bomb_fails_its_job_while_the_service_keeps_serving(
    settings: Settings,
) -> None:
    from tests.support.hostile_pdfs import decompression_bomb

    # A reader killed by a signal is retried like any crash (tests/queue: poison input);
    # two attempts keep this test short.
    with TestClient(create_app(settings.model_copy(update={"queue_max_attempts": 2}))) as client:
        _serve_through_a_bomb(client, decompression_bomb())


def _serve_through_a_bomb(client: TestClient[Any], bomb: bytes) -> None:
    good = _ingest(client, SCOTUS_PDF)
    response = client.post(
        "/documents",
        files={"file": ("bomb.pdf", bomb, "application/pdf")},
    )
    assert response.status_code == 202, response.text
    served = 0
    deadline = time.monotonic() + 60
    while (job := client.get(f"/jobs/{response.json()['job_id']}").json())["status"] not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline
        hits = client.post(
            "/search",
            json={"query": "Supreme Court", "filters": {"document_id": good["document_id"]}},
        )
        assert hits.status_code == 200
        served += 1
        time.sleep(0.05)  # two requests a turn: well inside the per-caller rate limit
    assert job["status"] == "failed"
    assert "512 MB" in job["error"]
    assert client.get("/health/ready").status_code == 200
    print(f"served {served} searches while the bomb was being read")


def test_a_document_over_the_chunk_limit_fails_and_indexes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, max_chunks_per_document=5)
    with TestClient(create_app(settings)) as client:
        status, body = upload(client, FAA_PDF)
        assert status == 202, body
        job = wait_for_job(client, body["job_id"])
        assert job["status"] == "failed"
        assert "the limit is 5 (RAG_MAX_CHUNKS_PER_DOCUMENT)" in job["error"]
        hits = client.post("/search", json={"query": "AOA sensor"}).json()["hits"]
        assert hits == []

"""Uploads and queries spend separate per-caller budgets: a bulk upload (the issue's 727
small PDFs) does not use up a caller's searches, and searching does not use up uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.api.security import QUERY, UPLOAD, RateLimiter, request_kind
from rag_app.settings import Settings
from tests.conftest import CORPUS

SMALL_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


def test_uploads_and_queries_have_separate_buckets() -> None:
    limiter = RateLimiter({QUERY: 3, UPLOAD: 2})
    assert [limiter.wait_seconds("ann", UPLOAD) for _ in range(2)] == [0.0, 0.0]
    assert limiter.wait_seconds("ann", UPLOAD) > 0  # uploads spent...
    assert [limiter.wait_seconds("ann", QUERY) for _ in range(3)] == [0.0] * 3  # ...not queries
    assert 0 < limiter.wait_seconds("ann", QUERY) <= 20.0
    assert limiter.wait_seconds("bob", UPLOAD) == 0.0  # per caller


def test_only_posting_a_document_is_an_upload() -> None:
    assert request_kind("POST", "/documents") == UPLOAD
    assert request_kind("POST", "/documents/") == UPLOAD
    for method, path in [("GET", "/documents"), ("POST", "/search"), ("POST", "/ask")]:
        assert request_kind(method, path) == QUERY
    assert request_kind("DELETE", "/documents/x") == QUERY


def _upload(client: TestClient[Any], n: int) -> int:
    with SMALL_PDF.open("rb") as f:
        files = {"file": (f"bulletin-{n}.pdf", f.read(), "application/pdf")}
    return client.post("/documents", files=files).status_code


@pytest.mark.slow
def test_727_uploads_do_not_spend_the_query_limit_nor_queries_the_upload_limit(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        rate_limit_per_minute=5,
        upload_rate_limit_per_minute=1_000,
    )
    with TestClient(create_app(settings)) as client:
        # The same file again is a duplicate: each call still goes through the limiter.
        codes = [_upload(client, n) for n in range(727)]
        assert codes[0] == 202
        assert set(codes[1:]) == {200}
        searches = [
            client.post("/search", json={"query": "polling place"}).status_code for _ in range(6)
        ]
        assert searches == [200] * 5 + [429]
    settings = settings.model_copy(
        update={"rate_limit_per_minute": 1_000, "upload_rate_limit_per_minute": 3}
    )
    with TestClient(create_app(settings)) as client:
        searches = [
            client.post("/search", json={"query": "polling place"}).status_code for _ in range(300)
        ]
        assert set(searches) == {200}
        codes = [_upload(client, n) for n in range(4)]
        assert codes[:3] in ([200] * 3, [202] + [200] * 2)
        assert codes[3] == 429
        detail = client.post("/documents", files={"file": ("x.pdf", b"%PDF", "application/pdf")})
        assert "upload requests a minute" in detail.json()["detail"]

"""A scanned page through the API, up to the quote highlight: upload, OCR, search, a quote
of four words in a row from the top hit, and the boxes the quote route draws for it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.testing import TestClient

from tests.conftest import wait_for_job


@dataclass(frozen=True)
class ScanQuote:
    """The quoted words (the first four of the quote), the quote as the hit's text has it,
    the quote route's boxes for it on page 1 (fractions of the page as rendered) and the
    page's size in points as the route gives it (width, height)."""

    document_id: str
    words: list[str]
    quote: str
    boxes: list[dict[str, Any]]
    size_pt: tuple[float, float]


def quote_on_a_scan(
    client: TestClient[Any],
    name: str,
    scan: bytes,
    *,
    query: str,
    timeout: float,
    keep: Callable[[str], bool] = lambda word: True,
) -> ScanQuote:
    """Upload ``scan`` (an image-only PDF of one page) and wait up to ``timeout`` s for its
    job to succeed with the page OCR'd; search ``query``; quote the top hit (OCR'd text)
    from its first to its fourth word of five letters or more that ``keep`` accepts. The
    quote route must find that quote on page 1."""
    response = client.post("/documents", files={"file": (name, scan, "application/pdf")})
    assert response.status_code == 202, response.text
    document_id = response.json()["document_id"]
    job = wait_for_job(client, response.json()["job_id"], timeout=timeout)
    assert job["status"] == "succeeded", job
    assert client.get(f"/documents/{document_id}").json()["pages_ocr"] == 1

    hits = client.post("/search", json={"query": query, "top_k": 3}).json()
    text = hits["hits"][0]["text"]
    assert hits["hits"][0]["ocr"] is True
    words = [w for w in re.findall(r"[A-Za-z]{5,}", text) if keep(w)]
    assert len(words) >= 4, text
    quote = text[text.index(words[0]) : text.index(words[3]) + len(words[3])]

    found = client.get(f"/documents/{document_id}/pages/1/quote", params={"text": quote}).json()
    assert found["found"] is True, quote
    size = (found["width_pt"], found["height_pt"])
    return ScanQuote(document_id, words[:4], quote, found["boxes"], size)

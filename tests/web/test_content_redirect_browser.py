"""A media citation in real Chromium with ``RAG_CONTENT_REDIRECT`` on: the app (S3 blob
store on moto's server, another origin than the app's) answers the player's content request
with a 307 to a presigned URL; under the page's CSP (the bucket's origin in ``media-src``)
the player follows it, loads, starts at the cited second and seeks, every byte from S3.

Slow: a served app, an ingested recording and a browser (about 20 s)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from rag_app.settings import Settings
from tests.conftest import _fresh_database
from tests.web.test_web_app import CUES, sign_in, wait_until
from tests.web.web_server import ingest, make_keys, need_chromium, recording, serving

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium() -> Iterator[Any]:
    executable = need_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_a_media_citation_plays_and_seeks_from_the_presigned_url(
    postgres_url: str, tmp_path: Path, moto_s3: Any, chromium: Any
) -> None:
    bucket = f"documents-{uuid.uuid4().hex[:10]}"
    moto_s3.create_bucket(Bucket=bucket)
    keys = make_keys(tmp_path)
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=tmp_path / "data",
        auth="required",
        api_keys_file=keys.file,
        api_keys_refresh_seconds=0,
        blob_store="s3",
        documents_bucket=bucket,
        content_redirect=True,
    )
    media = recording(CUES)
    s3 = moto_s3.meta.endpoint_url.rstrip("/")
    with serving(settings) as url:
        hearing = ingest(
            url,
            keys.writer,
            "hearing.wav",
            media.wav,
            transcript=("hearing.vtt", media.vtt, "text/vtt"),
            collection="hearings",
        )
        context = chromium.new_context(base_url=url)
        page = context.new_page()
        statuses: list[tuple[str, int]] = []
        page.on("response", lambda r: statuses.append((r.url, r.status)))
        refused: list[str] = []
        page.on(
            "console", lambda m: refused.append(m.text) if "Content Security" in m.text else None
        )
        sign_in(page, keys.writer)
        start, end = CUES[1].start_s, CUES[1].end_s
        page.goto(f"/app/viewer?doc={hearing['document_id']}&page=1&t={start}&end={end}")
        page.wait_for_selector("body[data-ready]")
        wait_until(page, "document.getElementById('player-media').readyState >= 1")
        player = page.locator("#player-media")
        assert start <= player.evaluate("p => p.currentTime") <= end
        player.evaluate("p => { p.currentTime = 9.0; }")
        wait_until(page, "document.getElementById('player-media').readyState >= 2")
        assert player.evaluate("p => p.currentTime") == pytest.approx(9.0, abs=0.05)
        assert player.evaluate("p => p.error") is None
        context.close()
    content = f"{url}/documents/{hearing['document_id']}/content"
    assert (content, 307) in statuses
    from_s3 = [status for at, status in statuses if at.startswith(s3 + "/")]
    assert from_s3
    assert set(from_s3) <= {200, 206}
    assert refused == []

"""Local mode (no sign-in, loopback) against cross-site requests, over real HTTP: a request
that changes something is refused when a browser says another page sent it (Origin,
Sec-Fetch-Site), as is any browser request naming a non-loopback host (DNS rebinding);
clients that send neither header (curl, SDKs) work as before. Then in real Chromium: a page
served on another port of 127.0.0.1 (the same *site*) cannot upload through the user's
browser, while the service's own page can."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag_app.api.local_origin import refusal
from rag_app.settings import Settings
from tests.conftest import _fresh_database
from tests.web.web_server import need_chromium, pdf_with_text, serving

PDF = pdf_with_text("The lease of the harbour ends in May.")


@pytest.fixture(scope="module")
def local(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("local-origin")
    settings = Settings(database_url=_fresh_database(postgres_url), data_dir=root / "data")
    with serving(settings) as url:
        yield url


def _upload(url: str, pdf: bytes = PDF, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/documents",
        files={"file": ("lease.pdf", pdf, "application/pdf")},
        data={"collection": "hostile"},
        headers=headers,
        timeout=30,
    )


def _stored(url: str) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = httpx.get(
        f"{url}/documents", params={"collection": "hostile"}
    ).json()["items"]
    return documents


def test_changes_from_other_origins_are_refused_and_store_nothing(local: str) -> None:
    port = local.rsplit(":", 1)[1]
    hostile = [
        {"Origin": "https://evil.example"},
        {"Origin": f"http://127.0.0.1:{int(port) + 1}"},  # another port: same site, not origin
        {"Origin": f"http://localhost:{port}"},  # another name for the host is another origin
        {"Origin": "null"},  # sandboxed frames, data: URLs
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": local},  # either header is enough
    ]
    for headers in hostile:
        refused = _upload(local, **headers)
        assert refused.status_code == 403, (headers, refused.text)
        assert "may not change anything" in refused.json()["detail"], refused.text
    assert _stored(local) == []

    # What the service's own pages send, and what curl sends, go through.
    own = _upload(local, Origin=local, **{"Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 202, own.text
    curl = _upload(local, pdf_with_text("The tenant pays in June."))
    assert curl.status_code == 202, curl.text  # no Origin: curl, the CLI, SDKs
    document_id = _stored(local)[0]["document_id"]

    # Deleting from another page is refused as well; the document stays.
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        gone = httpx.delete(f"{local}/documents/{document_id}", headers=headers)
        assert gone.status_code == 403, gone.text
    assert httpx.get(f"{local}/documents/{document_id}").status_code == 200
    # Reads from another page stay possible (a browser keeps their answers from that page).
    assert httpx.get(f"{local}/health/ready", headers={"Origin": "https://evil.example"}).is_success


def test_a_rebound_host_name_is_refused_even_when_same_origin(local: str) -> None:
    """DNS rebinding: evil.example re-pointed at 127.0.0.1 makes its page same-origin with
    itself; the Host it sends is what gives it away."""
    port = local.rsplit(":", 1)[1]
    rebound = {
        "Host": f"evil.example:{port}",
        "Origin": f"http://evil.example:{port}",
        "Sec-Fetch-Site": "same-origin",
    }
    read = httpx.get(f"{local}/documents", headers=rebound)
    assert read.status_code == 403
    assert "loopback hosts only" in read.json()["detail"]
    assert _upload(local, **rebound).status_code == 403
    for host in (f"localhost:{port}", f"[::1]:{port}"):
        assert httpx.get(f"{local}/documents", headers={"Host": host, "Origin": "x"}).is_success


@pytest.mark.parametrize(
    ("method", "headers", "refused"),
    [
        ("POST", {}, False),
        ("POST", {"host": "127.0.0.1:8000", "sec-fetch-site": "none"}, False),
        ("POST", {"host": "[::1]:8000", "origin": "http://[::1]:8000"}, False),
        ("POST", {"host": "127.0.0.1:8000", "origin": "https://127.0.0.1:8000"}, True),
        ("GET", {"host": "127.0.0.1:8000", "sec-fetch-site": "cross-site"}, False),
        ("GET", {"host": "127.0.0.1.evil.example", "sec-fetch-site": "same-origin"}, True),
        ("PUT", {"host": "localhost", "sec-fetch-site": "same-site"}, True),
        ("PATCH", {"host": "localhost", "origin": "http://localhost"}, False),
        ("DELETE", {"host": "", "origin": "http://"}, True),
        ("POST", {"host": "localhost:1", "origin": "http://localhost:1" + "x" * 5000}, True),
    ],
)
def test_refusal_edges(method: str, headers: dict[str, str], refused: bool) -> None:
    reason = refusal(method, headers, "http")
    assert (reason is not None) is refused, reason
    assert reason is None or len(reason) < 300


HOSTILE_PAGE = """<!doctype html><title>cat pictures</title>
<form id=f method=post enctype=multipart/form-data action="{service}/documents">
<input type=hidden name=collection value=hostile></form>
<script>
(async () => {{
  const body = new FormData();
  body.append("collection", "hostile");
  body.append("file", new Blob(["%PDF-1.7 not really"], {{type: "application/pdf"}}), "x.pdf");
  try {{ await fetch("{service}/documents", {{method: "POST", mode: "no-cors", body}}); }}
  catch (e) {{}}
  try {{ await fetch("{service}/documents/all", {{method: "DELETE"}}); }} catch (e) {{}}
  document.title = "fetched";
}})();
</script>"""


class _HostilePage(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_in_chromium_another_pages_upload_is_refused_and_the_apps_own_works(
    local: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    executable = need_chromium()
    handler = type("Page", (_HostilePage,), {"page": HOSTILE_PAGE.format(service=local).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    elsewhere = f"http://127.0.0.1:{server.server_address[1]}/"
    before = len(_stored(local))
    statuses: list[tuple[str, str, int]] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            page = browser.new_page()
            page.on(
                "response",
                lambda r: (
                    statuses.append((r.request.method, r.url, r.status))
                    if r.url.startswith(local)
                    else None
                ),
            )
            page.goto(elsewhere)
            page.wait_for_function("document.title === 'fetched'")
            with page.expect_navigation(url=f"{local}/documents") as navigation:
                page.evaluate("document.getElementById('f').submit()")
            assert navigation.value is not None
            assert navigation.value.status == 403
            assert "may not change anything" in page.content()

            # The service's own page, in the same browser: its upload goes through.
            page.goto(f"{local}/app/library")
            status = page.evaluate(
                """async (text) => {
                    const body = new FormData();
                    body.append("collection", "own");
                    body.append("file", new Blob([text], {type: "application/pdf"}), "own.pdf");
                    return (await fetch("/documents", {method: "POST", body})).status;
                }""",
                PDF.decode("ascii"),
            )
            assert status == 202
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    posts = [s for s in statuses if s[0] == "POST" and s[1] == f"{local}/documents"]
    assert [s[2] for s in posts] == [403, 403, 202], statuses  # no-cors fetch, form, own page
    assert len(_stored(local)) == before

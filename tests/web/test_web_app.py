"""The web app in real headless Chromium (Debian's package, driven by Playwright), against the
real service on a socket with authentication on: sign-in, upload, ask, the source viewer's
highlight boxes checked against PDFium's character boxes, media seeking, collection
isolation, hostile content, CSP, same-origin requests, axe-core, screenshots."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from rag_app.settings import Settings
from tests.conftest import AOA_QUESTION, CORPUS, FAA_PDF, _fresh_database
from tests.web.web_server import (
    AXE_JS,
    Cue,
    Keys,
    Recording,
    ingest,
    make_keys,
    need_chromium,
    pdf_with_text,
    recording,
    screenshots_dir,
    serving,
)

COURT_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
SMALL_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"
HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1;alert(1)">'
HOSTILE_TEXT = (
    "Contract clause <script>window.__pwned=2;alert(2)</script> payment is due in 30 days"
)
CUES = [
    Cue(0.5, 3.5, "Good morning, this hearing on the harbour lease is now in session."),
    Cue(4.0, 8.0, "The tenant testified that the turbine inspection was completed on March third."),
    Cue(8.5, 11.5, "The landlord asked for the maintenance records to be produced."),
]
# Each test drives a real browser; the module's fixture ingests four documents (about 45 s).
pytestmark = pytest.mark.slow

DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}


@dataclass
class Site:
    url: str
    keys: Keys
    faa: dict[str, Any]
    court: dict[str, Any]
    hostile: dict[str, Any]
    hearing: dict[str, Any]
    hearing_media: Recording


@pytest.fixture(scope="module")
def site(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need_chromium()
    root = tmp_path_factory.mktemp("web")
    keys = make_keys(root)
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=root / "data",
        auth="required",
        api_keys_file=keys.file,
        api_keys_refresh_seconds=0,
        rate_limit_per_minute=100_000,
    )
    media = recording(CUES)
    with serving(settings) as url:
        yield Site(
            url=url,
            keys=keys,
            faa=ingest(url, keys.writer, FAA_PDF, title="FAA AD 2020-17221", collection="faa"),
            court=ingest(
                url, keys.writer, COURT_PDF, title="Secret court minutes", collection="court"
            ),
            hostile=ingest(
                url,
                keys.writer,
                "clause.pdf",
                pdf_with_text(HOSTILE_TEXT),
                title=HOSTILE_TITLE,
                collection="faa",
            ),
            hearing=ingest(
                url,
                keys.writer,
                "hearing.wav",
                media.wav,
                transcript=("hearing.vtt", media.vtt, "text/vtt"),
                title="Harbour lease hearing",
                collection="hearings",
            ),
            hearing_media=media,
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for this module's tests. Module scope: Playwright's sync API keeps an event
    loop running in the main thread while it is open, so a later ``anyio.run`` (another
    module's fixture) would fail if it outlived the module."""
    executable = need_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page and everything it did: requests, console messages, dialogs, script errors."""

    page: Page
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    documents: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def watched(browser: Browser, site: Site) -> Iterator[Watched]:
    context = browser.new_context(base_url=site.url, viewport=DESKTOP)
    page = context.new_page()
    seen = Watched(page)
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on("console", lambda m: seen.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "response",
        lambda r: (
            seen.documents.append((r.url, r.headers))
            if r.request.resource_type == "document"
            else None
        ),
    )
    yield seen
    context.close()
    # Whatever the test did: nothing from another origin, no script error, no dialog.
    assert [u for u in seen.requests if not u.startswith(site.url + "/")] == []
    assert seen.errors == []
    assert seen.dialogs == []


def wait_until(page: Page, expression: str, timeout: float = 60) -> None:
    """Poll ``expression`` (page.wait_for_function evaluates strings with eval, which the
    app's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"{expression} still false after {timeout} s"
        time.sleep(0.02)


def sign_in(page: Page, key: str) -> None:
    page.goto("/app/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/ask")
    page.wait_for_selector("body[data-ready]")


def highlight_boxes_in_points(
    page: Page, width_pt: float, height_pt: float
) -> list[tuple[float, ...]]:
    """The drawn highlight boxes, read from the DOM, in PDF points (l, b, r, t; y up)."""
    rects = page.evaluate(
        """() => {
            const img = document.getElementById('page-image').getBoundingClientRect();
            return [...document.querySelectorAll('.highlight')].map((h) => {
                const r = h.getBoundingClientRect();
                return [(r.left - img.left) / img.width, (r.top - img.top) / img.height,
                        (r.right - img.left) / img.width, (r.bottom - img.top) / img.height];
            });
        }"""
    )
    return [
        (x0 * width_pt, (1 - y1) * height_pt, x1 * width_pt, (1 - y0) * height_pt)
        for x0, y0, x1, y1 in rects
    ]


def char_boxes(pdf: Path, page: int, word: str) -> list[list[tuple[float, float, float, float]]]:
    """PDFium's own boxes of the (non-blank) characters of each occurrence of ``word``."""
    document = pdfium.PdfDocument(pdf)
    textpage = document[page - 1].get_textpage()
    searcher = textpage.search(word, match_case=True, match_whole_word=False)
    occurrences = []
    while (hit := searcher.get_next()) is not None:
        start, count = hit
        occurrences.append(
            [
                textpage.get_charbox(i)
                for i in range(start, start + count)
                if textpage.get_text_range(i, 1).strip()
            ]
        )
    assert occurrences, f"{word!r} is not on page {page}"
    return occurrences


def inside(box: tuple[float, float, float, float], boxes: list[tuple[float, ...]]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(x0 - 1 <= cx <= x1 + 1 and y0 - 1 <= cy <= y1 + 1 for x0, y0, x1, y1 in boxes)


def quote_probes(quote: str) -> list[str]:
    """The quote's first, middle and last words (leaving out table dot leaders)."""
    words = [w for w in quote.split() if "..." not in w and len(w) > 1]
    return [words[0], words[len(words) // 2], words[-1]]


def test_sign_in_upload_ask_and_the_citation_highlights_the_quoted_words(
    watched: Watched, site: Site
) -> None:
    page = watched.page
    sign_in(page, site.keys.writer)

    # Upload through the library; the row turns ready.
    page.get_by_role("link", name="Library").click()
    page.wait_for_selector("body[data-ready]")
    page.get_by_label("Collection", exact=True).fill("bulletins")
    page.locator("#files").set_input_files(SMALL_PDF)
    upload_line = page.locator(f'#uploads li[data-file="{SMALL_PDF.name}"] .job')
    expect(upload_line).to_have_text("succeeded (done)", timeout=120_000)
    row = page.locator("#documents tbody tr", has_text=SMALL_PDF.stem)
    expect(row.locator(".status")).to_have_text("ready")
    expect(row).to_contain_text("1 page")

    # Ask, with the keyboard, in the faa collection.
    page.get_by_role("link", name="Ask").click()
    page.wait_for_selector("body[data-ready]")
    page.get_by_label("Collection").select_option("faa")
    page.get_by_label("Question").fill(AOA_QUESTION)
    page.get_by_label("Question").press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "ask"
    page.keyboard.press("Enter")
    answer = page.locator(".exchange .answer")
    expect(answer).to_have_attribute("aria-busy", "false", timeout=60_000)
    marker = page.locator(".exchange .answer a.marker").first
    expect(marker).to_be_visible()
    href = marker.get_attribute("href") or ""
    assert "page=6" in href, href

    # The viewer shows page 6 with the quote's boxes over PDFium's character boxes.
    marker.click()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#page-label")).to_have_text("Page 6 of 15")
    expect(page.locator(".highlight").first).to_be_attached()
    quote = page.locator("#quote").inner_text()
    drawn = highlight_boxes_in_points(page, 612, 792)
    for probe in quote_probes(quote):
        occurrences = char_boxes(FAA_PDF, 6, probe)
        assert any(all(inside(c, drawn) for c in chars) for chars in occurrences), (probe, drawn)
    # And the boxes hold the quote, not the whole page.
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in drawn)
    assert area < 0.2 * 612 * 792
    expect(page.locator("#download")).to_have_attribute(
        "href", f"/documents/{site.faa['document_id']}/content#page=6"
    )
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("#page-label")).to_have_text("Page 7 of 15")


def test_a_media_citation_plays_from_the_cited_segment_and_content_honours_range(
    watched: Watched, site: Site
) -> None:
    page = watched.page
    sign_in(page, site.keys.writer)
    page.get_by_label("Collection").select_option("hearings")
    page.get_by_label("Question").fill("when was the turbine inspection completed")
    page.get_by_role("button", name="Ask").click()
    marker = page.locator(".exchange .answer a.marker").first
    expect(marker).to_be_visible(timeout=60_000)
    marker.click()
    page.wait_for_selector("body[data-ready]")
    player = page.locator("#player-media")
    wait_until(page, "document.getElementById('player-media').readyState >= 1")
    href = page.url
    start = float(href.split("t=")[1].split("&")[0])
    end = float(href.split("end=")[1].split("&")[0])
    current = player.evaluate("p => p.currentTime")
    assert start <= current <= end, (start, current, end)
    assert any(c.start_s <= start < c.end_s + 0.01 for c in CUES) or start <= CUES[1].start_s
    expect(page.locator("#segment")).to_contain_text("turbine inspection")

    content = f"/documents/{site.hearing['document_id']}/content"
    ranged = page.request.get(content, headers={"Range": "bytes=100-1099"})
    assert ranged.status == 206
    assert ranged.headers["content-range"] == f"bytes 100-1099/{len(site.hearing_media.wav)}"
    assert ranged.body() == site.hearing_media.wav[100:1100]


def test_a_key_without_the_grant_never_sees_that_collection(watched: Watched, site: Site) -> None:
    page = watched.page
    sign_in(page, site.keys.faa_reader)
    court_id = site.court["document_id"]
    for path in (
        f"/documents/{court_id}",
        f"/documents/{court_id}/pages/1",
        f"/documents/{court_id}/pages/1/quote?text=court",
        f"/documents/{court_id}/content",
        f"/jobs/{site.court['job_id']}",
    ):
        assert page.request.get(path).status == 404, path
    listing = page.request.get("/documents?limit=500").json()
    assert {d["collection"] for d in listing["items"]} == {"faa"}

    page.get_by_label("Question").fill("what did the justices ask about the case")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".exchange .answer")).to_have_attribute(
        "aria-busy", "false", timeout=60_000
    )
    page.get_by_role("link", name="Library").click()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#upload")).to_be_hidden()  # a reader cannot upload
    page.goto(f"/app/viewer?doc={court_id}&page=1&q=court")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#status")).to_contain_text("Cannot show this source")
    assert page.locator("#page-image[src]").count() == 0
    for visited in ("/app/ask", "/app/library", "/app/search"):
        page.goto(visited)
        page.wait_for_selector("body[data-ready]")
        html = page.content()
        assert court_id not in html
        assert "Secret court minutes" not in html
        assert "court" not in page.locator("select[name=collection], #filter").first.inner_text()


def test_hostile_titles_and_page_text_render_inert(watched: Watched, site: Site) -> None:
    page = watched.page
    sign_in(page, site.keys.writer)
    page.get_by_role("link", name="Library").click()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#documents .title", has_text="<img src=x")).to_have_text(HOSTILE_TITLE)
    page.get_by_role("link", name="Search").click()
    page.wait_for_selector("body[data-ready]")
    page.get_by_label("Words or question").fill("contract clause payment due")
    page.get_by_role("button", name="Search").click()
    hit = page.locator("#results .source", has_text="<script>").first
    expect(hit).to_be_visible()
    hit.get_by_role("link").click()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#quote")).to_contain_text("<script>")
    expect(page.locator("h1")).to_have_text(HOSTILE_TITLE)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src='x'], script:not([src])").count() == 0
    assert [m for m in watched.console if m[0] == "error"] == []


def test_pages_send_a_strict_csp_and_the_docs_page_loads_offline(
    watched: Watched, site: Site
) -> None:
    page = watched.page
    sign_in(page, site.keys.writer)
    for name in ("ask", "search", "library", "viewer", "sign-in"):
        response = page.request.get(f"/app/{name}")
        csp = response.headers["content-security-policy"]
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert script_src.split() == ["script-src", "'self'"], csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
    assert all("content-security-policy" in h for _, h in watched.documents)
    # The OpenAPI page renders from this service's own files (the watcher checks origins).
    page.goto("/schema")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("rag-app", timeout=20_000)


def test_signing_out_clears_the_session(watched: Watched, site: Site) -> None:
    page = watched.page
    sign_in(page, site.keys.writer)
    cookie = next(c for c in page.context.cookies() if c["name"] == "rag_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # no script can read it
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/app/sign-in")
    assert [c for c in page.context.cookies() if c["name"] == "rag_session"] == []
    assert page.request.get("/documents").status == 401
    page.goto("/app/library")
    page.wait_for_url("**/app/sign-in?next=%2Fapp%2Flibrary")
    page.get_by_label("API key").fill("rag_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#status")).to_contain_text("Sign-in failed")
    assert [m for m in watched.console if m[0] == "error" and "401" not in m[1]] == []


def axe_violations(page: Page) -> list[tuple[str, str, list[Any]]]:
    page.add_script_tag(path=str(AXE_JS))
    results = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations"
    )
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture(scope="module")
def axe_js() -> Path:
    if not AXE_JS.exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=AXE_JS.parents[2],
            check=True,
            timeout=300,
        )
    return AXE_JS


def test_every_page_passes_axe_reflows_at_200_percent_and_is_photographed(
    browser: Browser, site: Site, axe_js: Path, tmp_path: Path
) -> None:
    faa_quote = "AOA sensor system test"
    media_start = CUES[1].start_s
    views = {
        "sign-in": "/app/sign-in",
        "ask": "/app/ask",
        "search": "/app/search",
        "library": "/app/library",
        "viewer-pdf": f"/app/viewer?doc={site.faa['document_id']}&page=6&q={faa_quote}",
        "viewer-media": f"/app/viewer?doc={site.hearing['document_id']}&page=1"
        f"&q={CUES[1].text}&t={media_start}&end={CUES[1].end_s}",
    }
    shots = screenshots_dir(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    found: dict[str, Any] = {}
    for size_name, viewport in (
        ("desktop", DESKTOP),
        ("tablet", TABLET),
        ("zoom200", {"width": 640, "height": 400}),
    ):
        # axe is injected as a script the page's own CSP rightly refuses; only here is it lifted.
        context = browser.new_context(base_url=site.url, viewport=viewport, bypass_csp=True)
        page = context.new_page()
        page.goto("/app/sign-in")
        page.wait_for_selector("body[data-ready]")
        if size_name == "desktop":
            found[f"sign-in/{size_name}"] = axe_violations(page)
            page.screenshot(path=shots / f"sign-in-{size_name}.png")
        sign_in(page, site.keys.writer)
        for name, path in views.items():
            if name == "sign-in":
                continue
            page.goto(path)
            page.wait_for_selector("body[data-ready]")
            if name == "ask":
                page.get_by_label("Question").fill(AOA_QUESTION)
                page.get_by_role("button", name="Ask").click()
                expect(page.locator(".exchange .answer")).to_have_attribute(
                    "aria-busy", "false", timeout=60_000
                )
            if name == "search":
                page.get_by_label("Words or question").fill("operational readiness flight")
                page.get_by_role("button", name="Search").click()
                expect(page.locator("#results .source").first).to_be_visible()
            if name == "viewer-pdf":
                expect(page.locator(".highlight").first).to_be_attached()
            if size_name == "zoom200":
                # 200% zoom of a 1280-pixel window: the layout reflows, nothing scrolls sideways
                # (the library's table scrolls inside its own box).
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, (name, overflow)
                continue
            found[f"{name}/{size_name}"] = axe_violations(page)
            page.screenshot(path=shots / f"{name}-{size_name}.png")
        context.close()
    assert {k: v for k, v in found.items() if v} == {}


def test_first_load_bytes_first_token_and_page_render_times(browser: Browser, site: Site) -> None:
    """Figures for docs/web-app.md (printed, not asserted): bytes of the first page load,
    time to the first answer token, page image render times cold and cached."""
    context = browser.new_context(base_url=site.url, viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, site.keys.writer)
    page.goto("/app/ask")
    page.wait_for_selector("body[data-ready]")
    sizes = page.evaluate(
        "performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))"
        ".map(e => [e.name, e.initiatorType, e.encodedBodySize])"
    )
    by_kind: dict[str, int] = {}
    for name, _, size in sizes:
        kind = (
            name.rsplit(".", 1)[-1] if "/static/" in name else "html" if "/app/" in name else "api"
        )
        by_kind[kind] = by_kind.get(kind, 0) + size
    first_token_ms = []
    for question in (AOA_QUESTION, "what does the operational readiness flight check"):
        page.get_by_label("Question").fill(question)
        page.get_by_role("button", name="Ask").click()
        wait_until(page, "performance.getEntriesByName('first-answer-token').length > 0")
        first_token_ms.append(
            round(page.evaluate("performance.getEntriesByName('first-answer-token')[0].detail"), 1)
        )
        page.evaluate("performance.clearMarks()")
        expect(page.locator(".exchange .answer").first).to_have_attribute("aria-busy", "false")
    renders = []
    for n in (2, 3, 4):
        for attempt in ("cold", "cached"):
            t = time.perf_counter()
            response = page.request.get(
                f"/documents/{site.faa['document_id']}/pages/{n}?width=1000"
            )
            assert response.status == 200
            renders.append((n, attempt, round((time.perf_counter() - t) * 1000, 1)))
    context.close()
    print(
        json.dumps(
            {
                "first_load_bytes": by_kind,
                "first_token_ms": first_token_ms,
                "page_image_ms": renders,
            }
        )
    )


def test_conversations_reopen_follow_up_rate_and_export_by_keyboard(
    watched: Watched, site: Site, axe_js: Path
) -> None:
    """History, follow-ups, feedback and export: ask, rate the answer, reload, reopen the
    conversation from the history list with the keyboard, follow up in it, and download
    both exports; what the page shows is what the API recorded."""
    page = watched.page
    sign_in(page, site.keys.writer)
    page.get_by_label("Collection").select_option("faa")
    page.get_by_label("Question").fill(AOA_QUESTION)
    page.get_by_label("Question").press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    first = page.locator(".exchange").first
    expect(first.locator(".answer")).to_have_attribute("aria-busy", "false", timeout=60_000)
    expect(page).to_have_url(re.compile(r"/app/ask\?conversation=[^&]+$"))
    conversation_id = page.url.rsplit("=", 1)[1]

    # Thumbs up, with the keyboard: the button says it is pressed, and the API has it.
    helpful = first.get_by_role("button", name="Helpful", exact=True)
    helpful.focus()
    page.keyboard.press("Enter")
    expect(helpful).to_have_attribute("aria-pressed", "true")
    turns = page.request.get(f"/conversations/{conversation_id}").json()["turns"]
    assert [t["feedback"]["rating"] if t["feedback"] else None for t in turns] == ["up"]
    first.get_by_role("button", name="Not helpful").click()
    expect(helpful).to_have_attribute("aria-pressed", "false")
    answer_id = turns[0]["answer_id"]
    rating = page.request.get(f"/answers/{answer_id}").json()["feedback"]["rating"]
    assert rating == "down"

    # A fresh page: the history lists the conversation; open it by keyboard, follow up.
    page.goto("/app/ask")
    page.wait_for_selector("body[data-ready]")
    entry = page.locator(f'#history a[data-id="{conversation_id}"]')
    expect(entry).to_have_text(re.compile("work-hours|AOA", re.I))
    entry.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/app/ask?conversation={conversation_id}")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator(".exchange")).to_have_count(1)
    expect(page.locator(".exchange .question")).to_have_text(AOA_QUESTION)
    expect(page.locator(".exchange button[aria-pressed='true']")).to_have_text(
        re.compile("Not helpful")
    )
    expect(entry).to_have_attribute("aria-current", "true")
    page.get_by_label("Question").fill("and what does each test cost?")
    page.get_by_role("button", name="Ask").press("Enter")
    expect(page.locator(".exchange")).to_have_count(2, timeout=60_000)
    expect(page.locator(".exchange .answer").first).to_have_attribute(
        "aria-busy", "false", timeout=60_000
    )
    assert page.url.endswith(f"conversation={conversation_id}")  # the same conversation
    turns = page.request.get(f"/conversations/{conversation_id}").json()["turns"]
    assert [t["question"] for t in turns] == [AOA_QUESTION, "and what does each test cost?"]

    # Exports: the conversation's and one answer's, in each format the API offers.
    with page.expect_download() as markdown:
        page.locator("#export-md").click()
    text = Path(markdown.value.path()).read_text()
    assert AOA_QUESTION in text
    assert "and what does each test cost?" in text
    with page.expect_download() as word:
        page.locator("#export-docx").click()
    assert Path(word.value.path()).read_bytes()[:2] == b"PK"  # a .docx is a zip
    with page.expect_download() as one_answer:
        page.locator(".exchange").nth(1).get_by_role(
            "link", name="Export answer (Markdown)"
        ).click()
    single = Path(one_answer.value.path()).read_text()
    assert AOA_QUESTION in single
    assert "and what does each test cost?" not in single

    # Another caller's conversation is not shown to this one.
    other = page.context.browser.new_context(base_url=site.url)  # type: ignore[union-attr]
    intruder = other.new_page()
    sign_in(intruder, site.keys.faa_reader)
    intruder.goto(f"/app/ask?conversation={conversation_id}")
    intruder.wait_for_selector("body[data-ready]")
    expect(intruder.locator("[role=alert]")).to_contain_text("Could not open the conversation")
    expect(intruder.locator(".exchange")).to_have_count(0)
    expect(intruder.locator(f'#history a[data-id="{conversation_id}"]')).to_have_count(0)
    other.close()
    assert watched.errors == []

    # axe on the reopened conversation (history, answers, feedback and export controls);
    # axe is injected as a script the page's own CSP rightly refuses, so only here is it lifted.
    checker = page.context.browser.new_context(base_url=site.url, bypass_csp=True)  # type: ignore[union-attr]
    audited = checker.new_page()
    sign_in(audited, site.keys.writer)
    audited.goto(f"/app/ask?conversation={conversation_id}")
    audited.wait_for_selector("body[data-ready]")
    expect(audited.locator(".exchange")).to_have_count(2)
    assert axe_violations(audited) == []
    checker.close()

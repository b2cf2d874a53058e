"""The five pages come from one layout (``rag_app/web/templates``): each has the shared
head, one module script of its own, its header and its ``<main>``, and nothing inline."""

from __future__ import annotations

import re

import pytest

import rag_app.api  # noqa: F401 - the web package is loaded through the API
from rag_app.web.pages import PAGES, STATIC, page_html

NAV = '<nav aria-label="Main">'


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_is_the_layout_around_its_own_main(name: str) -> None:
    html = page_html(name).decode()
    title, header = PAGES[name]
    assert html.startswith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
    assert html.endswith("</main>\n</body>\n</html>\n")
    assert f"<title>{title} · Documents</title>" in html
    assert re.findall(r"<script[^>]*>", html) == [
        f'<script type="module" src="/app/static/{name}.js">'
    ]
    assert (STATIC / f"{name}.js").is_file()
    assert html.count(NAV) == (1 if header == "nav" else 0)
    assert html.count('<main id="main"') == 1
    assert html.count('<a class="skip" href="#main">') == 1
    assert "$" not in html  # every placeholder filled
    assert " style=" not in html  # no inline style (the CSP allows none)
    assert "on" + "click=" not in html


def test_the_navigation_lists_every_signed_in_page() -> None:
    nav = page_html("ask").decode()
    links = re.findall(r'<li><a href="(/app/[a-z-]+)">', nav)
    assert links == ["/app/ask", "/app/search", "/app/library"]

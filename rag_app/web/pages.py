"""The web app's pages, each loading one ES module from ``static/``: one layout
(``templates/layout.html``: the head, the skip link, the header) around each page's
``<main>`` (``templates/<name>.html``), assembled once per process and served with
a Content-Security-Policy that allows scripts, styles, images, media and connections from
this origin only (no inline script or style anywhere); with ``RAG_CONTENT_REDIRECT``, media
from the documents bucket's origin too (a media element follows the content route's 307 to a
presigned S3 URL under the page's policy)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from rag_app.auth.sessions import SessionSealer, key_from_secret
from rag_app.documents.page_images import PageImageCache
from rag_app.settings import Settings
from rag_app.web.api_docs import api_docs_assets
from rag_app.web.page_routes import PageController
from rag_app.web.sign_in import SessionController

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
# Each page: its title, and its header (the main navigation, or the bare brand bar).
PAGES = {
    "ask": ("Ask", "nav"),
    "search": ("Search", "nav"),
    "library": ("Library", "nav"),
    "viewer": ("Source", "nav"),
    "sign-in": ("Sign in", "brand"),
}


@cache
def page_html(name: str) -> bytes:
    """Page ``name`` (a key of ``PAGES``) as sent: the layout with its title, its script
    (``static/<name>.js``), its header and its ``<main>``; the ask and search pages share
    ``$query_filters`` (the search-mode and collection selects). No inline script or style."""
    title, header = PAGES[name]
    layout = Template((TEMPLATES / "layout.html").read_text(encoding="utf-8"))
    return layout.substitute(
        title=title,
        name=name,
        header=(TEMPLATES / f"{header}.html").read_text(encoding="utf-8"),
        main=Template((TEMPLATES / f"{name}.html").read_text(encoding="utf-8")).substitute(
            query_filters=(TEMPLATES / "query-filters.html").read_text(encoding="utf-8")
        ),
    ).encode()


def content_security_policy(media_origin: str | None = None) -> str:
    """The pages' policy; ``media_origin`` (scheme and host) is added to ``media-src`` only."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"media-src 'self' {media_origin}" if media_origin else "media-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-cache",
}


def page_headers(state: Any) -> dict[str, str]:
    """``PAGE_HEADERS``, with the documents bucket's origin in ``media-src`` when the
    content route redirects there (``RAG_CONTENT_REDIRECT``)."""
    settings: Settings = state.settings
    services = state.services
    origin = services.documents.signed_content_origin() if settings.content_redirect else None
    if origin is None:
        return PAGE_HEADERS
    return PAGE_HEADERS | {"content-security-policy": content_security_policy(origin)}


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/app/ask")


@get("/app/{name:str}", include_in_schema=False)
async def page(name: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
    """One of the app's pages (its data comes from the API, as the signed-in caller)."""
    if name not in PAGES:
        raise NotFoundException(f"no page {name!r}")
    return Response(
        page_html(name),
        media_type="text/html; charset=utf-8",
        headers=page_headers(request.app.state),
    )


def web_router() -> Router:
    """Everything the web app adds to the service, mounted at ``/``."""
    assets = create_static_files_router(
        path="/app/static",
        directories=[STATIC],
        name="web-assets",
        # Assets change with the release; a quick revalidation keeps upgrades visible.
        cache_control=CacheControlHeader(no_cache=True),
    )
    return Router(
        path="/",
        route_handlers=[home, page, assets, api_docs_assets(), SessionController, PageController],
    )


def session_sealer(settings: Settings, secret: str | None) -> SessionSealer:
    return SessionSealer(key_from_secret(secret), lifetime_s=settings.session_hours * 3600)


def web_state(settings: Settings) -> dict[str, Any]:
    """The app state the web routes read: settings, the cookie sealer (with
    ``RAG_SESSION_SECRET_ID``, replaced at start by one keyed by that secret), the page cache."""
    secret = settings.session_secret
    return {
        "settings": settings,
        "session_sealer": session_sealer(
            settings, None if secret is None else secret.get_secret_value()
        ),
        "page_images": PageImageCache(settings.page_image_cache_mb * 1024 * 1024),
        "oidc_endpoints": None,
    }

"""The web app's pages: static HTML under ``static/``, each loading one ES module, served with
a Content-Security-Policy that allows scripts, styles, images, media and connections from
this origin only (no inline script or style anywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Response, Router, get
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
PAGES = frozenset({"ask", "search", "library", "viewer", "sign-in"})
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-cache",
}


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/app/ask")


@get("/app/{name:str}", include_in_schema=False)
async def page(name: FromPath[str]) -> Response[bytes]:
    """One of the app's pages (its data comes from the API, as the signed-in caller)."""
    if name not in PAGES:
        raise NotFoundException(f"no page {name!r}")
    html = (STATIC / f"{name}.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


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

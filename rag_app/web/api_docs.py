"""The OpenAPI page (``/schema``) with Swagger UI's files served by this process: Litestar's
default loads them (and a favicon) from a CDN, so the page was blank offline. The files come
from the ``swagger-ui-bundle-v2`` wheel, pinned with its hash in ``uv.lock``; upgrading them
is ``uv lock --upgrade-package swagger-ui-bundle-v2``."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]
from litestar import Router
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS = "/app/api-docs"


def api_docs_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at ``/schema`` and ``/schema/swagger``; the JSON at ``/schema/openapi.json``."""
    return [
        SwaggerRenderPlugin(
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon="<link rel='icon' href='/app/static/icon.svg'>",
            path=["/", "/swagger"],
        ),
        JsonRenderPlugin(),
    ]


def api_docs_assets() -> Router:
    return create_static_files_router(
        path=ASSETS, directories=[Path(swagger_ui_bundle.swagger_ui_path)], name="api-docs-assets"
    )

"""What the source viewer draws: a PDF page as an image, and the boxes of a quote on it.
Both answer only for documents the caller may read (the same 404 as ``/documents/{id}``)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from rag_app.api.errors import problem_responses
from rag_app.api.openapi import SECURITY, binary, operation_with
from rag_app.auth.principal import Principal
from rag_app.documents.page_images import (
    MAX_QUOTE_CHARS,
    PDF_MEDIA_TYPE,
    PageImageCache,
    quote_boxes,
    quote_boxes_in_words,
    render_png,
)
from rag_app.domain import Document
from rag_app.errors import NotFoundError
from rag_app.services import Services

DEFAULT_WIDTH_PX = 1200


class BoxOut(msgspec.Struct):
    """Fractions of the page image: left, top, width, height (origin top left)."""

    x: float
    y: float
    w: float
    h: float


class QuoteBoxesOut(msgspec.Struct):
    page: int
    pages: int
    width_pt: float
    height_pt: float
    found: bool  # false: neither the page's text layer nor its OCR layer holds the quote
    boxes: list[BoxOut]


async def _pdf_page(
    services: Services, principal: Principal, document_id: str, page: int
) -> Document:
    """The document, if the caller may read it, it is a PDF and it has that page (else 404)."""
    document = await services.documents.get(principal, document_id)
    if document.media_type != PDF_MEDIA_TYPE:
        raise NotFoundError(f"document {document_id!r} is not a PDF: it has no pages to show")
    if not 1 <= page <= document.pages:
        raise NotFoundError(f"document {document_id!r} has no page {page}")
    return document


class PageController(Controller):
    path = "/documents"
    tags = ("viewer",)
    security = SECURITY

    @get(
        "/{document_id:str}/pages/{page:int}",
        operation_id="getPageImage",
        media_type="image/png",
        responses=problem_responses(404),
        # Generated clients read bytes for the first type they know: octet-stream first.
        operation_class=operation_with(
            200, binary(["application/octet-stream", "image/png"]), replace=True
        ),
    )
    async def page_image(
        self,
        document_id: FromPath[str],
        page: FromPath[int],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        width: Annotated[int, QueryParameter(ge=100, le=2400)] = DEFAULT_WIDTH_PX,
    ) -> Response[bytes]:
        """Page ``page`` (1-based) of a PDF as a PNG ``width`` pixels wide, rendered by
        PDFium and kept in memory; browsers revalidate it (ETag) on every view, so a
        revoked credential never reads it from a cache."""
        document = await _pdf_page(services, principal, document_id, page)
        etag = f'"{document.content_sha256[:32]}-{page}-{width}"'
        headers = {"cache-control": "private, no-cache", "etag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        cache: PageImageCache = request.app.state.page_images
        key = (document.content_sha256, page, width)
        image = cache.get(key)
        if image is None:
            _, data = await services.documents.original(principal, document_id)
            image = await render_png(data, page, width)
            cache.put(key, image)
        return Response(image, media_type="image/png", headers=headers)

    @get(
        "/{document_id:str}/pages/{page:int}/quote",
        operation_id="getQuoteBoxes",
        responses=problem_responses(404),
    )
    async def quote_boxes(
        self,
        document_id: FromPath[str],
        page: FromPath[int],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        text: Annotated[str, QueryParameter(min_length=1, max_length=MAX_QUOTE_CHARS)],
    ) -> QuoteBoxesOut:
        """Where ``text`` (a citation's quote) first occurs on the page: one box per line it
        spans, from PDFium's character positions in the original's text layer or, for a
        scanned page, in the layer ocrmypdf added, or from the word boxes Amazon Textract
        read. ``found: false`` when none holds it."""
        await _pdf_page(services, principal, document_id, page)
        _, data = await services.documents.original(principal, document_id)
        found = await quote_boxes(data, page, text)
        if not found.boxes and (
            layer := await services.documents.ocr_layer(principal, document_id)
        ):
            found = await quote_boxes(layer, page, text)
        if not found.boxes and (
            words := await services.documents.ocr_words(principal, document_id)
        ):
            found = await quote_boxes_in_words(data, words, page, text)
        return QuoteBoxesOut(
            page=found.page,
            pages=found.pages,
            width_pt=found.width_pt,
            height_pt=found.height_pt,
            found=bool(found.boxes),
            boxes=[BoxOut(b.x, b.y, b.w, b.h) for b in found.boxes],
        )

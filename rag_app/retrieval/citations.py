"""Citation checks: a quote counts only if it is really in a retrieved passage of the page
it cites (for media: of the time range it cites). Applied to every answerer's output, so a
generator that misquotes, or cites a page or moment it was not given, loses that citation
instead of misleading a reader."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence

from rag_app.domain import Answer, Chunk, Citation, Hit

log = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Whitespace folded and case dropped: how quotes are compared with passages."""
    return _SPACE.sub(" ", text).strip().casefold()


def _cites(citation: Citation, chunk: Chunk) -> bool:
    """``chunk`` is of the cited document and page and, for media, its time range holds the
    cited one (a citation of a PDF page has no time range, and one of media must have one)."""
    if (chunk.document_id, chunk.page) != (citation.document_id, citation.page):
        return False
    if chunk.start_s is None or chunk.end_s is None:
        return citation.start_s is None and citation.end_s is None
    return (
        citation.start_s is not None
        and citation.end_s is not None
        and chunk.start_s <= citation.start_s <= citation.end_s <= chunk.end_s
    )


def _support(citation: Citation, hits: Sequence[Hit]) -> Chunk | None:
    quote = squash(citation.quote)
    if not quote:
        return None
    return next(
        (h.chunk for h in hits if _cites(citation, h.chunk) and quote in squash(h.chunk.text)),
        None,
    )


def quote_is_supported(citation: Citation, hits: Sequence[Hit]) -> bool:
    """The quote appears (whitespace- and case-insensitively) in a hit of the same document
    and page, and for media of a time range that holds the cited one."""
    return _support(citation, hits) is not None


def verify_citations(answer: Answer, hits: Sequence[Hit]) -> Answer:
    """``answer`` without unsupported citations; an answer left with none is not grounded.
    A kept citation's ``ocr`` flag is the supporting passage's, whatever the answerer said."""
    kept = tuple(
        dataclasses.replace(c, ocr=chunk.ocr)
        for c in answer.citations
        if (chunk := _support(c, hits)) is not None
    )
    for dropped in (c for c in answer.citations if _support(c, hits) is None):
        log.warning(
            "dropped a citation whose quote is not on %s page %s: %.80r",
            dropped.document_id,
            dropped.page,
            dropped.quote,
        )
    return dataclasses.replace(answer, citations=kept, grounded=answer.grounded and bool(kept))

"""Citation checks: a quote counts only if it is really in a retrieved passage of the page
it cites. Applied to every answerer's output, so a generator that misquotes, or cites a
page it was not given, loses that citation instead of misleading a reader."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence

from rag_app.domain import Answer, Citation, Hit

log = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Whitespace folded and case dropped: how quotes are compared with passages."""
    return _SPACE.sub(" ", text).strip().casefold()


def quote_is_supported(citation: Citation, hits: Sequence[Hit]) -> bool:
    """The quote appears (whitespace- and case-insensitively) in a hit of the same document
    and page."""
    quote = squash(citation.quote)
    return bool(quote) and any(
        hit.chunk.document_id == citation.document_id
        and hit.chunk.page == citation.page
        and quote in squash(hit.chunk.text)
        for hit in hits
    )


def verify_citations(answer: Answer, hits: Sequence[Hit]) -> Answer:
    """``answer`` without unsupported citations; an answer left with none is not grounded."""
    kept = tuple(c for c in answer.citations if quote_is_supported(c, hits))
    for dropped in set(answer.citations) - set(kept):
        log.warning(
            "dropped a citation whose quote is not on %s page %s: %.80r",
            dropped.document_id,
            dropped.page,
            dropped.quote,
        )
    return dataclasses.replace(answer, citations=kept, grounded=answer.grounded and bool(kept))

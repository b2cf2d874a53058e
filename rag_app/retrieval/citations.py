"""Citation checks, once per answer and for every answerer: a quote counts only if it is
really in a retrieved passage of the page it cites (for media: of the time range it cites).
A generator that misquotes, or cites a page or moment it was not given, loses that citation
instead of misleading a reader.

A quote that is not in the passage it cites is first repaired: replaced by the passage's
sentence that best matches the answer sentence citing it (``[n]``), when one shares a
content word with it; otherwise the citation is dropped. The answer's ``[n]`` markers are
then renumbered to the citations kept, and those of dropped citations removed; a grounded
answer left with no citation is not grounded, and says so.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence

from rag_app.answerers.base import NO_ANSWER
from rag_app.domain import Answer, Chunk, Citation, Hit
from rag_app.text.sentences import sentences
from rag_app.text.words import content_words, coverage

log = logging.getLogger(__name__)

NOTHING_CITED = f"{NO_ANSWER} (the model's answer cited nothing it was given)"
_SPACE = re.compile(r"\s+")
_MARKER = re.compile(r"\[(\d+)\]")


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


def _citing_sentence(text: str, n: int) -> str:
    for start, end in sentences(text):
        if f"[{n}]" in text[start:end]:
            return text[start:end]
    return text


def _repaired(citation: Citation, claim: str, hits: Sequence[Hit]) -> Citation | None:
    """``citation`` quoting the sentence of its own passage that best matches ``claim``,
    or None when no sentence shares a content word with it."""
    chunk = next((h.chunk for h in hits if h.chunk.chunk_id == citation.chunk_id), None)
    if chunk is None:
        return None
    terms = content_words(_MARKER.sub("", claim))
    text = chunk.text
    score, best = max(
        ((coverage(terms, text[s:e]), text[s:e]) for s, e in sentences(text)), default=(0.0, "")
    )
    if score <= 0:
        return None
    return dataclasses.replace(citation, quote=best, ocr=chunk.ocr)


def verify_citations(answer: Answer, hits: Sequence[Hit]) -> Answer:
    """``answer`` with only supported citations (repaired where possible, see above), its
    markers renumbered to them. A kept citation's ``ocr`` flag is the supporting passage's,
    whatever the answerer said."""
    kept: list[Citation] = []
    renumber: dict[int, int] = {}
    for n, citation in enumerate(answer.citations, 1):
        chunk = _support(citation, hits)
        if chunk is not None:
            checked: Citation | None = dataclasses.replace(citation, ocr=chunk.ocr)
        else:
            checked = _repaired(citation, _citing_sentence(answer.text, n), hits)
            log.warning(
                "citation check: [%d] quote not on %s page %s (%s): %.80r",
                n,
                citation.document_id,
                citation.page,
                "replaced by its best matching sentence" if checked else "dropped",
                citation.quote,
            )
        if checked is not None:
            kept.append(checked)
            renumber[n] = len(kept)
    if answer.grounded and answer.citations and not kept:
        return Answer(NOTHING_CITED, False, (), answer.metadata)

    def marker(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[{renumber[n]}]" if n in renumber else ""

    text = answer.text
    if len(kept) < len(answer.citations):
        text = re.sub(r"\s+([.,;:])", r"\1", _MARKER.sub(marker, text)).strip()
    return dataclasses.replace(
        answer, text=text, citations=tuple(kept), grounded=answer.grounded and bool(kept)
    )

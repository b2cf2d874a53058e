"""Sentence and paragraph boundaries in legal text, as character spans of the input."""

from __future__ import annotations

import re
from collections.abc import Callable

Span = tuple[int, int]

# A clause or section marker at the start of a line: "(a)", "1.", "iv)", "§ 39.13", "Section 2".
_CLAUSE_START = re.compile(
    r"\n(?=[ \t]*(?:\(?[0-9]{1,3}[.)]|\([a-zA-Z]{1,4}\)|[ivxIVX]{1,5}[.)]|§|Sec(?:tion)?\.?\s+\d"
    r"|SECTION\s|Article\s|ARTICLE\s))"
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# End of sentence: . ! ? (and closing quotes/brackets), whitespace, then a capital, digit or
# opening bracket; not after an ellipsis or dot leader ("Test ... 40 hours").
# Common legal abbreviations do not end sentences.
_SENTENCE_END = re.compile(r"(?<!\.\.)(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c(\[A-Z0-9§])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:U\.S|No|Nos|Sec|Secs|Art|Inc|Corp|Co|Ltd|Mr|Mrs|Ms|Dr|v|vs|Fed|Reg|Stat|Supp"
    r"|et al|e\.g|i\.e|cf|p|pp|para|ch|cl|subd|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov"
    r"|Dec|St|Ave)|\b[A-Z])\.$"
)


def _split(
    text: str,
    start: int,
    end: int,
    pattern: re.Pattern[str],
    is_boundary: Callable[[int, re.Match[str]], bool] = lambda cursor, match: True,
) -> list[Span]:
    """Trimmed, non-blank spans of ``text[start:end]`` between the matches of ``pattern``
    that ``is_boundary(span_start, match)`` accepts."""
    spans: list[Span] = []
    cursor = start
    for match in pattern.finditer(text, start, end):
        if not is_boundary(cursor, match):
            continue
        if match.start() > cursor:
            spans.append((cursor, match.start()))
        cursor = match.end()
    if cursor < end:
        spans.append((cursor, end))
    return [_trim(text, s) for s in spans if text[s[0] : s[1]].strip()]


def _trim(text: str, span: Span) -> Span:
    start, end = span
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraphs(text: str) -> list[Span]:
    """Blocks separated by a blank line or starting with a clause/section marker."""
    blocks = _split(text, 0, len(text), _BLANK_LINE)
    return [p for s, e in blocks for p in _split(text, s, e, _CLAUSE_START)]


def sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]``; abbreviations such as "U.S." or "No." do not split."""

    def not_abbreviation(cursor: int, match: re.Match[str]) -> bool:
        return not _ABBREVIATION.search(text, max(cursor, match.start() - 8), match.start())

    end = len(text) if end is None else end
    return _split(text, start, end, _SENTENCE_END, not_abbreviation)


def words(text: str, start: int, end: int, max_chars: int) -> list[Span]:
    """Windows of whole words at most ``max_chars`` long (a word longer than that is cut)."""
    spans: list[Span] = []
    cursor = start
    while cursor < end:
        limit = min(cursor + max_chars, end)
        cut = limit if limit == end else text.rfind(" ", cursor + 1, limit)
        if cut <= cursor:
            cut = limit
        spans.append(_trim(text, (cursor, cut)))
        cursor = cut
        while cursor < end and text[cursor].isspace():
            cursor += 1
    return [s for s in spans if s[1] > s[0]]

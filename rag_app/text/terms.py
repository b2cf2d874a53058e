"""Content words: what a keyword match between a question and a passage counts."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

_WORD = re.compile(r"[a-z0-9]+(?:[-'.§][a-z0-9]+)*")
_STOPWORDS = frozenset(
    "a an and are as at be by can could did do does for from had has have how i if in into is"
    " it its may might must not of on or our shall should so than that the their them then"
    " there these they this those to under upon was we were what when where which who whom"
    " why will with would you your about any all also each many much such take takes"
    " long".split()
)


def content_words(text: str) -> set[str]:
    """Lowercased words and numbers that carry meaning ("work-hours", "39.13", "aoa")."""
    return {w for w in _WORD.findall(text.casefold()) if w not in _STOPWORDS}


def coverage(query_terms: AbstractSet[str], text: str) -> float:
    """The share of ``query_terms`` that occur in ``text`` (0 when there are none)."""
    if not query_terms:
        return 0.0
    return len(query_terms & content_words(text)) / len(query_terms)

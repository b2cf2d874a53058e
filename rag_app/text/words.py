"""Words as search counts them, in one place: one tokenizer and one stop list for keyword
coverage (``content_words``, ``coverage``), BM25 on both stores (``terms``; pgvector counts
the same in SQL with PostgreSQL's ``english`` configuration) and the answerers.

Words and numbers, casefolded; an apostrophe ends a word, as in PostgreSQL; a hyphenated
word ("work-hours") also gives its parts, a dotted one ("39.13") stays whole; PostgreSQL's
``english`` stop words dropped; Snowball English stems. This approximates PostgreSQL's
parser (which also knows URLs, e-mail addresses and file paths; this one does not).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Set as AbstractSet
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")  # an apostrophe ends a word, as in PostgreSQL
# PostgreSQL's english.stop list (the Snowball English stop words).
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now""".split()
)
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def terms(text: str) -> Counter[str]:
    """The chunk's terms and how often each occurs: lowercased, stop words dropped,
    stemmed; a hyphenated word ("work-hours") also gives its parts, a dotted one ("39.13")
    stays whole."""
    found: Counter[str] = Counter()
    for word in _WORD.findall(text.casefold()):
        parts = [word, *word.split("-")] if "-" in word else [word]
        for part in parts:
            if part and part not in STOP_WORDS:
                found[_stem(part)] += 1
    return found


def content_words(text: str) -> frozenset[str]:
    """The distinct terms of ``text`` ("work-hours" gives work-hour, work and hour)."""
    return frozenset(terms(text))


# Every search scores its hits' texts, and the same chunks (and the extractive answerer's
# sentences) come back for related queries: tokenising and stemming ten 1,000-character
# chunks costs about 1.5 ms, a lookup here microseconds.
@lru_cache(maxsize=4096)  # about 5 KB each: 20 MB at most
def _text_terms(text: str) -> frozenset[str]:
    return frozenset(terms(text))


def coverage(query_terms: AbstractSet[str], text: str) -> float:
    """The share of ``query_terms`` (``content_words`` of a query) that occur in ``text``
    (0 when there are none)."""
    if not query_terms:
        return 0.0
    return len(query_terms & _text_terms(text)) / len(query_terms)

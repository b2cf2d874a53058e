"""BM25, the full-text ranking both stores use for keyword search.

pgvector computes it in SQL over PostgreSQL's ``english`` text search configuration
(``vectorstores/pgvector.py``), which the tokenizer below approximates for the query side:
words and numbers, English stop words dropped, Snowball English stems (PostgreSQL's parser
also knows URLs, e-mail addresses and file paths; this one does not). S3 Vectors ranks by
its own BM25 with its standard analyzer (no stemming, no stop words).

    score(chunk) = sum over query terms t in chunk of
        idf(t) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average length))
    idf(t) = ln(1 + (chunks - df(t) + 0.5) / (df(t) + 0.5))

``length`` is the number of distinct terms of the chunk (what PostgreSQL's ``length()``
of a ``tsvector`` gives), ``tf`` how often the term occurs in it.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import snowballstemmer

K1 = 1.2
B = 0.75
# A question is a sentence, not a document: past this many distinct terms the rest are
# ignored (keeps a pasted page from becoming a thousand-term OR query).
MAX_QUERY_TERMS = 64

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


def query_terms(text: str) -> list[str]:
    """The distinct terms of a query, in order of first occurrence, at most 64."""
    return list(terms(text))[:MAX_QUERY_TERMS]

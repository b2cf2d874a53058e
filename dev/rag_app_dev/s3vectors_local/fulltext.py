"""Full-text search of the local S3 Vectors server: BM25 over searchable metadata keys, and
Reciprocal Rank Fusion for hybrid queries, as AWS's user guide describes them ("Hybrid
search with Amazon S3 Vectors", "Configuring full-text search", "Querying with full-text
and vector search").

Documented, and followed here: a key listed in the index's ``textSearchConfigurations`` is
indexed for BM25 when a vector is written (strongly consistent: a query sees it at once);
a key with no ``language`` uses the default standard analyzer; text queries rank by BM25;
a hybrid query runs one full-text search per query text and one vector search, fuses the
rankings with RRF and returns one list of ``topK``.

Not documented, so chosen here and unverified against AWS:

- the standard analyzer is Lucene's (Unicode word segmentation approximated by a regular
  expression, lowercased, no stop words, no stemming, tokens cut at 255 characters);
- ``en`` is Lucene's English analyzer: the standard one, then possessive ``'s`` removed,
  Lucene's 33 English stop words dropped, and stems (Snowball English, where Lucene has
  Porter); the other languages are accepted and analysed as the standard analyzer;
- BM25 uses Lucene's constants and IDF (k1 = 1.2, b = 0.75,
  ``ln(1 + (N - n + 0.5) / (n + 0.5))``), over the vectors that have the key as a string;
  a query term counts once however often it is repeated;
- RRF uses k = 60 and takes each ranking to a depth of ``max(topK, 100)``; ties break by key;
- only string values are indexed (another type under a searchable key is stored, not
  searched).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache

import snowballstemmer

WORD = re.compile(r"\w+(?:['\u2019.]\w+)*")
MAX_TOKEN = 255
K1 = 1.2
B = 0.75
RRF_K = 60
RRF_DEPTH = 100


ENGLISH_STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)
_STEMMER = snowballstemmer.stemmer("english")
POSSESSIVE = ("'s", "\u2019s")


@cache
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


@lru_cache(maxsize=8192)
def analyze(text: str, language: str | None = None) -> tuple[str, ...]:
    """The standard analyzer: words (keeping inner apostrophes and dots, as in "lessee's"
    or "u.s"), lowercased, long tokens split; ``en`` also drops possessives and stop words
    and stems."""
    tokens: list[str] = []
    for match in WORD.finditer(text.lower()):
        word = match.group()
        tokens.extend(word[i : i + MAX_TOKEN] for i in range(0, len(word), MAX_TOKEN))
    if language != "en":
        return tuple(tokens)
    english = (t[:-2] if t.endswith(POSSESSIVE) else t for t in tokens)
    return tuple(_stem(t) for t in english if t not in ENGLISH_STOP_WORDS)


@dataclass
class TextField:
    """The inverted index of one searchable metadata key."""

    language: str | None
    postings: dict[str, dict[str, int]] = field(default_factory=dict)  # term -> key -> tf
    lengths: dict[str, int] = field(default_factory=dict)  # key -> tokens
    terms_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> its terms
    total_length: int = 0

    def put(self, key: str, value: object) -> None:
        self.remove(key)
        if not isinstance(value, str):
            return
        counts = Counter(analyze(value, self.language))
        for term, tf in counts.items():
            self.postings.setdefault(term, {})[key] = tf
        self.lengths[key] = sum(counts.values())
        self.terms_of[key] = tuple(counts)
        self.total_length += self.lengths[key]

    def remove(self, key: str) -> None:
        length = self.lengths.pop(key, None)
        if length is None:
            return
        self.total_length -= length
        for term in self.terms_of.pop(key):
            postings = self.postings[term]
            del postings[key]
            if not postings:
                del self.postings[term]

    def search(
        self, text: str, allowed: Callable[[str], bool], depth: int
    ) -> list[tuple[str, float]]:
        """The best ``depth`` (key, BM25) of the keys ``allowed`` lets through, best first."""
        documents = len(self.lengths)
        if documents == 0:
            return []
        average = self.total_length / documents
        scores: dict[str, float] = {}
        for term in dict.fromkeys(analyze(text, self.language)):
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = math.log(1 + (documents - len(postings) + 0.5) / (len(postings) + 0.5))
            for key, tf in postings.items():
                norm = K1 * (1 - B + B * self.lengths[key] / average)
                scores[key] = scores.get(key, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
        ranked = sorted(
            ((key, score) for key, score in scores.items() if allowed(key)),
            key=lambda item: (-item[1], item[0]),
        )
        return ranked[:depth]


def rrf(rankings: Iterable[list[str]], *, k: int = RRF_K) -> dict[str, float]:
    """Each key's sum over rankings of 1 / (k + rank), rank from 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, 1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused

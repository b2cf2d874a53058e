"""The offline answerer: no language model, so it answers with the retrieved sentences that
best support the question, each cited, and abstains when no passage is close enough.

Sentence score = cosine(sentence, question) + 0.3 x the share of the question's content
words the sentence contains + 0.2 x its passage's relevance (the passage's cosine
similarity + 0.3 x the share of the question's content words it contains: the same on
every search mode, unlike the score results were ordered by). The keyword term matters
in legal text, where the decisive words are exact (a defined term, a section number).
A passage counts as support when its cosine similarity is at least ``min_score`` and it
either shares some of the question's content words (``SUPPORT_KEYWORD``) or is very close
(``min_score + STRONG_MARGIN``): MiniLM puts unrelated English passages at 0.3-0.4 from
many questions, so similarity alone abstains too rarely.

Cost: one search. The question's vector is the search's (``query_vector``), and only the
``SEMANTIC_CANDIDATES`` sentences with the best score without the cosine term (keyword share
and passage relevance: the sentences of the best passages) are embedded, in one batch, so an
answer embeds a dozen short sentences rather than every sentence of every passage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag_app.answerers.base import NO_ANSWER, Question
from rag_app.domain import Answer, AnswerDelta, Citation, Hit
from rag_app.embedders.base import Embedder
from rag_app.text.sentences import sentences, words
from rag_app.text.words import coverage

MAX_SENTENCE_CHARS = 400
KEYWORD_WEIGHT = 0.3
RETRIEVAL_WEIGHT = 0.2
SUPPORT_KEYWORD = 0.25
STRONG_MARGIN = 0.15
KEEP_RATIO = 0.85  # further sentences must score within this fraction of the best one
# Sentences embedded per answer, chosen by their score without the cosine term. The cosine
# adds at most about 1 to a score whose other terms span about 0.5, so the sentences of the
# best two or three passages are what could win; benchmarks/extractive_answer.py measures
# agreement with embedding every sentence: 12, 8 and 6 candidates, 35 corpus questions, cited
# the same sentences as every sentence did 35, 35 and 33 times; 8 embeds 6.2 sentences a new
# ask against 12's 7.4 (p50 0.90x).
SEMANTIC_CANDIDATES = 8


@dataclass(frozen=True, slots=True)
class _Candidate:
    hit: Hit
    start: int
    end: int

    @property
    def quote(self) -> str:
        return self.hit.chunk.text[self.start : self.end]


def _candidates(hits: Sequence[Hit]) -> list[_Candidate]:
    found: list[_Candidate] = []
    seen: set[str] = set()
    for hit in hits:
        text = hit.chunk.text
        for start, end in sentences(text):
            spans = [(start, end)]
            if end - start > MAX_SENTENCE_CHARS:
                spans = words(text, start, end, MAX_SENTENCE_CHARS)
            for s, e in spans:
                key = " ".join(text[s:e].split()).casefold()
                if key not in seen:  # overlapping chunks repeat sentences
                    seen.add(key)
                    found.append(_Candidate(hit, s, e))
    return found


class ExtractiveAnswerer:
    def __init__(
        self,
        embedder: Embedder,
        *,
        min_score: float,
        max_sentences: int,
        semantic_candidates: int = SEMANTIC_CANDIDATES,
    ) -> None:
        """``semantic_candidates``: how many sentences an answer embeds (see the module)."""
        self._embedder = embedder
        self._min_score = min_score
        self._max_sentences = max_sentences
        self._semantic_candidates = semantic_candidates

    async def stream(
        self, question: Question, hits: Sequence[Hit]
    ) -> AsyncIterator[AnswerDelta | Answer]:
        chosen = await self._choose(question, hits)
        if not chosen:
            yield AnswerDelta(NO_ANSWER)
            yield Answer(NO_ANSWER, False, (), {"answerer": "extractive"})
            return
        # One delta per cited sentence; the answer's text is their concatenation.
        pieces = [
            f"{' '.join(c.quote.split())} [{n}]" + (" " if n < len(chosen) else "")
            for n, c in enumerate(chosen, 1)
        ]
        for piece in pieces:
            yield AnswerDelta(piece)
        citations = tuple(Citation.of(c.hit.chunk, c.quote) for c in chosen)
        yield Answer("".join(pieces), True, citations, {"answerer": "extractive"})

    def _supports(self, terms: frozenset[str], hit: Hit) -> bool:
        if hit.similarity < self._min_score:
            return False
        return (
            hit.similarity >= self._min_score + STRONG_MARGIN
            or coverage(terms, hit.chunk.text) >= SUPPORT_KEYWORD
        )

    async def _choose(self, question: Question, hits: Sequence[Hit]) -> list[_Candidate]:
        """The best supporting sentences, best first; none when nothing supports an answer.
        The question's vector is the one search used; only the best
        ``semantic_candidates`` sentences by their score without the cosine are embedded."""
        terms = question.terms
        candidates = _candidates([h for h in hits if self._supports(terms, h)])
        if not candidates:
            return []
        keyword = np.array([coverage(terms, c.quote) for c in candidates])
        retrieval = np.array(
            [c.hit.similarity + KEYWORD_WEIGHT * c.hit.keyword for c in candidates]
        )
        lexical = KEYWORD_WEIGHT * keyword + RETRIEVAL_WEIGHT * retrieval
        # Stable: equal scores keep passage order.
        kept = np.argsort(-lexical, kind="stable")[: self._semantic_candidates]
        candidates = [candidates[i] for i in kept]
        # Whitespace-normalised: the same sentence from overlapping chunks is one text.
        vectors = await self._embedder.embed_batch([" ".join(c.quote.split()) for c in candidates])
        scores = vectors @ question.vector + lexical[kept]
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        return [
            candidates[i] for i in order[: self._max_sentences] if scores[i] >= KEEP_RATIO * best
        ]

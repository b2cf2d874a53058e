"""Fusing the vector and the keyword lists of a hybrid search: the weighted blend of scores
(the default, ``RAG_HYBRID_FUSION=weighted``) or reciprocal rank fusion (``rrf``)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from rag_app.domain import Hit
from rag_app.vectorstores.base import HybridCandidates

# Hybrid search fuses a vector list and a BM25 list: in legal text the decisive words are
# exact (a defined term, a section number, a party), where embeddings are weakest, and
# paraphrases are where words are weakest. Each list is longer than the answer, so a
# passage ranked well by one and moderately by the other can still win.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 20
RRF_K = 60  # the constant of Cormack et al. (2009): flattens the top ranks' advantage
Fusion = Literal["rrf", "weighted", "native"]  # native: the store's own (S3 Vectors)


def fuse(rankings: list[list[Hit]], *, k: int = RRF_K) -> list[Hit]:
    """Reciprocal rank fusion: each hit scores the sum over rankings of 1 / (k + rank),
    best first; ties by cosine similarity, then chunk id. A hit found by several lists
    keeps the first list's copy, with the largest ``text_rank`` seen."""
    fused: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, 1):
            key = hit.chunk.chunk_id
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
            seen = first.setdefault(key, hit)
            if hit.text_rank > seen.text_rank:
                first[key] = dataclasses.replace(seen, text_rank=hit.text_rank)
    order = sorted(fused, key=lambda key: (-fused[key], -first[key].similarity, key))
    return [dataclasses.replace(first[key], score=fused[key]) for key in order]


def scored_union(candidates: HybridCandidates) -> dict[str, Hit]:
    """Every candidate of both lists once, by chunk id, each with its similarity and its
    BM25: a keyword hit's own; a vector hit's own when the store scored it
    (``vector_hits_scored``), else ``candidates.unscored_text_rank()``."""
    unscored = None if candidates.vector_hits_scored else candidates.unscored_text_rank()
    found: dict[str, Hit] = {}
    for hit in candidates.by_vector:
        found[hit.chunk.chunk_id] = (
            hit if unscored is None else dataclasses.replace(hit, text_rank=unscored)
        )
    for hit in candidates.by_words:
        found[hit.chunk.chunk_id] = hit  # the copy that carries the text rank
    return found


def blend(candidates: HybridCandidates, *, vector_weight: float) -> list[Hit]:
    """Convex combination of scores (Bruch et al., 2023): ``vector_weight`` x cosine
    similarity + (1 - ``vector_weight``) x BM25 / the best BM25 among the candidates, over
    the hits of both lists, best first; ties by chunk id.

    Every candidate is scored on both signals: keyword hits carry their similarity, and
    vector hits their BM25 when the store scored them (``vector_hits_scored``); otherwise a
    vector hit missing from the keyword list counts ``candidates.unscored_text_rank()``
    (0 only when the keyword list is short, so the chunk holds no query word). Counting
    a strong vector hit's BM25 as 0 is what buried first-ranked vector hits behind chunks
    that matched only generic words."""
    found = scored_union(candidates)
    best = max((h.text_rank for h in found.values()), default=0.0) or 1.0
    scored = {
        key: vector_weight * h.similarity + (1 - vector_weight) * h.text_rank / best
        for key, h in found.items()
    }
    order = sorted(scored, key=lambda key: (-scored[key], key))
    return [dataclasses.replace(found[key], score=scored[key]) for key in order]

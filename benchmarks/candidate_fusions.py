"""Candidate fusions of a hybrid search's two signals, compared with the service's ``blend``
by benchmarks/fusion_choice.py (none of them won; see docs/performance.md, "Fusion
choice"): each puts the signals on the query's own scale first, or combines ranks.

``blend`` (fusion.py) adds the raw cosine similarity to BM25 over the best BM25: the two
are on different scales, and how far apart they are changes from query to query (the
cosines of one query's candidates may span 0.30-0.35, another's 0.2-0.7). The fusions here
normalise each signal over the query's candidates before combining them (Bruch et al.,
2023, "An analysis of fusion functions for hybrid retrieval"; Qdrant's distribution-based
score fusion) or rank by each signal and combine the ranks with weights (weighted
reciprocal rank fusion). Each is a pure function of a ``HybridCandidates``; each ranks the
union of the two lists, every candidate scored on both signals as ``blend`` does (a vector
hit whose BM25 the store did not return counts ``unscored_text_rank``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from rag_app.domain import Hit
from rag_app.retrieval.fusion import scored_union
from rag_app.vectorstores.base import HybridCandidates

Normaliser = Callable[[Sequence[float]], list[float]]


def union(candidates: HybridCandidates) -> list[Hit]:
    """Every candidate once, scored on both signals as ``blend`` scores it
    (``scored_union``), in chunk id order."""
    found = scored_union(candidates)
    return [found[key] for key in sorted(found)]


def min_max(values: Sequence[float]) -> list[float]:
    """Each value's place between the smallest (0) and the largest (1); all 0 when every
    value is the same (a signal that does not tell the candidates apart adds nothing)."""
    low, high = min(values, default=0.0), max(values, default=0.0)
    if high <= low:
        return [0.0] * len(values)
    return [(v - low) / (high - low) for v in values]


def z_score(values: Sequence[float]) -> list[float]:
    """Each value's distance from the mean in standard deviations; all 0 when every value
    is the same. Distribution-based score fusion (Qdrant's DBSF: mean +/- 3 standard
    deviations mapped to 0..1) is an affine map of this, so it ranks the same."""
    if not values:
        return []
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if spread == 0:
        return [0.0] * len(values)
    return [(v - mean) / spread for v in values]


def convex(
    candidates: HybridCandidates, *, vector_weight: float, normalise: Normaliser
) -> list[Hit]:
    """``vector_weight`` x normalised similarity + (1 - ``vector_weight``) x normalised
    BM25, each normalised by ``normalise`` over the union of the candidates, best first;
    ties by chunk id. ``score`` is the fused value."""
    hits = union(candidates)
    similarities = normalise([h.similarity for h in hits])
    text_ranks = normalise([h.text_rank for h in hits])
    scored = [
        (vector_weight * s + (1 - vector_weight) * t, h)
        for s, t, h in zip(similarities, text_ranks, hits, strict=True)
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1].chunk.chunk_id))
    return [dataclasses.replace(h, score=score) for score, h in scored]


def weighted_rrf(candidates: HybridCandidates, *, vector_weight: float, k: int) -> list[Hit]:
    """Weighted reciprocal rank fusion over the union ranked once by similarity and once by
    BM25: ``vector_weight`` / (k + similarity rank) + (1 - ``vector_weight``) / (k + BM25
    rank), best first; ties by chunk id. Chunks with the same BM25 (often 0: no query
    word) share its rank, the best of their group, so the order among them adds nothing."""
    hits = union(candidates)

    def ranks(values: list[float]) -> list[int]:
        ordered = sorted(values, reverse=True)
        first: dict[float, int] = {}
        for place, value in enumerate(ordered, 1):
            first.setdefault(value, place)
        return [first[v] for v in values]

    by_similarity = ranks([h.similarity for h in hits])
    by_text = ranks([h.text_rank for h in hits])
    scored = [
        (vector_weight / (k + s) + (1 - vector_weight) / (k + t), h)
        for s, t, h in zip(by_similarity, by_text, hits, strict=True)
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1].chunk.chunk_id))
    return [dataclasses.replace(h, score=score) for score, h in scored]

"""The normalised and rank-weighted fusions of benchmarks/candidate_fusions.py: pure
functions of two candidate lists, pinned on small lists whose right order is worked out
by hand."""

from __future__ import annotations

import math

import pytest

from benchmarks.candidate_fusions import convex, min_max, union, weighted_rrf, z_score
from rag_app.domain import Chunk, Hit
from rag_app.vectorstores.base import HybridCandidates


def hit(chunk_no: int, similarity: float, text_rank: float = 0.0) -> Hit:
    return Hit(Chunk("d", chunk_no, "x", 1, 0, 1, "t", "c"), similarity, text_rank=text_rank)


def order(hits: list[Hit]) -> list[int]:
    return [h.chunk.chunk_no for h in hits]


def test_min_max_maps_the_range_to_0_1_and_a_flat_signal_to_0() -> None:
    assert min_max([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5]
    assert min_max([0.7, 0.7]) == [0.0, 0.0]
    assert min_max([]) == []


def test_z_score_centres_and_scales_and_a_flat_signal_gives_0() -> None:
    scores = z_score([1.0, 2.0, 3.0])
    assert scores[1] == 0.0
    assert scores[0] == pytest.approx(-math.sqrt(1.5))
    assert scores[2] == pytest.approx(math.sqrt(1.5))
    assert z_score([5.0, 5.0, 5.0]) == [0.0, 0.0, 0.0]
    assert z_score([]) == []


def test_union_keeps_each_chunk_once_with_its_bm25() -> None:
    candidates = HybridCandidates(
        [hit(1, 0.9, 0.0), hit(2, 0.8, 1.0)],
        [hit(2, 0.8, 3.0), hit(3, 0.2, 2.0)],
        depth=2,
        vector_hits_scored=True,
    )
    found = union(candidates)
    assert [(h.chunk.chunk_no, h.text_rank) for h in found] == [(1, 0.0), (2, 3.0), (3, 2.0)]


def test_union_counts_an_unscored_vector_hit_as_the_keyword_lists_lowest() -> None:
    candidates = HybridCandidates(
        [hit(1, 0.9)], [hit(2, 0.5, 4.0), hit(3, 0.4, 2.0)], depth=2, vector_hits_scored=False
    )
    assert union(candidates)[0].text_rank == 2.0


def test_min_max_convex_spreads_a_narrow_cosine_range() -> None:
    # The cosines span 0.40-0.44, BM25 0-10. Raw cosines would barely count against BM25;
    # min-max gives chunk 1 (best by meaning, no query word) a full 1.0 on its signal.
    candidates = HybridCandidates(
        [hit(1, 0.44, 0.0), hit(2, 0.42, 6.0)],
        [hit(3, 0.40, 10.0), hit(2, 0.42, 6.0)],
        depth=2,
        vector_hits_scored=True,
    )
    fused = convex(candidates, vector_weight=0.6, normalise=min_max)
    # 1: 0.6*1 + 0 = 0.6; 2: 0.6*0.5 + 0.4*0.6 = 0.54; 3: 0 + 0.4*1 = 0.4
    assert order(fused) == [1, 2, 3]
    assert [round(h.score, 4) for h in fused] == [0.6, 0.54, 0.4]
    assert order(convex(candidates, vector_weight=0.3, normalise=min_max)) == [3, 2, 1]


def test_weighted_rrf_weighs_the_ranks_and_ties_share_a_rank() -> None:
    candidates = HybridCandidates(
        [hit(1, 0.9, 0.0), hit(2, 0.8, 0.0)],
        [hit(3, 0.1, 5.0)],
        depth=2,
        vector_hits_scored=True,
    )
    # Similarity ranks 1, 2, 3; BM25 ranks: chunk 3 first, chunks 1 and 2 share 2nd.
    fused = weighted_rrf(candidates, vector_weight=0.5, k=1)
    # 1: .5/2 + .5/3; 2: .5/3 + .5/3; 3: .5/4 + .5/2
    assert order(fused) == [1, 3, 2]
    assert fused[0].score == pytest.approx(0.5 / 2 + 0.5 / 3)
    assert order(weighted_rrf(candidates, vector_weight=0.2, k=1)) == [3, 1, 2]


def test_every_fusion_of_empty_lists_is_empty() -> None:
    empty = HybridCandidates([], [], depth=10, vector_hits_scored=True)
    assert convex(empty, vector_weight=0.5, normalise=z_score) == []
    assert weighted_rrf(empty, vector_weight=0.5, k=60) == []

"""The retrieval metrics, on ranks whose figures are worked out by hand."""

from __future__ import annotations

import math

import pytest

from rag_app.evaluation.metrics import Scores, first_relevant_rank, hit_rate, hits, mrr, ndcg


def test_first_relevant_rank_is_one_based_and_none_past_the_cutoff() -> None:
    assert first_relevant_rank([True, False]) == 1
    assert first_relevant_rank([False, False, True]) == 3
    assert first_relevant_rank([False] * 9 + [True]) == 10
    assert first_relevant_rank([False] * 10 + [True]) is None
    assert first_relevant_rank([False, True], cutoff=1) is None
    assert first_relevant_rank([]) is None


def test_first_relevant_rank_stops_reading_at_the_cutoff() -> None:
    read = []

    def results() -> object:
        for n in range(100):
            read.append(n)
            yield False

    assert first_relevant_rank(results(), cutoff=10) is None  # type: ignore[arg-type]
    assert len(read) == 11


def test_scores_of_four_questions_worked_by_hand() -> None:
    # Ranks 1, 3, absent, 10.
    ranks = [1, 3, None, 10]
    assert hits(ranks, 1) == 1
    assert hits(ranks, 5) == 2
    assert hit_rate(ranks, 1) == 0.25
    assert hit_rate(ranks, 5) == 0.5
    assert hit_rate(ranks, 10) == 0.75
    # (1 + 1/3 + 0 + 1/10) / 4 = 1.4333.../4
    assert mrr(ranks) == pytest.approx((1 + 1 / 3 + 0.1) / 4)
    assert mrr(ranks) == pytest.approx(0.358333, abs=1e-6)
    # 1/log2(2) = 1, 1/log2(4) = 0.5, 0, 1/log2(11) = 0.289065...
    assert ndcg(ranks) == pytest.approx((1 + 0.5 + 0 + 0.2890648) / 4, abs=1e-6)
    scores = Scores.of(ranks)
    assert (scores.n, scores.hit_at_1, scores.hit_at_5) == (4, 0.25, 0.5)
    assert scores.mrr_at_10 == pytest.approx(0.358333, abs=1e-6)
    assert scores.ndcg_at_10 == pytest.approx(0.447266, abs=1e-6)
    assert scores.as_dict() == {
        "n": 4,
        "hit@1": 0.25,
        "hit@5": 0.5,
        "MRR@10": 0.3583,
        "nDCG@10": 0.4473,
    }


def test_a_rank_past_the_cutoff_scores_nothing() -> None:
    assert mrr([11]) == 0.0
    assert ndcg([11]) == 0.0
    assert mrr([2], cutoff=1) == 0.0
    assert ndcg([3], cutoff=3) == pytest.approx(1 / math.log2(4))


def test_perfect_and_empty_results() -> None:
    assert Scores.of([1, 1, 1]) == Scores(3, 1.0, 1.0, 1.0, 1.0)
    assert Scores.of([None, None]) == Scores(2, 0.0, 0.0, 0.0, 0.0)


def test_no_questions_or_a_zero_rank_is_refused() -> None:
    with pytest.raises(ValueError, match="zero questions"):
        Scores.of([])
    with pytest.raises(ValueError, match="1-based"):
        mrr([0])

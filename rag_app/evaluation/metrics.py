"""Known-item retrieval metrics, from the rank of each question's first relevant result.

Every question has one relevant target (a document, or a page of it, or a passage holding a
span), so a question's whole outcome is one number: the 1-based rank of the first result
that is relevant, or ``None`` when none of the first ``CUTOFF`` results is. The aggregates:

- hit@k: the share of questions whose rank is at most k;
- MRR@10: the mean of 1/rank (0 for ``None``);
- nDCG@10: with one relevant item and binary gains, the ideal DCG is 1 (the target at rank
  1), so nDCG@10 of a question is 1/log2(1 + rank) (0 for ``None``), averaged. Later chunks
  of the same target are not counted again: the first one found is what the reader needs.

Pure functions; an empty list of ranks has no mean and raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CUTOFF = 10


def first_relevant_rank(relevant: Iterable[bool], *, cutoff: int = CUTOFF) -> int | None:
    """The 1-based position of the first ``True`` among the first ``cutoff``, else None."""
    for rank, is_relevant in enumerate(relevant, 1):
        if rank > cutoff:
            return None
        if is_relevant:
            return rank
    return None


def _checked(ranks: Sequence[int | None]) -> Sequence[int | None]:
    if not ranks:
        raise ValueError("no ranks: the metrics of zero questions are undefined")
    for rank in ranks:
        if rank is not None and rank < 1:
            raise ValueError(f"ranks are 1-based, got {rank}")
    return ranks


def hits(ranks: Sequence[int | None], k: int) -> int:
    """How many questions have their target within the first ``k`` results."""
    return sum(1 for rank in _checked(ranks) if rank is not None and rank <= k)


def hit_rate(ranks: Sequence[int | None], k: int) -> float:
    """hit@k: the share of questions with their target within the first ``k``."""
    return hits(ranks, k) / len(ranks)


def mrr(ranks: Sequence[int | None], cutoff: int = CUTOFF) -> float:
    """MRR@cutoff: mean reciprocal rank, a target below ``cutoff`` (or absent) scoring 0."""
    return sum(1 / rank for rank in _checked(ranks) if rank is not None and rank <= cutoff) / len(
        ranks
    )


def ndcg(ranks: Sequence[int | None], cutoff: int = CUTOFF) -> float:
    """nDCG@cutoff for one relevant target per question: mean of 1/log2(1 + rank)."""
    return sum(
        1 / math.log2(1 + rank) for rank in _checked(ranks) if rank is not None and rank <= cutoff
    ) / len(ranks)


@dataclass(frozen=True, slots=True)
class Scores:
    """The figures ``rag-app eval`` prints for one set of ranks."""

    n: int
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    ndcg_at_10: float

    @classmethod
    def of(cls, ranks: Sequence[int | None]) -> Scores:
        return cls(
            n=len(_checked(ranks)),
            hit_at_1=hit_rate(ranks, 1),
            hit_at_5=hit_rate(ranks, 5),
            mrr_at_10=mrr(ranks, 10),
            ndcg_at_10=ndcg(ranks, 10),
        )

    def as_dict(self) -> dict[str, float | int]:
        """Rounded to 4 places, under the names the table prints."""
        return {
            "n": self.n,
            "hit@1": round(self.hit_at_1, 4),
            "hit@5": round(self.hit_at_5, 4),
            "MRR@10": round(self.mrr_at_10, 4),
            "nDCG@10": round(self.ndcg_at_10, 4),
        }

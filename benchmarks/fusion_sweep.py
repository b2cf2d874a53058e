"""Hybrid fusion choices compared on one set of candidates: each question's two candidate
lists are fetched once from the store (``query_hybrid`` at depth 100, cut to the depth the
service asks for), then every fusion below ranks them, so the choices differ in nothing but
the fusion. The depth-100 lists can be kept for benchmarks/fusion_choice.py.

``weighted-zero`` is the fusion before every candidate was scored on both signals: a
vector hit missing from the keyword list counted BM25 0. It is the same-run "before".
Used by benchmarks/spdx_eval.py ``--fusions``; not a script of its own.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import fusion_candidates
from rag_app.catalog.base import Catalog
from rag_app.domain import MAX_TOP_K, Hit
from rag_app.embedders.base import Embedder, embed_query
from rag_app.evaluation.harness import resolve_documents
from rag_app.evaluation.metrics import CUTOFF, Scores, first_relevant_rank
from rag_app.evaluation.questions import Question, Target
from rag_app.retrieval.fusion import CANDIDATES_PER_RESULT, MIN_CANDIDATES, blend, fuse
from rag_app.vectorstores.base import HybridCandidates, VectorStore

Fusion = Callable[[HybridCandidates], list[Hit]]
WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9)


def _zero_for_vector_only(candidates: HybridCandidates) -> HybridCandidates:
    words = {h.chunk.chunk_id for h in candidates.by_words}
    return dataclasses.replace(
        candidates,
        by_vector=[
            h if h.chunk.chunk_id in words else dataclasses.replace(h, text_rank=0.0)
            for h in candidates.by_vector
        ],
        vector_hits_scored=True,
    )


def _unscored(candidates: HybridCandidates) -> HybridCandidates:
    """As a store returns them that cannot score its vector hits (S3 Vectors' text search)."""
    return dataclasses.replace(
        candidates,
        by_vector=[dataclasses.replace(h, text_rank=0.0) for h in candidates.by_vector],
        vector_hits_scored=False,
    )


def _rrf_both(candidates: HybridCandidates) -> list[Hit]:
    """Reciprocal rank fusion over the union, ranked once by each signal."""
    union = {h.chunk.chunk_id: h for h in candidates.by_vector}
    union.update({h.chunk.chunk_id: h for h in candidates.by_words})
    hits = list(union.values())
    by_similarity = sorted(hits, key=lambda h: (-h.similarity, h.chunk.chunk_id))
    by_rank = sorted(hits, key=lambda h: (-h.text_rank, h.chunk.chunk_id))
    return fuse([by_similarity, by_rank])


def fusions() -> dict[str, Fusion]:
    found: dict[str, Fusion] = {
        "weighted-zero 0.75 (before)": lambda c: blend(
            _zero_for_vector_only(c), vector_weight=0.75
        ),
        "rrf (lists)": lambda c: fuse([c.by_vector, c.by_words]),
        "rrf (both signals)": _rrf_both,
    }
    for w in WEIGHTS:
        found[f"weighted {w}"] = functools.partial(_weighted, weight=w, unscored=False)
    for w in (0.6, 0.75):
        found[f"weighted {w}, vector BM25 unscored"] = functools.partial(
            _weighted, weight=w, unscored=True
        )
    return found


def _weighted(candidates: HybridCandidates, *, weight: float, unscored: bool) -> list[Hit]:
    return blend(_unscored(candidates) if unscored else candidates, vector_weight=weight)


async def sweep(
    store: VectorStore,
    embedder: Embedder,
    catalog: Catalog,
    questions: Sequence[Question],
    *,
    top_k: int = CUTOFF,
    dump: tuple[Path, str, str] | None = None,
) -> dict[str, Any]:
    """MRR@10 and friends of every fusion over the same candidates, with per-question
    counts of where a fusion ranks below the better single list. The lists are fetched at
    the deepest depth (``MAX_TOP_K``) and cut to the service's; ``dump`` (path, set name,
    store name) keeps the deep lists for benchmarks/fusion_choice.py."""
    ids = await resolve_documents(catalog, questions)
    targets = [Target(ids[q.document], q.page, q.span) for q in questions]
    depth = min(MAX_TOP_K, max(top_k * CANDIDATES_PER_RESULT, MIN_CANDIDATES))
    found = fusions()
    ranks: dict[str, list[int | None]] = {name: [] for name in found}
    singles: dict[str, list[int | None]] = {"vector": [], "keyword": []}
    entries: list[dict[str, Any]] = []
    scored = True
    for q, target in zip(questions, targets, strict=True):
        vector = await embed_query(embedder, q.question)
        deep = await store.query_hybrid(q.question, vector, top_k=MAX_TOP_K, filters={})
        scored = deep.vector_hits_scored
        relevant = {
            h.chunk.chunk_id for h in [*deep.by_vector, *deep.by_words] if target.matches(h.chunk)
        }
        entries.append(fusion_candidates.record(q.line, q.question, deep, relevant))
        candidates = dataclasses.replace(
            deep, by_vector=deep.by_vector[:depth], by_words=deep.by_words[:depth], depth=depth
        )
        for name, fusion in found.items():
            hits = fusion(candidates)[:top_k]
            ranks[name].append(first_relevant_rank(target.matches(h.chunk) for h in hits))
        for name, hits in (("vector", candidates.by_vector), ("keyword", candidates.by_words)):
            singles[name].append(first_relevant_rank(target.matches(h.chunk) for h in hits[:top_k]))

    if dump is not None:
        path, set_name, store_name = dump
        fusion_candidates.write(path, set_name, store_name, MAX_TOP_K, scored, entries)

    def reciprocal(rank: int | None) -> float:
        return 0.0 if rank is None else 1.0 / rank

    best_single = max(Scores.of(r).mrr_at_10 for r in singles.values())
    results: dict[str, Any] = {}
    for name, r in {**{f"{k} only": v for k, v in singles.items()}, **ranks}.items():
        scores = Scores.of(r).as_dict()
        below = sum(
            1
            for i, rank in enumerate(r)
            if reciprocal(rank)
            < max(reciprocal(singles["vector"][i]), reciprocal(singles["keyword"][i]))
        )
        results[name] = {
            **scores,
            "over_best_single": round(scores["MRR@10"] / best_single, 3) if best_single else None,
            "questions_below_better_single": below,
        }
    return {"depth": depth, "questions": len(questions), "fusions": results}


def table(found: dict[str, Any]) -> list[str]:
    lines = [f"{'fusion':<40} {'MRR@10':>7} {'hit@1':>6} {'/best':>6} {'below':>6}"]
    for name, f in found["fusions"].items():
        lines.append(
            f"{name:<40} {f['MRR@10']:>7.3f} {f['hit@1']:>6.3f} "
            f"{f['over_best_single'] or 0:>6.3f} {f['questions_below_better_single']:>6}"
        )
    return lines

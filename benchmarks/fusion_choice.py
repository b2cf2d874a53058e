"""Choose the hybrid fusion on one half of the SPDX questions and report it on the other.

Reads the candidate lists ``spdx_eval.py --fusions`` kept (benchmarks/fusion_candidates.py:
each question's vector and keyword lists at depth 100, on each store) and ranks them by
every fusion of the grid below, at every candidate depth, without the store. The split is
fixed: an SPDX question whose ``line`` (its number in the sorted licence names) is even is
in the **tuning** half, an odd one in the **held-out** half. The fusion with the best mean
MRR@10 over both stores on the tuning half is the choice; the held-out half, the full
set, and the two PDF sets (corpus-pdf, paraphrase-pdf: never tuned on, the "never below
the better single retriever" check) report it. Per set and store: MRR@10, the ratio to
the better of vector and keyword search on the same questions, and how many questions
the fusion ranks lower than the better single list does.

    .venv/bin/python -m benchmarks.fusion_choice [--out fusion_choice.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import fusion_candidates
from benchmarks.candidate_fusions import convex, min_max, weighted_rrf, z_score
from benchmarks.fusion_candidates import CandidateSet, QuestionCandidates
from rag_app.domain import Hit
from rag_app.evaluation.metrics import CUTOFF, first_relevant_rank, mrr
from rag_app.retrieval.fusion import blend
from rag_app.vectorstores.base import HybridCandidates

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / fusion_candidates.FOLDER
RESULTS = ROOT / "benchmarks" / "results"
STORES = ("pgvector", "s3vectors")
CHECK_SETS = ("corpus-pdf", "paraphrase-pdf")
DEPTHS = (20, 40, 60, 100)
SERVICE_DEPTH = 40  # CANDIDATES_PER_RESULT x top_k 10
DEFAULT = "weighted 0.75 @40"

Fusion = Callable[[HybridCandidates], list[Hit]]


def grid() -> dict[str, Fusion]:
    """Every fusion compared, by name (without the depth)."""
    found: dict[str, Fusion] = {}
    for w in (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
        found[f"weighted {w}"] = functools.partial(blend, vector_weight=w)
        found[f"weighted {w}, vector BM25 unscored"] = functools.partial(
            _unscored, functools.partial(blend, vector_weight=w)
        )
    for w in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
        found[f"minmax {w}"] = functools.partial(convex, vector_weight=w, normalise=min_max)
        found[f"zscore {w}"] = functools.partial(convex, vector_weight=w, normalise=z_score)
    for k in (1, 5, 10, 20, 60):
        for w in (0.4, 0.5, 0.6, 0.7, 0.8):
            found[f"wrrf k{k} {w}"] = functools.partial(weighted_rrf, vector_weight=w, k=k)
    return found


def _unscored(fusion: Fusion, candidates: HybridCandidates) -> list[Hit]:
    """``fusion`` as if the store had not scored its vector hits on BM25: a vector hit
    missing from the keyword list counts that list's lowest BM25 (``unscored_text_rank``)."""
    return fusion(dataclasses.replace(candidates, vector_hits_scored=False))


def _rank(hits: Sequence[Hit], relevant: frozenset[str]) -> int | None:
    return first_relevant_rank(h.chunk.chunk_id in relevant for h in hits[:CUTOFF])


def _reciprocal(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / rank


def single_ranks(q: QuestionCandidates, scored: bool) -> tuple[int | None, int | None]:
    lists = q.at_depth(CUTOFF, vector_hits_scored=scored)
    return _rank(lists.by_vector, q.relevant), _rank(lists.by_words, q.relevant)


def figures(
    ranks: list[int | None], vector: list[int | None], keyword: list[int | None]
) -> dict[str, Any]:
    best_single = max(mrr(vector), mrr(keyword))
    better = [max(_reciprocal(v), _reciprocal(k)) for v, k in zip(vector, keyword, strict=True)]
    below = sum(1 for r, b in zip(ranks, better, strict=True) if _reciprocal(r) < b)
    return {
        "n": len(ranks),
        "MRR@10": round(mrr(ranks), 4),
        "vector": round(mrr(vector), 4),
        "keyword": round(mrr(keyword), 4),
        "over_best_single": round(mrr(ranks) / best_single, 4) if best_single else None,
        "questions_below_better_single": below,
    }


def halves(questions: Sequence[QuestionCandidates]) -> dict[str, list[int]]:
    """Indexes of the tuning (even ``line``) and held-out (odd) questions, and all."""
    return {
        "tune": [i for i, q in enumerate(questions) if q.line % 2 == 0],
        "held_out": [i for i, q in enumerate(questions) if q.line % 2 == 1],
        "full": list(range(len(questions))),
    }


def score_set(candidate_set: CandidateSet, fusions: dict[str, Fusion]) -> dict[str, Any]:
    """Every fusion at every depth on one set and store, split when it is SPDX."""
    qs = candidate_set.questions
    scored = candidate_set.vector_hits_scored
    singles = [single_ranks(q, scored) for q in qs]
    parts = halves(qs) if candidate_set.name == "spdx" else {"full": list(range(len(qs)))}
    out: dict[str, Any] = {}
    for depth in DEPTHS:
        lists = [q.at_depth(depth, vector_hits_scored=scored) for q in qs]
        for name, fusion in fusions.items():
            ranks = [_rank(fusion(c), q.relevant) for c, q in zip(lists, qs, strict=True)]
            out[f"{name} @{depth}"] = {
                part: figures(
                    [ranks[i] for i in idx],
                    [singles[i][0] for i in idx],
                    [singles[i][1] for i in idx],
                )
                for part, idx in parts.items()
            }
    return out


def reach(candidate_set: CandidateSet) -> dict[str, Any]:
    """What any fusion of the service's candidates can reach, per part: the MRR@10 of the
    better single list question by question (a fusion beats it only by ranking a target
    higher than both lists do), and the questions whose target is in neither list's first
    ``SERVICE_DEPTH`` (no fusion of those candidates finds it)."""
    qs = candidate_set.questions
    scored = candidate_set.vector_hits_scored
    parts = halves(qs) if candidate_set.name == "spdx" else {"full": list(range(len(qs)))}
    out: dict[str, Any] = {}
    for part, idx in parts.items():
        better = [max(map(_reciprocal, single_ranks(qs[i], scored))) for i in idx]
        missing = 0
        for i in idx:
            lists = qs[i].at_depth(SERVICE_DEPTH, vector_hits_scored=scored)
            ids = {h.chunk.chunk_id for h in [*lists.by_vector, *lists.by_words]}
            missing += not ids & qs[i].relevant
        out[part] = {
            "better_single_per_question_MRR@10": round(sum(better) / len(idx), 4),
            f"target_in_neither_list_at_{SERVICE_DEPTH}": missing,
        }
    return out


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def choose(scores: dict[str, dict[str, Any]]) -> list[tuple[str, float]]:
    """Fusions by mean MRR@10 over both stores on the SPDX tuning half, best first."""
    names = scores["spdx/pgvector"].keys()
    means = [
        (name, sum(scores[f"spdx/{s}"][name]["tune"]["MRR@10"] for s in STORES) / len(STORES))
        for name in names
    ]
    return sorted(means, key=lambda pair: (-pair[1], pair[0]))


def never_below(scores: dict[str, dict[str, Any]], name: str) -> bool:
    """At least the better single retriever's MRR@10 on every set and store (full sets)."""
    return all(
        (scores[f"{s}/{store}"][name]["full"]["over_best_single"] or 0) >= 1.0
        for s in ("spdx", *CHECK_SETS)
        for store in STORES
    )


def report_line(scores: dict[str, dict[str, Any]], name: str) -> str:
    cells = []
    for store in STORES:
        spdx = scores[f"spdx/{store}"][name]
        cells.append(
            f"{store}: tune {spdx['tune']['MRR@10']:.3f} ({spdx['tune']['over_best_single']:.3f}x)"
            f" held-out {spdx['held_out']['MRR@10']:.3f}"
            f" ({spdx['held_out']['over_best_single']:.3f}x)"
            f" full {spdx['full']['MRR@10']:.3f} ({spdx['full']['over_best_single']:.3f}x,"
            f" below {spdx['full']['questions_below_better_single']})"
        )
        for s in CHECK_SETS:
            f = scores[f"{s}/{store}"][name]["full"]
            cells.append(f"{s} {f['MRR@10']:.3f} ({f['over_best_single']:.3f}x)")
    return f"{name}\n    " + "\n    ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="fusion_choice.json")
    parser.add_argument("--show", type=int, default=10, help="how many of the best to print")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), load_average()
    fusions = grid()
    scores: dict[str, dict[str, Any]] = {}
    sources: dict[str, Any] = {}
    reaches: dict[str, Any] = {}
    for s in ("spdx", *CHECK_SETS):
        for store in STORES:
            path = CACHE / f"{s}-{store}.json"
            if not path.exists():
                raise SystemExit(f"{path}: missing; run spdx_eval.py --sets {s} --fusions")
            candidate_set = fusion_candidates.read(path)
            sources[f"{s}/{store}"] = {
                "questions": len(candidate_set.questions),
                "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime)),
            }
            scores[f"{s}/{store}"] = score_set(candidate_set, fusions)
            reaches[f"{s}/{store}"] = reach(candidate_set)
    ranking = choose(scores)
    chosen = ranking[0][0]
    print(f"load average {load_before} -> {load_average()}")
    print(f"best {args.show} on the SPDX tuning half (mean MRR@10 over both stores):")
    for name, mean in ranking[: args.show]:
        print(f"  {mean:.4f}  {name}  never below: {never_below(scores, name)}")
    for name in dict.fromkeys([DEFAULT, chosen]):
        print(("default: " if name == DEFAULT else "chosen: ") + report_line(scores, name))
    for key, found in reaches.items():
        print(f"reach {key}: {found}")
    passing = [name for name, _ in ranking if never_below(scores, name)]
    report = {
        "split": "SPDX questions with an even line (number in the sorted licence names) tune, "
        "odd ones are held out; the PDF sets are never tuned on",
        "criterion": "mean MRR@10 over pgvector and S3 Vectors on the tuning half",
        "default": DEFAULT,
        "chosen": chosen,
        "chosen_never_below": never_below(scores, chosen),
        "best_never_below": passing[0] if passing else None,
        "ranking_on_tune_half": [[n, round(m, 4)] for n, m in ranking],
        "sources": sources,
        "reach": reaches,
        "load_average": {"start": load_before, "end": load_average()},
        "seconds": round(time.perf_counter() - started, 1),
        "scores": scores,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    # One line per top-level key: every fusion's figures make an indented file 22,000 lines long.
    lines = (f" {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in report.items())
    (RESULTS / args.out).write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"written to benchmarks/results/{args.out}")


if __name__ == "__main__":
    main()

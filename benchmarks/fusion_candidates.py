"""Hybrid candidate lists kept on disk, so that fusions can be compared and chosen without
the store: ``spdx_eval.py --fusions`` fetches each question's two lists once
(``query_hybrid`` at the deepest depth a fusion may use) and writes them here with which
candidates are relevant; ``benchmarks/fusion_choice.py`` replays every fusion over them in
seconds.

A file is one set on one store: JSON ``{"set", "store", "depth", "vector_hits_scored",
"questions": [{"line", "question", "relevant": [chunk id], "by_vector": [[chunk id,
similarity, text rank]], "by_words": [...]}]}``. Chunks come back with their id only (no
text): a fusion sees ids, similarities and BM25 scores, which is all it may use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag_app.domain import Chunk, Hit
from rag_app.vectorstores.base import HybridCandidates

FOLDER = "fusion-candidates"


@dataclass(frozen=True, slots=True)
class QuestionCandidates:
    """One question's two lists (best first), as the store returned them at ``depth``."""

    line: int
    question: str
    relevant: frozenset[str]
    by_vector: list[tuple[str, float, float]]
    by_words: list[tuple[str, float, float]]

    def at_depth(self, depth: int, *, vector_hits_scored: bool) -> HybridCandidates:
        """The lists a store asked for ``depth`` candidates returns: each list's first
        ``depth`` (a store ranks the same way at any depth)."""
        return HybridCandidates(
            [_hit(c) for c in self.by_vector[:depth]],
            [_hit(c) for c in self.by_words[:depth]],
            depth=depth,
            vector_hits_scored=vector_hits_scored,
        )


@dataclass(frozen=True, slots=True)
class CandidateSet:
    name: str
    store: str
    depth: int
    vector_hits_scored: bool
    questions: list[QuestionCandidates]


def _hit(candidate: tuple[str, float, float]) -> Hit:
    chunk_id, similarity, text_rank = candidate
    document_id, _, number = chunk_id.rpartition("#")
    chunk = Chunk(document_id, int(number), "", 1, 0, 0, "", "")
    return Hit(chunk, similarity=similarity, text_rank=text_rank)


def _rows(hits: Sequence[Hit]) -> list[list[Any]]:
    return [[h.chunk.chunk_id, h.similarity, h.text_rank] for h in hits]


def record(
    line: int, question: str, candidates: HybridCandidates, relevant: set[str]
) -> dict[str, Any]:
    """One question's entry of a candidate file."""
    return {
        "line": line,
        "question": question,
        "relevant": sorted(relevant),
        "by_vector": _rows(candidates.by_vector),
        "by_words": _rows(candidates.by_words),
    }


def write(
    path: Path, name: str, store: str, depth: int, scored: bool, entries: list[dict[str, Any]]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "set": name,
        "store": store,
        "depth": depth,
        "vector_hits_scored": scored,
        "questions": entries,
    }
    path.write_text(json.dumps(document))


def read(path: Path) -> CandidateSet:
    value = json.loads(path.read_text())
    questions = [
        QuestionCandidates(
            q["line"],
            q["question"],
            frozenset(q["relevant"]),
            [(c, float(s), float(t)) for c, s, t in q["by_vector"]],
            [(c, float(s), float(t)) for c, s, t in q["by_words"]],
        )
        for q in value["questions"]
    ]
    return CandidateSet(
        value["set"], value["store"], value["depth"], value["vector_hits_scored"], questions
    )

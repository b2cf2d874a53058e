"""benchmarks/fusion_candidates.py keeps candidate lists on disk and
benchmarks/fusion_choice.py replays fusions over them: the lists come back as the store
returned them, cut to a depth, the split and the figures follow from the ranks, and the
replayed default scores what the service's own hybrid search scored."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from benchmarks import fusion_candidates, fusion_choice
from rag_app.domain import Chunk, Hit
from rag_app.retrieval.fusion import blend
from rag_app.vectorstores.base import HybridCandidates
from tests.conftest import ROOT
from tests.support.benchmarks import run_benchmark


def hit(document: str, no: int, similarity: float, text_rank: float = 0.0) -> Hit:
    return Hit(Chunk(document, no, "x", 1, 0, 1, "t", "c"), similarity, text_rank=text_rank)


def test_candidates_round_trip_and_cut_to_a_depth(tmp_path: Path) -> None:
    lists = HybridCandidates(
        [hit("a", 0, 0.9, 1.5), hit("b", 3, 0.8)],
        [hit("b#x", 1, 0.2, 7.0)],
        depth=100,
        vector_hits_scored=True,
    )
    path = tmp_path / "spdx-pgvector.json"
    entry = fusion_candidates.record(4, "MIT License", lists, {"b#3"})
    fusion_candidates.write(path, "spdx", "pgvector", 100, True, [entry])
    back = fusion_candidates.read(path)
    assert (back.name, back.store, back.depth, back.vector_hits_scored) == (
        "spdx", "pgvector", 100, True,
    )  # fmt: skip
    q = back.questions[0]
    assert (q.line, q.question, q.relevant) == (4, "MIT License", frozenset({"b#3"}))
    cut = q.at_depth(1, vector_hits_scored=True)
    assert [(h.chunk.chunk_id, h.similarity, h.text_rank) for h in cut.by_vector] == [
        ("a#0", 0.9, 1.5)
    ]
    # A document id holding '#' keeps it: the chunk number is after the last one.
    assert cut.by_words[0].chunk.document_id == "b#x"
    assert cut.depth == 1


def question(line: int, vector_first: bool) -> fusion_candidates.QuestionCandidates:
    """The target is first by meaning, or first by words (and third by meaning)."""
    by_vector = [("t#0", 0.9, 0.9), ("o#1", 0.5, 1.0), ("o#2", 0.4, 0.0)]
    by_words = [("o#1", 0.5, 1.0), ("t#0", 0.9, 0.9)]
    if not vector_first:
        by_vector = [("o#1", 0.9, 0.0), ("o#2", 0.8, 0.0), ("t#0", 0.7, 9.0)]
        by_words = [("t#0", 0.7, 9.0)]
    return fusion_candidates.QuestionCandidates(line, "q", frozenset({"t#0"}), by_vector, by_words)


def test_the_split_is_by_line_parity_and_figures_follow_the_ranks() -> None:
    qs = [question(1, True), question(2, False), question(3, False), question(4, True)]
    assert fusion_choice.halves(qs) == {"tune": [1, 3], "held_out": [0, 2], "full": [0, 1, 2, 3]}
    candidate_set = fusion_candidates.CandidateSet("spdx", "pgvector", 100, True, qs)
    scores = fusion_choice.score_set(candidate_set, fusion_choice.grid())
    # Vector search ranks the targets 1, 3, 3, 1; keyword search 2, 1, 1, 2.
    tune = scores["weighted 0.5 @40"]["tune"]
    assert (tune["n"], tune["vector"], tune["keyword"]) == (2, round((1 / 3 + 1) / 2, 4), 0.75)
    # weighted 0.5 puts the target first in all four questions.
    assert scores["weighted 0.5 @40"]["full"]["MRR@10"] == 1.0
    assert scores["weighted 0.5 @40"]["full"]["questions_below_better_single"] == 0
    # Vector search alone would rank the keyword-first targets 3rd: 2 questions below.
    assert scores["weighted 0.9 @40"]["full"]["questions_below_better_single"] == 2


def test_reach_counts_the_better_list_per_question_and_targets_found_by_neither() -> None:
    lost = fusion_candidates.QuestionCandidates(
        5, "q", frozenset({"t#0"}), [("o#1", 0.9, 0.0)], [("o#2", 0.1, 3.0)]
    )
    qs = [question(1, True), question(2, False), lost]
    found = fusion_choice.reach(fusion_candidates.CandidateSet("spdx", "s3vectors", 100, False, qs))
    assert found["full"] == {
        "better_single_per_question_MRR@10": round(2 / 3, 4),
        "target_in_neither_list_at_40": 1,
    }
    assert found["tune"]["target_in_neither_list_at_40"] == 0


@pytest.mark.slow
def test_the_kept_lists_replay_the_services_hybrid_figure() -> None:
    out = "fusion_replay_check.json"
    command = ["spdx_eval", "--quick", "--sets", "corpus-pdf", "--fusions"]
    report = run_benchmark(*command, "--out", out, out=out)
    folder = ROOT / "benchmarks" / ".cache" / (fusion_candidates.FOLDER + "-quick")
    default = {"weighted 0.75": functools.partial(blend, vector_weight=0.75)}
    for store in ("pgvector", "s3vectors"):
        kept = fusion_candidates.read(folder / f"corpus-pdf-{store}.json")
        assert (kept.name, kept.store, kept.depth) == ("corpus-pdf", store, 100)
        assert len(kept.questions) == 35
        assert kept.vector_hits_scored is (store == "pgvector")
        # Every question's target was found, so the relevant ids are known.
        assert all(q.relevant for q in kept.questions)
        replayed = fusion_choice.score_set(kept, default)["weighted 0.75 @40"]["full"]
        served = report["results"][store]["corpus-pdf"]["hybrid"]["MRR@10"]
        assert replayed["MRR@10"] == pytest.approx(served, abs=5e-4)

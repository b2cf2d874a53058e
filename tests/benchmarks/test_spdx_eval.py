"""benchmarks/spdx_eval.py --quick runs end to end (npm pack, both stores, both sets) and its
JSON holds figures that follow from its ranks, so the script cannot rot."""

from __future__ import annotations

import pytest

from rag_app.evaluation.metrics import Scores
from tests.support.benchmarks import run_benchmark


@pytest.mark.slow
def test_the_quick_run_writes_every_store_set_and_mode(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_benchmark("spdx_eval", "--quick", out="retrieval_quality.json")
    printed = capsys.readouterr().out
    assert report["versions"]["postgresql"].startswith("18")
    assert report["versions"]["pgvector"]
    assert report["parameters"]["chunk_size/overlap"] == [[1000, 150]]
    spdx = report["parameters"]["sets"]["spdx"]
    assert spdx["licences"] >= 700
    assert 50 <= spdx["documents"] <= 70
    assert spdx["questions"] >= 0.9 * spdx["documents"]
    for store in ("pgvector", "s3vectors"):
        for name in ("spdx", "corpus-pdf"):
            found = report["results"][store][name]
            assert found["chunks"] > 0
            for mode in ("hybrid", "vector", "keyword"):
                ranks = found["ranks"][mode]
                scores = Scores.of(ranks).as_dict()
                assert found[mode] == scores
                assert scores["n"] == report["parameters"]["sets"][name]["questions"]
            best = max(found["vector"]["MRR@10"], found["keyword"]["MRR@10"])
            assert found["hybrid_mrr_over_best_single"] == round(
                found["hybrid"]["MRR@10"] / best, 3
            )
            # Far above chance (5 of about 60 documents) in every mode.
            for mode in ("hybrid", "vector", "keyword"):
                assert found[mode]["hit@5"] > 0.3
            assert f"{name} on {store}" in printed

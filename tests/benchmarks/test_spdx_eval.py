"""benchmarks/spdx_eval.py --quick runs end to end (npm pack, both stores, both sets) and its
JSON holds figures that follow from its ranks, so the script cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag_app.evaluation.metrics import Scores
from tests.conftest import ROOT

OUT = ROOT / "benchmarks" / "results" / "quick" / "retrieval_quality.json"


@pytest.mark.slow
def test_the_quick_run_writes_every_store_set_and_mode() -> None:
    OUT.unlink(missing_ok=True)
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.spdx_eval", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(OUT.read_text())
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
            assert f"{name} on {store}" in run.stdout

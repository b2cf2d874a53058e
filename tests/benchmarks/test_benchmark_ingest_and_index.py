"""The ingest and index-build benchmarks run in their quick form, so they cannot rot: each
script runs in its own process and its JSON must hold the figures the README quotes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "benchmarks" / "results" / "quick"


def run_quick(script: str) -> dict[str, Any]:
    out = QUICK / f"{Path(script).stem}.json"
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{Path(script).stem}", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.with_suffix(".png").stat().st_size > 0
    result: dict[str, Any] = json.loads(out.read_text())
    assert {"platform", "cpu_count"} <= set(result["machine"])
    assert result["versions"]["pgvector"]
    assert result["versions"]["postgresql"]
    return result


@pytest.mark.slow
def test_the_ingest_benchmark_reports_both_pipelines_and_the_store_write() -> None:
    result = run_quick("ingest_vs_langchain.py")
    for pipeline in ("ours", "langchain"):
        figures = result[pipeline]
        assert figures["chunks"] > 0
        assert figures["median_chunks_per_second"] > 0
        assert set(figures["stage_shares"]) >= {"parse", "chunk", "embed", "write"}
    assert result["store_write"]["rows"] >= 1000  # the chunks ours wrote, as more documents
    ratios = result["ratios"]
    assert ratios["ours_vs_langchain_chunks_per_second"] > 0
    assert ratios["store_write_vs_raw_copy"] > 0
    assert ratios["bulk_store_write_vs_raw_copy"] > 0
    assert len(result["runs"]) == 2  # one round of each


@pytest.mark.slow
def test_the_index_build_benchmark_reports_builds_and_recall_per_candidate() -> None:
    result = run_quick("index_build.py")
    assert result["parameters"]["vectors"] == 5000
    builds = result["builds"]
    assert builds["postgres_defaults"]["maintenance_work_mem"] == "64MB"
    assert builds["project"]["seconds"] > 0
    assert result["ratios"]["project_vs_defaults_speedup"] > 0
    assert (result["candidates"][0]["m"], result["candidates"][0]["ef_construction"]) == (16, 64)
    for candidate in result["candidates"]:
        for ef in ("40", "100", "200"):
            assert 0 < candidate["search"][ef]["recall_at_10"] <= 1

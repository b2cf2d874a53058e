"""The ingest and index-build benchmarks run in their quick form, so they cannot rot: each
script runs in its own process and its JSON must hold the figures the README quotes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.benchmarks import QUICK, run_benchmark


def run_quick(script: str) -> dict[str, Any]:
    stem = Path(script).stem
    result = run_benchmark(stem, "--quick", out=f"{stem}.json", timeout=300)
    assert (QUICK / f"{stem}.png").stat().st_size > 0
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

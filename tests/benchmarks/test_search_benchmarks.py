"""The search benchmarks' reduced forms (--quick: 2,000 chunks), each run as a subprocess
as a user would run it, so the scripts cannot rot. Their JSON must hold every figure;
latency is never asserted, but correctness is: every /search answered with top_k hits, and
filtered queries on both stores return the full top_k."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.benchmarks import QUICK, run_benchmark

pytestmark = pytest.mark.slow


def run_quick(script: str, result: str) -> dict[str, Any]:
    data = run_benchmark(Path(script).stem, "--quick", out=result, timeout=600)
    for key in ("machine", "versions", "parameters"):
        assert data[key], key
    assert set(data["versions"]) >= {"rag_app", "postgresql", "pgvector", "python"}
    return data


def test_search_latency_quick_run_records_latency_ratios_recall_and_the_sweep() -> None:
    data = run_quick("search_latency.py", "search_latency.json")
    assert set(data["latency_ms"]) == {"1", "4", "16"}
    for clients, row in data["latency_ms"].items():
        assert "raw_sql" in row
        assert any(name.startswith("api_") for name in row)
        for name, q in row.items():
            assert q["n"] > 0, (clients, name)
            assert 0 < q["p50"] <= q["p95"] <= q["p99"], (clients, name, q)
        assert all(ratio > 0 for ratio in data["ratios"][clients].values())
    assert data["errors"] == 0, "a /search came back with an error or fewer than top_k hits"
    assert data["parameters"]["api_client"] == "streams"
    assert 0.5 < data["recall_at_10"] <= 1.0
    assert [s["ef_search"] for s in data["ef_search_sweep"]] == [40, 64, 100, 200, 300]
    assert {"m", "ef_construction", "ef_search"} <= set(data["hnsw"])
    assert data["query_embedding_ms"]["p50"] > 0
    assert set(data["store_query_ms"]) == {"one_round_trip", "five_round_trips"}
    assert (QUICK / "search_latency.png").stat().st_size > 1000


def test_filtered_search_quick_run_returns_the_full_top_k_on_both_stores() -> None:
    data = run_quick("filtered_search.py", "filtered_search.json")
    rows = {(r["store"], r["filter"]): r for r in data["rows"]}
    for store in ("pgvector store (the service)", "s3vectors (local server)"):
        for name in ("share_1pct", "share_5pct", "share_10pct"):
            row = rows[(store, name)]
            assert row["full_top_k_share"] == 1.0, row
            assert row["mean_results"] == 10, row
            assert row["recall_at_10"] > 0.9, row
            assert 0 < row["p50_ms"] <= row["p95_ms"], row
    assert set(data["plans"]) == {"none", "share_1pct", "share_5pct", "share_10pct"}


def test_recall_sweep_quick_run_reports_recall_and_latency_per_build_and_ef_search() -> None:
    data = run_quick("recall_sweep.py", "recall_sweep.json")
    assert data["chunks"] == 2000
    builds = [(b["m"], b["ef_construction"]) for b in data["builds"]]
    assert builds[0] == (data["defaults"]["m"], data["defaults"]["ef_construction"])
    for build in data["builds"]:
        assert build["build_seconds"] > 0
        for row in build["sweep"]:
            assert 0.5 < row["recall_at_10"] <= 1.0, (build["m"], row)
            assert 0 < row["raw_p50_ms"] <= row["raw_p95_ms"]

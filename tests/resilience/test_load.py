"""The load test's reduced form: a real `rag-app serve` process with authentication on and
the FAA rule ingested, 4 concurrent users doing search and ask for 15 s. The error rate is
a correctness property (every request answered, and answered right) and is asserted;
latency is printed, never asserted (benchmarks/load_test.py runs the full form)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.load_test import describe, run_load, serving

pytestmark = pytest.mark.slow


def test_concurrent_search_and_ask_on_a_real_server_make_no_errors(state_root: Path) -> None:
    with serving(state_root / "load-data", users=4, rate_limit_per_minute=1_000_000) as server:
        report = run_load(server, users=4, seconds=15)
    print("\n" + describe(report))
    assert report.total >= 8, "the load test barely ran"
    assert report.error_rate < 0.001, report.error_examples

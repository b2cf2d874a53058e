"""Benchmark scripts run as a user runs them: ``python -m benchmarks.<name> ...`` from the
repository root, in a process of their own, their JSON read back from
``benchmarks/results/quick``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.support.processes import ROOT

QUICK = ROOT / "benchmarks" / "results" / "quick"


def run_benchmark(module: str, *args: str, out: str, timeout: float = 1200) -> dict[str, Any]:
    """Run ``benchmarks.<module>`` with ``args`` and return the JSON it wrote to
    ``QUICK / out`` (removed first, so a stale file cannot pass). A non-zero exit fails the
    test with the tail of the script's output; its stdout is printed for ``pytest -s``."""
    result = QUICK / out
    result.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(done.stdout)
    data: dict[str, Any] = json.loads(result.read_text())
    return data

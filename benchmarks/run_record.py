"""What every search benchmark records next to its figures: the machine, the versions, the
percentiles, and where the JSON goes (benchmarks/results/, or results/quick/ for --quick)."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

from rag_app import __version__

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 1]."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "p50": round(percentile(samples_ms, 0.50), 2),
        "p95": round(percentile(samples_ms, 0.95), 2),
        "p99": round(percentile(samples_ms, 0.99), 2),
    }


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


async def versions(conn: AsyncConnection[Any]) -> dict[str, str]:
    server = await (await conn.execute("SHOW server_version")).fetchone()
    vector = await (
        await conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    ).fetchone()
    return {
        "rag_app": __version__,
        "postgresql": str(server[0]) if server else "?",
        "pgvector": str(vector[0]) if vector else "?",
        "python": platform.python_version(),
    }


def output_path(name: str, *, quick: bool) -> Path:
    folder = RESULTS / "quick" if quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def write_json(name: str, result: dict[str, Any], *, quick: bool) -> Path:
    path = output_path(name, quick=quick)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path

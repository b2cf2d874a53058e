"""How an HNSW index is built fast and safely: ``maintenance_work_mem`` sized to the graph
(a graph that outgrows it is finished on disk, many times slower; pgvector then logs
"hnsw graph no longer fits into maintenance_work_mem") and parallel workers for the cores,
but only on pgvector 0.8.2 or later: 0.6.0-0.8.1 have CVE-2026-3172, a buffer overflow in
parallel HNSW builds that can leak other relations' data or crash the server.

The settings last for the session that builds (``BUILD_SETTINGS`` in the pgvector store);
nothing else on the server changes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import psycopg

PARALLEL_SAFE_PGVECTOR = (0, 8, 2)
DEFAULT_M = 16  # pgvector's defaults, what an index created without options has
DEFAULT_EF_CONSTRUCTION = 64
POSTGRES_DEFAULT_MEMORY_MB = 64  # maintenance_work_mem out of the box
MIB = 1024 * 1024
# Memory per element beyond the vector and its 2m layer-0 neighbours (16 B each), measured on
# pgvector 0.8.6: 2,250 B per 384-d vector at m 16, 2,507 B at m 24, the same at 4-16 MB.
_ELEMENT_BYTES = 190
# The build's memory context grows in blocks, so a graph fills a limit that is not a power of
# two sooner than its bytes say (about 10% sooner at 6.7 MB).
HEADROOM = 1.25


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.8.6"`` -> ``(0, 8, 6)``; a suffix such as ``"0.8.1-dev"`` is ignored."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def graph_bytes(rows: int, dimension: int, m: int = DEFAULT_M) -> int:
    """pgvector's in-memory HNSW graph for ``rows`` vectors: each element's vector, its
    ``2m`` layer-0 neighbours and its bookkeeping (upper layers add under 1%). Checked
    against the server's own "no longer fits" notice in tests/retrieval/test_index_build.py."""
    return rows * (8 + 4 * dimension + 32 * m + _ELEMENT_BYTES)


@dataclass(frozen=True, slots=True)
class BuildPlan:
    memory_mb: int  # maintenance_work_mem for the build
    workers: int  # max_parallel_maintenance_workers (the leader works too)
    note: str  # why, in a sentence: `rag-app reindex` prints it

    def parameters(self) -> dict[str, str]:
        """The values for the store's BUILD_SETTINGS statement."""
        return {"memory": f"{self.memory_mb}MB", "workers": str(self.workers)}


def plan_build(
    *,
    rows: int,
    dimension: int,
    m: int,
    pgvector_version: str,
    max_memory_mb: int,
    workers: int,
) -> BuildPlan:
    """Memory for the whole graph with some headroom (never below PostgreSQL's default,
    never above ``max_memory_mb``), and ``workers`` parallel workers where that is safe."""
    needed = math.ceil(graph_bytes(rows, dimension, m) * HEADROOM / MIB)
    memory = max(POSTGRES_DEFAULT_MEMORY_MB, min(needed, max_memory_mb))
    notes = [f"graph ~{needed} MB for {rows:,} vectors of {dimension} dimensions (m {m})"]
    if needed > max_memory_mb:
        notes.append(f"capped at {max_memory_mb} MB (RAG_INDEX_BUILD_MEMORY_MB): part on disk")
    if version_tuple(pgvector_version) < PARALLEL_SAFE_PGVECTOR:
        workers = 0
        notes.append(f"no parallel workers: pgvector {pgvector_version} < 0.8.2 (CVE-2026-3172)")
    else:
        notes.append(f"{workers} parallel worker(s)")
    return BuildPlan(memory_mb=memory, workers=workers, note="; ".join(notes))


async def pgvector_version(conn: psycopg.AsyncConnection[Any]) -> str:
    row = await (
        await conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    ).fetchone()
    return str(row[0]) if row else "none"


async def index_m(conn: psycopg.AsyncConnection[Any], index: str) -> int:
    """The ``m`` an HNSW index was created with (pgvector's default when not given)."""
    row = await (
        await conn.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", (index,))
    ).fetchone()
    options = row[0] if row and row[0] else []
    for option in options:
        name, _, value = str(option).partition("=")
        if name == "m":
            return int(value)
    return DEFAULT_M

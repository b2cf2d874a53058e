"""Recall@10 of the pgvector HNSW index against exact search, and the query's p95, for
several index builds (m, ef_construction) and search breadths (ef_search), on real legal
text: the search benchmarks' corpus (benchmarks/search_corpus.py: 20-word windows of the
corpus PDFs and the SPDX licence texts, real MiniLM vectors, cached), loaded through the
store's bulk write (``vectorstores.bulk``).

The exact top 10 comes from the same SELECT with the index off. Each build is the
store's DDL with other options; the row with the service's defaults is marked. Prints a
table and the load average; writes benchmarks/results/recall_sweep.json.

    .venv/bin/python -m benchmarks.recall_sweep [--chunks 20000] [--queries 200] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from benchmarks.run_record import machine, versions, write_json
from benchmarks.search_corpus import TABLE, WINDOW_WORDS, load_corpus, load_pgvector
from benchmarks.search_latency import ef_sweep, exact_neighbours
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.settings import Settings

# (m, ef_construction): the store's build first (CREATE_TABLE in vectorstores/pgvector.py).
BUILDS = [(16, 128), (16, 256), (32, 128)]
EF_SEARCHES = [100, 200, 300, 400, 800]


def rebuild(url: str, m: int, ef_construction: int) -> float:
    """Drop the HNSW index and build it again with these options; returns seconds."""
    index = sql.Identifier(f"{TABLE}_hnsw")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(index))
        started = time.perf_counter()
        conn.execute(
            sql.SQL(
                "CREATE INDEX {} ON {} USING hnsw (embedding vector_cosine_ops) "
                "WITH (m = {}, ef_construction = {})"
            ).format(index, sql.Identifier(TABLE), m, ef_construction)
        )
        seconds = time.perf_counter() - started
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(TABLE)))
    return seconds


async def run(
    chunks: int, queries: int, root: Path, indexes: list[tuple[int, int]], efs: list[int]
) -> dict[str, Any]:
    corpus = await load_corpus(chunks, queries=queries)
    cluster = EmbeddedPostgres(root / "pg")
    url = cluster.start().url
    default_ef = Settings.model_fields["hnsw_ef_search"].default
    try:
        loaded = await load_pgvector(url, corpus)
        async with await psycopg.AsyncConnection.connect(url) as conn:
            found_versions = await versions(conn)
        exact = await exact_neighbours(url, corpus.query_vectors)
        builds = []
        for m, ef_construction in indexes:
            seconds = rebuild(url, m, ef_construction)
            print(f"m {m}, ef_construction {ef_construction}: built in {seconds:.1f} s", flush=True)
            sweep = await ef_sweep(url, corpus, exact, efs)
            builds.append(
                {
                    "m": m,
                    "ef_construction": ef_construction,
                    "build_seconds": round(seconds, 1),
                    "sweep": sweep,
                }
            )
    finally:
        cluster.stop()
    return {
        "versions": found_versions,
        "parameters": {
            "builds (m, ef_construction)": indexes,
            "ef_search": efs,
            "top_k": 10,
            "corpus": f"{WINDOW_WORDS}-word windows, MiniLM int8 ONNX vectors",
        },
        "chunks": len(corpus),
        "queries": len(corpus.queries),
        "source": corpus.source,
        "load": loaded,
        "defaults": {"m": BUILDS[0][0], "ef_construction": BUILDS[0][1], "ef_search": default_ef},
        "builds": builds,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def table(result: dict[str, Any]) -> str:
    defaults = result["defaults"]
    lines = [
        f"{result['chunks']} chunks, {result['queries']} queries; recall@10 (raw SQL p95 ms, "
        "1 client); * = the service's defaults",
        f"{'m':>3} {'ef_c':>5} {'build s':>8} "
        + " ".join(f"{'ef ' + str(ef):>16}" for ef in result["parameters"]["ef_search"]),
    ]
    for b in result["builds"]:
        cells = []
        for s in b["sweep"]:
            mark = (
                "*"
                if (b["m"], b["ef_construction"], s["ef_search"])
                == (defaults["m"], defaults["ef_construction"], defaults["ef_search"])
                else " "
            )
            cells.append(f"{mark}{s['recall_at_10']:.3f} ({s['raw_p95_ms']:5.1f})".rjust(16))
        head = f"{b['m']:>3} {b['ef_construction']:>5} {b['build_seconds']:>8} "
        lines.append(head + " ".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="2,000 chunks, 30 queries")
    parser.add_argument(
        "--builds", default=",".join(f"{m}x{c}" for m, c in BUILDS), help="m x ef_construction"
    )
    parser.add_argument("--ef-search", default=",".join(map(str, EF_SEARCHES)))
    args = parser.parse_args()
    builds = [(int(m), int(c)) for m, c in (b.split("x") for b in args.builds.split(","))]
    efs = [int(ef) for ef in args.ef_search.split(",")]
    chunks, queries = (2_000, 30) if args.quick else (args.chunks, args.queries)
    at_start = machine()
    root = Path(tempfile.mkdtemp(prefix="rag-bench-recall-"))
    root.chmod(0o755)  # as root, the embedded PostgreSQL's own user must reach it
    try:
        result = asyncio.run(run(chunks, queries, root, builds, efs))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(table(result))
    print(
        f"load average at start {at_start['load_average_at_start']}, "
        f"at end {result['load_average_at_end']}"
    )
    name = "recall_sweep.json" if args.quick or chunks == 20_000 else f"recall_sweep_{chunks}.json"
    out = write_json(name, {"machine": at_start, **result}, quick=args.quick)
    print(f"written to {out}")


if __name__ == "__main__":
    main()

"""HNSW build time on N vectors with the project's build settings (``rag-app reindex``:
maintenance_work_mem sized to the graph, parallel workers for the cores where pgvector is
>= 0.8.2) vs PostgreSQL's defaults (maintenance_work_mem 64MB, max_parallel_maintenance_workers
2), then m / ef_construction candidates on build time and recall@10 against exact search at
ef_search 40 / 100 / 200.

The vectors: real MiniLM embeddings of the corpus's text windows, spread to N by mixing
two windows and adding noise (then normalised), cached under benchmarks/.cache/. Queries
are held out: drawn the same way, never inserted. Bulk load is a binary COPY, the index is
built after it, as pgvector recommends.

    .venv/bin/python -m benchmarks.index_build [--vectors N] [--queries N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray
from pgvector.psycopg import register_vector

from rag_app import __version__
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.ingest.pdf import extract_pages
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.postgres.index_build import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_M,
    POSTGRES_DEFAULT_MEMORY_MB,
    plan_build,
)
from rag_app.settings import Settings
from rag_app.vectorstores.pgvector import BUILD_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
CACHE = ROOT / "benchmarks" / ".cache"
RESULTS = ROOT / "benchmarks" / "results"
WINDOW_CHARS = 300
CANDIDATES = [(16, 64), (16, 128), (24, 128)]
EF_SEARCH = [40, 100, 200]
TOP_K = 10
NOT_FITTING = "no longer fits into maintenance_work_mem"
CREATE_INDEX = (
    "CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_cosine_ops)"
    " WITH (m = {m}, ef_construction = {ef})"
)


def window_vectors(limit: int | None) -> NDArray[np.float32]:
    """MiniLM embeddings of consecutive WINDOW_CHARS windows of every corpus page."""
    texts = [
        page.text[i : i + WINDOW_CHARS]
        for f in sorted(CORPUS.glob("*.pdf"))
        for page in extract_pages(f.read_bytes(), max_pages=10_000)
        for i in range(0, len(page.text), WINDOW_CHARS)
        if len(page.text[i : i + WINDOW_CHARS].strip()) > 40
    ][:limit]
    path = CACHE / f"minilm_windows_{WINDOW_CHARS}_{len(texts)}.npy"
    if path.exists():
        return np.load(path)
    vectors = asyncio.run(MiniLmOnnxEmbedder().embed_batch(texts))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def spread(base: NDArray[np.float32], n: int, seed: int) -> NDArray[np.float32]:
    """``n`` unit vectors near the real ones: a random mix of two windows plus noise."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0, 1, (n, 1)).astype(np.float32)
    noise = rng.standard_normal((n, base.shape[1])).astype(np.float32)
    noise *= 0.35 / np.linalg.norm(noise, axis=1, keepdims=True)
    v = w * base[a] + (1 - w) * base[b] + noise
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def contrast(vectors: NDArray[np.float32], queries: NDArray[np.float32]) -> dict[str, float]:
    """How hard the data is for an ANN index: the mean cosine similarity of the queries'
    1st, 10th and 100th nearest vectors (close together: many near-ties, lower recall)."""
    similarities = -np.sort(-(queries @ vectors.T), axis=1)
    return {f"at_{k}": round(float(similarities[:, k - 1].mean()), 3) for k in (1, 10, 100)}


def load(conn: psycopg.Connection[Any], vectors: NDArray[np.float32]) -> float:
    conn.execute("DROP TABLE IF EXISTS items")
    conn.execute(
        f"CREATE TABLE items (id integer PRIMARY KEY, embedding vector({vectors.shape[1]}))"
    )
    started = time.perf_counter()
    with conn.cursor().copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "vector"])
        for i, v in enumerate(vectors):
            copy.write_row((i, v))
    conn.execute("ANALYZE items")
    return time.perf_counter() - started


def build(
    conn: psycopg.Connection[Any], parameters: dict[str, str], m: int, ef: int
) -> dict[str, Any]:
    """Build the index with the store's BUILD_SETTINGS; the seconds and whether it spilled."""
    notices: list[str] = []
    handler = lambda d: notices.append(str(d.message_primary))  # noqa: E731
    conn.add_notice_handler(handler)
    try:
        conn.execute("DROP INDEX IF EXISTS items_hnsw")
        conn.execute(BUILD_SETTINGS, parameters)
        settings = conn.execute(
            "SELECT current_setting('maintenance_work_mem'),"
            " current_setting('max_parallel_maintenance_workers')"
        ).fetchone()
        started = time.perf_counter()
        conn.execute(CREATE_INDEX.format(m=int(m), ef=int(ef)))
        seconds = time.perf_counter() - started
    finally:
        conn.remove_notice_handler(handler)
    size = conn.execute("SELECT pg_relation_size('items_hnsw')").fetchone()
    return {
        "seconds": round(seconds, 2),
        "maintenance_work_mem": settings and settings[0],
        "max_parallel_maintenance_workers": settings and int(settings[1]),
        "spilled_to_disk": any(NOT_FITTING in n for n in notices),
        "index_mb": round((size[0] if size else 0) / 2**20, 1),
    }


def nearest(conn: psycopg.Connection[Any], query: NDArray[np.float32], *sets: str) -> list[int]:
    with conn.transaction():
        for statement in sets:
            conn.execute(statement)
        rows = conn.execute(
            "SELECT id FROM items ORDER BY embedding <=> %s LIMIT %s", (query, TOP_K)
        ).fetchall()
    return [r[0] for r in rows]


def recall(
    conn: psycopg.Connection[Any], queries: NDArray[np.float32], exact: list[list[int]]
) -> dict[str, dict[str, float]]:
    out = {}
    for ef in EF_SEARCH:
        found, latencies = 0, []
        for q, truth in zip(queries, exact, strict=True):
            started = time.perf_counter()
            ids = nearest(conn, q, f"SET LOCAL hnsw.ef_search = {ef}")
            latencies.append((time.perf_counter() - started) * 1000)
            found += len(set(ids) & set(truth))
        out[str(ef)] = {
            "recall_at_10": round(found / (TOP_K * len(queries)), 4),
            "query_ms_p50": round(statistics.median(latencies), 2),
        }
    return out


def versions(conn: psycopg.Connection[Any]) -> dict[str, str]:
    row = conn.execute(
        "SELECT current_setting('server_version'),"
        " (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
    ).fetchone()
    assert row is not None
    return {
        "rag_app": __version__,
        "python": platform.python_version(),
        "postgresql": row[0],
        "pgvector": row[1],
    }


def run(n: int, n_queries: int, windows: int | None, root: Path) -> dict[str, Any]:
    base = window_vectors(windows)
    vectors, queries = spread(base, n, seed=1), spread(base, n_queries, seed=2)
    settings = Settings(data_dir=root)
    cluster = EmbeddedPostgres(root / "postgres")
    url = cluster.start().url
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(conn)
            found = versions(conn)
            load_s = load(conn, vectors)
            exact = [nearest(conn, q, "SET LOCAL enable_indexscan = off") for q in queries]
            plan = plan_build(
                rows=n,
                dimension=vectors.shape[1],
                m=DEFAULT_M,
                pgvector_version=found["pgvector"],
                max_memory_mb=settings.index_build_memory_mb,
                workers=settings.index_build_workers,
            )
            defaults = {"memory": f"{POSTGRES_DEFAULT_MEMORY_MB}MB", "workers": "2"}  # PostgreSQL's
            serial = dataclasses.replace(plan, workers=0)  # memory alone, no parallelism
            builds = {
                "postgres_defaults": build(conn, defaults, DEFAULT_M, DEFAULT_EF_CONSTRUCTION),
                "project_memory_only": build(
                    conn, serial.parameters(), DEFAULT_M, DEFAULT_EF_CONSTRUCTION
                ),
                "project": build(conn, plan.parameters(), DEFAULT_M, DEFAULT_EF_CONSTRUCTION),
            }
            print(f"build settings: {plan.note}")
            for name, b in builds.items():
                print(
                    f"  {name:<18} {b['seconds']:>7.1f} s  spilled to disk: {b['spilled_to_disk']}"
                )
            candidates = []
            for m, ef in CANDIDATES:
                if (m, ef) == (DEFAULT_M, DEFAULT_EF_CONSTRUCTION):
                    built = builds["project"]  # the index in place: the last one built
                else:
                    memory = plan_build(
                        rows=n, dimension=vectors.shape[1], m=m,
                        pgvector_version=found["pgvector"],
                        max_memory_mb=settings.index_build_memory_mb,
                        workers=settings.index_build_workers,
                    )  # fmt: skip
                    built = build(conn, memory.parameters(), m, ef)
                candidates.append(
                    {"m": m, "ef_construction": ef, **built, "search": recall(conn, queries, exact)}
                )
                print(f"  m {m:>2} ef_construction {ef:>3}: {built['seconds']:.1f} s")
    finally:
        cluster.stop()
    return {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "versions": found,
        "parameters": {
            "vectors": n,
            "dimension": int(vectors.shape[1]),
            "queries": n_queries,
            "base_windows": len(base),
            "vectors_from": f"MiniLM embeddings of {WINDOW_CHARS}-char corpus windows, "
            "mixed in pairs plus noise (norm 0.35), normalised",
            "query_neighbour_similarity": contrast(vectors, queries),
            "load_seconds_binary_copy": round(load_s, 2),
            "plan": plan.note,
        },
        "builds": builds,
        "ratios": {
            "project_vs_defaults_speedup": round(
                builds["postgres_defaults"]["seconds"] / builds["project"]["seconds"], 2
            ),
            "memory_only_vs_defaults_speedup": round(
                builds["postgres_defaults"]["seconds"] / builds["project_memory_only"]["seconds"],
                2,
            ),
        },
        "candidates": candidates,
    }


def print_table(result: dict[str, Any]) -> None:
    b, r, p = result["builds"], result["ratios"], result["parameters"]
    print(f"\nHNSW build, {p['vectors']:,} x {p['dimension']} (m 16, ef_construction 64):")
    for name, built in b.items():
        print(
            f"  {name:<20}{built['seconds']:>7.1f} s  maintenance_work_mem "
            f"{built['maintenance_work_mem']:>6}, {built['max_parallel_maintenance_workers']} "
            f"worker(s), spilled to disk: {built['spilled_to_disk']}"
        )
    print(
        f"  project settings: {r['project_vs_defaults_speedup']:.2f}x faster than the defaults "
        f"(memory alone: {r['memory_only_vs_defaults_speedup']:.2f}x); "
        f"query neighbour similarity {p['query_neighbour_similarity']}"
    )
    header = "".join(f"{'recall@10 ef ' + str(ef):>18}" for ef in EF_SEARCH)
    print(f"{'m':>3}{'ef_c':>6}{'build s':>9}{'MB':>7}{header}")
    for c in result["candidates"]:
        found = [c["search"][str(ef)] for ef in EF_SEARCH]
        cells = "".join(f"{f['recall_at_10']:>10.3f} ({f['query_ms_p50']:>4.1f} ms)" for f in found)
        print(
            f"{c['m']:>3}{c['ef_construction']:>6}{c['seconds']:>9.1f}{c['index_mb']:>7.1f}{cells}"
        )


def plot(result: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    b = result["builds"]
    left.bar(
        ["PostgreSQL\ndefaults", "project memory,\nno workers", "project\nsettings"],
        [b[k]["seconds"] for k in ("postgres_defaults", "project_memory_only", "project")],
        color=["#bbbbbb", "#8fb8d0", "#2a6f97"],
    )
    left.set_title(f"HNSW build, {result['parameters']['vectors']:,} vectors (s)")
    for c in result["candidates"]:
        right.plot(
            [c["seconds"]] * len(EF_SEARCH),
            [c["search"][str(ef)]["recall_at_10"] for ef in EF_SEARCH],
            marker="o",
            label=f"m {c['m']}, ef_c {c['ef_construction']}",
        )
    right.set_xlabel("build seconds")
    right.set_ylabel("recall@10 (ef_search 40 / 100 / 200)")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="5,000 vectors, 50 queries")
    args = parser.parse_args()
    out_dir, windows = RESULTS, None
    if args.quick:
        args.vectors, args.queries, windows = 5_000, 50, 120
        out_dir = RESULTS / "quick"
    out_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="rag-bench-index-"))
    root.chmod(0o755)  # the embedded PostgreSQL's own user must reach it when run as root
    try:
        result = run(args.vectors, args.queries, windows, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_table(result)
    out = out_dir / "index_build.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out.with_suffix(".png"))
    print(f"written to {out} (+ .png)")


if __name__ == "__main__":
    main()

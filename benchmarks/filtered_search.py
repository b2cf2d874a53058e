"""Filtered search on both stores: does a filter matching 1 %, 5 % or 10 % of the chunks
still return the full top_k? Per store and selectivity: the share of queries returning
top_k hits, the mean number of hits, p50/p95 latency, and recall@10 against the exact
filtered top 10. Prints a table; writes benchmarks/results/filtered_search.json.

    flock /tmp/bench.lock nice -n 0 .venv/bin/python -m benchmarks.filtered_search [--quick]

Both stores are queried through their own ``VectorStore.query`` (what /search calls) with a
metadata filter held by that share of chunks (search_corpus.SHARES). pgvector: the service's
table and HNSW index on the embedded PostgreSQL, with its iterative index scans; next to it,
as the peer the iterative scans replace, the same SQL with ``hnsw.iterative_scan = off``.
S3 Vectors: the project's local server through the real boto3 client, on the first
--s3-chunks chunks (its writes go through HTTP 500 vectors at a time, and it answers every
query exactly, by brute force: the behaviour of an ENHANCED index, which filters first).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.config import Config
from numpy.typing import NDArray
from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from benchmarks.run_record import machine, percentile, versions, write_json
from benchmarks.search_corpus import (
    CHUNKS_PER_DOCUMENT,
    SHARES,
    TABLE,
    Corpus,
    load_corpus,
    load_pgvector,
    load_store,
    share_flags,
)
from rag_app.domain import Hit
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.postgres.pool import open_pool
from rag_app.settings import Settings
from rag_app.vectorstores.pgvector import QUERY, PgVectorStore
from rag_app.vectorstores.s3vectors import S3VectorsStore
from rag_app_dev.s3vectors_local import LocalS3Vectors

Search = Callable[[NDArray[np.float32], dict[str, Any]], Awaitable[list[float]]]
TOP_K = 10
DIMENSION = 384
EF_SEARCH = Settings.model_fields["hnsw_ef_search"].default


def exact_top(
    vectors: NDArray[np.float32], mask: NDArray[np.bool_], query: NDArray[np.float32]
) -> list[float]:
    """Cosine distances of the true top 10 among the chunks ``mask`` selects."""
    distances = 1.0 - vectors[mask] @ query
    return sorted(float(d) for d in np.partition(distances, TOP_K)[:TOP_K])


def recall(hits: Sequence[float], truth: Sequence[float]) -> float:
    """Share of the true top 10 found, by distance: a hit as close as the 10th true
    neighbour counts (ties; vectors are unit length so distances are exact enough)."""
    return sum(1 for d in hits[:TOP_K] if d <= truth[-1] + 1e-5) / TOP_K


async def measure(
    name: str,
    corpus: Corpus,
    n_chunks: int,
    queries: int,
    search: Search,
) -> list[dict[str, Any]]:
    """``search(vector, filters)`` returns the hits' cosine distances, best first."""
    vectors = corpus.vectors[:n_chunks]
    flags = [share_flags(i) for i in range(n_chunks)]
    rows = []
    for key in (None, *SHARES):
        filters = {key: True} if key else {}
        mask = np.array([key is None or f[key] for f in flags])
        for q in corpus.query_vectors[:3]:  # warm-up
            await search(q, filters)
        counts, latencies, recalls = [], [], []
        for i in range(queries):
            q = corpus.query_vectors[i % len(corpus.query_vectors)]
            started = time.perf_counter()
            distances = await search(q, filters)
            latencies.append((time.perf_counter() - started) * 1000)
            counts.append(len(distances))
            recalls.append(recall(distances, exact_top(vectors, mask, q)))
        rows.append(
            {
                "store": name,
                "filter": key or "none",
                "selectivity": round(float(mask.mean()), 4),
                "matching_chunks": int(mask.sum()),
                "queries": queries,
                "full_top_k_share": round(sum(c == TOP_K for c in counts) / queries, 4),
                "mean_results": round(statistics.mean(counts), 2),
                "p50_ms": round(percentile(latencies, 0.5), 2),
                "p95_ms": round(percentile(latencies, 0.95), 2),
                "recall_at_10": round(statistics.mean(recalls), 4),
            }
        )
        print(f"  {rows[-1]}", flush=True)
    return rows


def distances(hits: list[Hit]) -> list[float]:
    return [1.0 - h.similarity for h in hits]


async def plans(url: str, vector: NDArray[np.float32]) -> dict[str, str]:
    """The plan PostgreSQL picks for each filter: HNSW index scan or a full scan."""
    from pgvector.psycopg import register_vector_async

    out = {}
    async with await AsyncConnection.connect(url) as conn:
        await register_vector_async(conn)
        for key in (None, *SHARES):
            condition = sql.SQL("metadata @> %(m)s") if key else sql.SQL("TRUE")
            statement = sql.SQL("EXPLAIN (FORMAT JSON) " + QUERY).format(
                table=sql.Identifier(TABLE), conditions=condition
            )
            params = {"vector": vector, "top_k": TOP_K, "m": Jsonb({key: True} if key else {})}
            (plan,) = await (await conn.execute(statement, params)).fetchone() or [[]]

            def scans(node: dict[str, Any]) -> list[str]:
                found = [f"{node['Node Type']} {node.get('Index Name', '')}".strip()]
                return found + [s for child in node.get("Plans", []) for s in scans(child)]

            out[key or "none"] = " / ".join(s for s in scans(plan[0]["Plan"]) if "Scan" in s)
    return out


async def pgvector_rows(url: str, corpus: Corpus, queries: int) -> list[dict[str, Any]]:
    pool = await open_pool(url, max_size=2)
    try:
        store = PgVectorStore(pool, table=TABLE, dimension=DIMENSION, ef_search=EF_SEARCH)

        async def service(vector: NDArray[np.float32], filters: dict[str, Any]) -> list[float]:
            return distances(await store.query(vector, top_k=TOP_K, filters=filters))

        rows = await measure("pgvector store (the service)", corpus, len(corpus), queries, service)
        statement = sql.SQL(QUERY).format(
            table=sql.Identifier(TABLE), conditions=sql.SQL("metadata @> %(m)s")
        )

        def raw_sql(iterative: str, force_index: bool) -> Search:
            async def search(vector: NDArray[np.float32], filters: dict[str, Any]) -> list[float]:
                async with pool.connection() as conn, conn.transaction():
                    await conn.execute(
                        sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(EF_SEARCH))
                    )
                    await conn.execute(
                        sql.SQL("SET LOCAL hnsw.iterative_scan = {}").format(sql.Literal(iterative))
                    )
                    if force_index:
                        await conn.execute("SET LOCAL enable_seqscan = off")
                    cursor = await conn.execute(
                        statement, {"vector": vector, "top_k": TOP_K, "m": Jsonb(filters)}
                    )
                    return [1.0 - float(r[-1]) for r in await cursor.fetchall()]

            return search

        # What the planner's choice hides: the HNSW index on every filter, with and without
        # iterative scans (the latter is the peer the iterative scans replace).
        for label, iterative in (("strict_order", "strict_order"), ("off (peer)", "off")):
            rows += await measure(
                f"pgvector, index forced, iterative {label}",
                corpus,
                len(corpus),
                queries,
                raw_sql(iterative, force_index=True),
            )
    finally:
        await pool.close()
    return rows


async def s3vectors_rows(
    corpus: Corpus, n_chunks: int, queries: int, root: Path
) -> list[dict[str, Any]]:
    with LocalS3Vectors() as server:
        client = boto3.client(
            "s3vectors",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"mode": "standard"}),
        )
        store = S3VectorsStore(client, bucket="bench", index="chunks-384", dimension=DIMENSION)
        await store.create()
        print(f"loading {n_chunks} chunks into the local S3 Vectors server ...", flush=True)
        load_s = await load_store(store, corpus.head(n_chunks))
        print(f"  {load_s:.1f} s", flush=True)

        async def service(vector: NDArray[np.float32], filters: dict[str, Any]) -> list[float]:
            return distances(await store.query(vector, top_k=TOP_K, filters=filters))

        return await measure("s3vectors (local server)", corpus, n_chunks, queries, service)


async def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    corpus = await load_corpus(args.chunks, queries=args.corpus_queries, spdx=not args.quick)
    cluster = EmbeddedPostgres(root / "pg")
    url = cluster.start().url
    try:
        async with await AsyncConnection.connect(url) as conn:
            record_versions = await versions(conn)
        print(f"loading {len(corpus)} chunks into pgvector ...", flush=True)
        load = await load_pgvector(url, corpus)
        print(f"  {load}", flush=True)
        plan = await plans(url, corpus.query_vectors[0])
        rows = await pgvector_rows(url, corpus, args.queries)
    finally:
        cluster.stop()
    rows += await s3vectors_rows(corpus, args.s3_chunks, args.queries, root)
    return {
        "benchmark": "filtered_search",
        "machine": machine(),
        "versions": record_versions,
        "parameters": {
            "chunks_pgvector": len(corpus),
            "chunks_s3vectors": args.s3_chunks,
            "corpus": corpus.source,
            "queries_per_row": args.queries,
            "top_k": TOP_K,
            "filters": {k: f"metadata {k} = true on {v:.0%} of chunks" for k, v in SHARES.items()},
            "pgvector": "HNSW as the store creates it (m=16, ef_construction=128), "
            f"ef_search {EF_SEARCH}, "
            "hnsw.iterative_scan = strict_order, hnsw.max_scan_tuples default (20,000)",
            "s3vectors": "local server (exact, filters before ranking: ENHANCED-like)",
            "documents_of": CHUNKS_PER_DOCUMENT,
        },
        "load": load,
        "plans": plan,
        "rows": rows,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{'store':<46} {'filter':<12} {'share':>6} {'full k':>7} {'mean':>5} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'recall':>6}"
    ]
    for r in result["rows"]:
        lines.append(
            f"{r['store']:<46} {r['filter']:<12} {r['selectivity']:>6.1%} "
            f"{r['full_top_k_share']:>7.1%} {r['mean_results']:>5.1f} {r['p50_ms']:>7.2f} "
            f"{r['p95_ms']:>7.2f} {r['recall_at_10']:>6.3f}"
        )
    lines += [f"plan ({k}): {v}" for k, v in result["plans"].items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 chunks, 20 queries per row")
    parser.add_argument("--s3-chunks", type=int, default=None)
    args = parser.parse_args()
    args.chunks = 2_000 if args.quick else 100_000
    args.corpus_queries = 30 if args.quick else 400
    args.queries = 20 if args.quick else 100
    args.s3_chunks = min(args.chunks, args.s3_chunks or (2_000 if args.quick else 20_000))
    root = Path(tempfile.mkdtemp(prefix="rag-bench-filtered-"))
    root.chmod(0o755)  # as root, the embedded PostgreSQL's own user must reach it
    try:
        result = asyncio.run(run(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(table(result))
    out = write_json("filtered_search.json", result, quick=args.quick)
    print(f"written to {out}")


if __name__ == "__main__":
    main()

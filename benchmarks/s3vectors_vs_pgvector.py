"""S3 Vectors (the local server) next to pgvector (embedded PostgreSQL) in one run, on the
same chunks and vectors: API calls per 1,000 chunks ingested, and query latency.

The corpus's chunks are embedded once; the stores are then written directly, so the
figures are the stores' own. Writes: (a) the corpus as its real documents (repeated to pass
1,000 chunks), (b) one 1,000-chunk document. Queries: top_k 5 with and without a filter.

    .venv/bin/python benchmarks/s3vectors_vs_pgvector.py [--queries N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.config import Config

from benchmarks.run_record import percentile
from rag_app.domain import Chunk
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.ingest.chunking import chunk_pages
from rag_app.ingest.pdf import extract_pages
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.postgres.pool import open_pool
from rag_app.vectorstores.base import VectorStore
from rag_app.vectorstores.pgvector import PgVectorStore
from rag_app.vectorstores.s3vectors import S3VectorsStore
from rag_app_dev.s3vectors_local import LocalS3Vectors

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
REPEATS = 10


def documents(files: list[Path]) -> list[tuple[str, list[Chunk]]]:
    docs = []
    for copy in range(REPEATS):
        for n, f in enumerate(files):
            doc_id = f"doc-{copy}-{n}"
            spans = chunk_pages(
                extract_pages(f.read_bytes(), max_pages=10_000), max_chars=1000, overlap=150
            )
            docs.append(
                (
                    doc_id,
                    [
                        Chunk(
                            doc_id,
                            i,
                            s.text,
                            s.page,
                            s.char_start,
                            s.char_end,
                            f.name,
                            f"c{copy % 3}",
                            {"source": f.stem[:40]},
                        )
                        for i, s in enumerate(spans)
                    ],
                )
            )
    return docs


async def measure(
    store: VectorStore,
    docs: list[tuple[str, list[Chunk]]],
    vectors: dict[str, np.ndarray],
    big: tuple[str, list[Chunk], np.ndarray],
    queries: np.ndarray,
    n: int,
    calls: Callable[[], int],
) -> dict[str, Any]:
    """Write and query timings; ``calls`` counts the store's API calls so far."""
    before = calls()
    t = time.perf_counter()
    for doc_id, chunks in docs:
        await store.upsert_document(doc_id, chunks, vectors[doc_id])
    corpus_s = time.perf_counter() - t
    corpus_calls = calls() - before
    chunks_total = sum(len(c) for _, c in docs)
    before = calls()
    await store.upsert_document(big[0], big[1], big[2])
    big_calls = calls() - before
    latencies: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    for i in range(n):
        for name, filters in (("unfiltered", {}), ("filtered", {"collection": "c1"})):
            t = time.perf_counter()
            await store.query(queries[i % len(queries)], top_k=5, filters=filters)
            latencies[name].append((time.perf_counter() - t) * 1000)
    return {
        "chunks": chunks_total,
        "documents": len(docs),
        "write_seconds": round(corpus_s, 2),
        "chunks_per_second": round(chunks_total / corpus_s, 1),
        "calls_per_1000_chunks_corpus": round(corpus_calls * 1000 / chunks_total, 1),
        "calls_for_one_1000_chunk_document": big_calls,
        **{
            f"query_{k}_ms": {
                "p50": round(percentile(v, 0.5), 2),
                "p95": round(percentile(v, 0.95), 2),
            }
            for k, v in latencies.items()
        },
    }


async def run(n_queries: int, root: Path) -> dict[str, Any]:
    files = sorted(CORPUS.glob("*.pdf"))
    docs = documents(files)
    embedder = MiniLmOnnxEmbedder()
    unique = {c.text for _, cs in docs for c in cs}
    texts = sorted(unique)
    table = dict(zip(texts, await embedder.embed_batch(texts), strict=True))
    vectors = {d: np.stack([table[c.text] for c in cs]) for d, cs in docs}
    rng = np.random.default_rng(0)
    big_vectors = rng.normal(size=(1000, 384)).astype(np.float32)
    big_chunks = [Chunk("big", i, f"passage {i}", 1, 0, 10, "big", "c9", {}) for i in range(1000)]
    queries = await embedder.embed_batch(
        [
            "how many work-hours does the AOA sensor system test take",
            "What did the petitioner argue?",
            "background checks November 2015",
            "district director salary",
            "polling place for the precinct",
        ]
    )
    results: dict[str, Any] = {}
    with LocalS3Vectors() as server:
        client = boto3.client(
            "s3vectors",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"mode": "standard"}),
        )
        s3 = S3VectorsStore(client, bucket="bench", index="chunks-384", dimension=384)
        await s3.create()
        results["s3vectors_local"] = await measure(
            s3,
            docs,
            vectors,
            ("big", big_chunks, big_vectors),
            queries,
            n_queries,
            lambda: sum(server.faults.calls.values()),
        )
    cluster = EmbeddedPostgres(root / "pg")
    url = cluster.start().url
    try:
        pool = await open_pool(url)
        pg = PgVectorStore(pool, table="chunks_bench_384", dimension=384)
        await pg.create()
        results["pgvector_embedded"] = await measure(
            pg,
            docs,
            vectors,
            ("big", big_chunks, big_vectors),
            queries,
            n_queries,
            lambda: 0,  # no API calls to count: one transaction per document
        )
        results["pgvector_embedded"]["calls_per_1000_chunks_corpus"] = (
            "n/a: one transaction (DELETE + COPY) per document"
        )
        results["pgvector_embedded"]["calls_for_one_1000_chunk_document"] = "n/a"
        await pool.close()
    finally:
        cluster.stop()
    return {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "parameters": {
            "queries": n_queries,
            "corpus_repeats": REPEATS,
            "dimension": 384,
            "search": "S3 Vectors local server: exact; pgvector: HNSW ef_search 100",
        },
        **results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    root.chmod(0o755)  # as root, the embedded PostgreSQL's own user must reach it
    try:
        result = asyncio.run(run(args.queries, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "s3vectors_vs_pgvector.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()

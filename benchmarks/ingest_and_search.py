"""Ingest ../shared/corpus/pdf/ through the real pipeline on a fresh embedded PostgreSQL, then
time /search-equivalent queries. Prints pages/s, chunks/s, the share of time per stage, and
search p50/p95; writes the figures to benchmarks/results/ingest_and_search.json.

    .venv/bin/python -m benchmarks.ingest_and_search [--corpus DIR] [--queries N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.run_record import percentile
from rag_app import __version__
from rag_app.ingest.chunking import chunk_pages
from rag_app.ingest.pdf import extract_pages
from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "how many work-hours does the AOA sensor system test take",
    "What did the petitioner argue?",
    "How many background checks were there in November 2015?",
    "Who is the district director and what is the salary?",
    "Which airplane models does the proposed airworthiness directive apply to?",
    "When is the comment deadline for the proposed rule?",
    "What is the estimated cost on U.S. operators?",
    "Where is the polling place for the precinct?",
]


async def run(files: list[Path], root: Path, n_queries: int) -> dict[str, object]:
    try:
        settings = Settings(data_dir=root / "data")
        async with open_services(settings, run_jobs=False) as services:
            # Stage costs, measured on the same files outside the pipeline.
            t = time.perf_counter()
            parsed = [extract_pages(f.read_bytes(), max_pages=10_000) for f in files]
            parse_s = time.perf_counter() - t
            texts = [
                c.text
                for pages in parsed
                for c in chunk_pages(
                    pages, max_chars=settings.chunk_size, overlap=settings.chunk_overlap
                )
            ]
            t = time.perf_counter()
            await services.embedder.embed_batch(texts)
            embed_s = time.perf_counter() - t

            t = time.perf_counter()
            for f in files:
                sub = await services.ingestion.submit(Upload(f.name, f.read_bytes()))
                await services.ingestion.run_job(sub.job_id)
            ingest_s = time.perf_counter() - t
            pages = sum(len(p) for p in parsed)
            chunks = await services.store.count({})

            for q in QUESTIONS:  # warm-up
                await services.queries.search(q, top_k=5, filters={})
            latencies = []
            for i in range(n_queries):
                t = time.perf_counter()
                await services.queries.search(QUESTIONS[i % len(QUESTIONS)], top_k=5, filters={})
                latencies.append((time.perf_counter() - t) * 1000)
            vector_only = []
            query_vectors = await services.embedder.embed_batch(QUESTIONS)
            for i in range(n_queries):
                t = time.perf_counter()
                await services.store.query(query_vectors[i % len(QUESTIONS)], top_k=20, filters={})
                vector_only.append((time.perf_counter() - t) * 1000)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": __import__("os").cpu_count(),
            "platform": platform.platform(),
        },
        "rag_app": __version__,
        "parameters": {
            "files": len(files),
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "queries": n_queries,
            "embedder": "all-MiniLM-L6-v2 int8 ONNX, 2 threads",
        },
        "pages": pages,
        "chunks": chunks,
        "ingest_seconds": round(ingest_s, 2),
        "pages_per_second": round(pages / ingest_s, 2),
        "chunks_per_second": round(chunks / ingest_s, 2),
        "stage_seconds": {"parse": round(parse_s, 3), "embed": round(embed_s, 2)},
        "embed_share_of_ingest": round(embed_s / ingest_s, 2),
        "search_ms": {
            "p50": round(percentile(latencies, 0.5), 2),
            "p95": round(percentile(latencies, 0.95), 2),
        },
        "store_query_ms": {
            "p50": round(percentile(vector_only, 0.5), 2),
            "p95": round(percentile(vector_only, 0.95), 2),
        },
        "search_mean_ms": round(statistics.mean(latencies), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "pdf")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.pdf"))
    root = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    root.chmod(0o755)  # the embedded PostgreSQL's own user must reach it when run as root
    result = asyncio.run(run(files, root, args.queries))
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "ingest_and_search.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()

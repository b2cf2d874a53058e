"""The memory of one API process serving search over S3 Vectors with 100k chunks.

A synthetic corpus (1,000 documents x 100 chunks of 150 words drawn Zipf-like from a
20,000-word vocabulary, 3,000 distinct texts; random unit vectors of the local embedder's
dimension) is written into the project's local S3 Vectors server, which runs in this
process, in the service's record layout (and into the service's own keyword index, in a
version that keeps one); the catalog is an embedded PostgreSQL, another process. Then
``rag-app serve`` starts as its own process on that data, and its resident memory (VmRSS,
and the peak VmHWM, from /proc) is read when ready and after 20 hybrid and 5 keyword
searches (which is when a process that keeps a keyword index of its own loads it).

Run it on any checkout of the project (the store is built the way that checkout builds it):

    .venv/bin/python benchmarks/api_memory_s3vectors.py [--documents 1000] [--label after]

and with ``PYTHONPATH=<another checkout>`` to measure that one (e.g. the version before
the in-process BM25 index was removed). Figures go to
benchmarks/results/api_memory_s3vectors.json under the label.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

import rag_app
from rag_app.aws.clients import AwsClients
from rag_app.domain import Chunk
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.settings import Settings
from rag_app.vectorstores import backends as vectorstores
from rag_app.vectorstores.records import chunk_metadata
from rag_app.vectorstores.s3vectors import S3VectorsStore
from rag_app_dev.s3vectors_local import LocalS3Vectors

CHUNKS_PER_DOCUMENT = 100
WORDS_PER_CHUNK = 150
VOCABULARY = 20_000
TEXTS = 3_000  # distinct chunk texts, reused (each chunk still has its own postings)
RESULTS = Path(__file__).parent / "results" / "api_memory_s3vectors.json"
QUERIES = [
    "termination of the lease for breach",
    "w17 w230 w4012",
    "indemnification obligations of the seller",
    "w5 w99 w1200 w15000",
]


def memory_kib(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


async def load(server: LocalS3Vectors, settings: Settings, documents: int, seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(VOCABULARY)])
    weights = 1.0 / np.arange(1, VOCABULARY + 1)
    weights /= weights.sum()
    store = vectorstores.build(
        settings,
        AwsClients(settings),
        pool=None,
        model_id=MiniLmOnnxEmbedder.model_id,
        dimension=MiniLmOnnxEmbedder.dimension,
    )
    assert isinstance(store, S3VectorsStore)
    await store.create()
    started = time.perf_counter()
    texts = [" ".join(rng.choice(words, size=WORDS_PER_CHUNK, p=weights)) for _ in range(TEXTS)]
    for d in range(documents):
        document_id = f"doc-{d:05d}"
        chunks = []
        for n in range(CHUNKS_PER_DOCUMENT):
            text = texts[(d * CHUNKS_PER_DOCUMENT + n * 7) % TEXTS]
            chunks.append(
                Chunk(document_id, n, text, 1 + n // 3, 0, len(text), f"Doc {d}", "default")
            )
        vectors = rng.standard_normal((CHUNKS_PER_DOCUMENT, MiniLmOnnxEmbedder.dimension))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        # What upsert_document writes, handed to the in-process server directly: through
        # HTTP the load takes hours on a shared 2-core machine, and the API process's memory
        # does not depend on how the vectors got there.
        records = [
            {"key": c.chunk_id, "data": {"float32": v.tolist()}, "metadata": chunk_metadata(c)}
            for c, v in zip(chunks, vectors.astype(np.float32), strict=True)
        ]
        server.state.PutVectors(
            {"vectorBucketName": settings.s3vectors_bucket, "indexName": store.index_name,
             "vectors": records}
        )  # fmt: skip
        keywords = getattr(store, "_keywords", None)  # the in-process BM25 index, if any
        if keywords is not None:  # (versions before it was removed; run from their checkout)
            await keywords.put_document(document_id, chunks)
        if d % 100 == 99:
            print(f"  {d + 1} documents", flush=True)
    return time.perf_counter() - started


def get(url: str, body: dict[str, Any] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the local API only
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        response.read()
        return int(response.status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--label", default="current")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rag-memory-"))
    root.chmod(0o755)
    cluster = EmbeddedPostgres(root / "pg")
    url = cluster.start().url
    try:
        with LocalS3Vectors() as server:
            env = {
                "AWS_ENDPOINT_URL_S3VECTORS": server.endpoint_url,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
                "RAG_VECTOR_STORE": "s3vectors",
                "RAG_S3VECTORS_BUCKET": "memory-bench",
                "RAG_DATA_DIR": str(root / "data"),
                "RAG_DATABASE_URL": url,
                "RAG_PORT": str(args.port),
                # The local server searches 100k vectors exactly, in Python, on a busy machine.
                "RAG_AWS_TIMEOUT_SECONDS": "300",
            }
            os.environ.update(env)
            settings = Settings()
            print(f"loading {args.documents * CHUNKS_PER_DOCUMENT:,} chunks ...", flush=True)
            load_s = asyncio.run(load(server, settings, args.documents))
            print(f"  {load_s:.0f} s", flush=True)
            api = subprocess.Popen(
                [sys.executable, "-c", "from rag_app.cli import main; main()", "serve"],
                env={**os.environ, **env},
            )
            try:
                base = f"http://127.0.0.1:{args.port}"
                deadline = time.monotonic() + 300
                while True:
                    try:
                        if get(f"{base}/health/ready") == 200:
                            break
                    except OSError:
                        pass
                    if time.monotonic() > deadline or api.poll() is not None:
                        raise SystemExit("the API did not become ready")
                    time.sleep(0.5)
                ready = memory_kib(api.pid)
                timings = []
                for i in range(25):
                    mode = "keyword" if i >= 20 else "hybrid"
                    t = time.perf_counter()
                    get(f"{base}/search", {"query": QUERIES[i % 4], "top_k": 10, "mode": mode})
                    timings.append(time.perf_counter() - t)
                searched = memory_kib(api.pid)
            finally:
                api.terminate()
                api.wait(timeout=60)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    figures = {
        "chunks": args.documents * CHUNKS_PER_DOCUMENT,
        "rag_app": str(Path(rag_app.__file__).parent),
        "load_seconds": round(load_s, 1),
        "rss_mib_ready": round(ready["VmRSS"] / 1024, 1),
        "rss_mib_after_searches": round(searched["VmRSS"] / 1024, 1),
        "peak_rss_mib": round(searched["VmHWM"] / 1024, 1),
        "first_search_seconds": round(timings[0], 2),
        "median_search_seconds": round(float(np.median(timings[1:])), 3),
    }
    print(json.dumps(figures, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    report[args.label] = figures
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()

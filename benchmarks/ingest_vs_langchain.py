"""PDF -> chunks -> MiniLM embeddings -> pgvector, through (a) this service's ingest path and
(b) LangChain's pipeline (PyPDFLoader, RecursiveCharacterTextSplitter, langchain-postgres
PGVector, its older store that batches inserts), in alternating runs on the same embedded
PostgreSQL, with the same embedding model instance and batch size; then (c) the store write
alone: ``PgVectorStore.upsert_document`` and its bulk path ``upsert_documents`` vs a raw
binary COPY of the same chunks and vectors (pgvector-python's bulk load, the floor), with
one commit in all and with one per document,
on at least 1,000 rows (the chunks of the last run, repeated as more documents).

(a) is what a user waits for: every upload submitted, then the background job runner until
the last job is done (parse in the sandboxed child, chunk, embed, index, catalog updates).
(b) runs the same stages per file, as ``PGVector.add_texts`` does them (embed, then
``add_embeddings``). Both write into a fresh table with the same HNSW index (cosine, m 16,
ef_construction 64) each run. Per-stage times come from the job's own log record for (a).

With ``--torch-python``, a third pipeline takes its turn each round: LangChain's usual
local stack on PyTorch (``HuggingFaceEmbeddings``, sentence-transformers, its own model
copy), run by benchmarks/langchain_torch_peer.py in that Python's virtualenv: ours against
it is the own-embedder comparison; ours against (b) the same-embedder one.

    .venv/bin/python -m benchmarks.ingest_vs_langchain [--repeat N] [--rounds N] [--quick]
        [--torch-python /work/peer-venv/bin/python]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio.from_thread
import anyio.to_thread
import numpy as np
import psycopg
from numpy.typing import NDArray
from pgvector.psycopg import register_vector_async
from psycopg import sql
from psycopg.types.json import Jsonb

from rag_app import __version__
from rag_app.domain import Chunk, DocumentStatus
from rag_app.embedders.base import Embedder
from rag_app.ingest.chunking import chunk_pages
from rag_app.ingest.pdf import extract_pages
from rag_app.ingest.service import Upload
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.services import Services, open_services
from rag_app.settings import Settings
from rag_app.vectorstores.base import index_name
from rag_app.vectorstores.pgvector import COPY_ROWS, COPY_TYPES, PgVectorStore

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
RESULTS = ROOT / "benchmarks" / "results"
PEER_TABLES = ("langchain_pg_embedding", "langchain_pg_collection")
PEER_HNSW = (
    "CREATE INDEX langchain_pg_embedding_hnsw ON langchain_pg_embedding"
    " USING hnsw (embedding vector_cosine_ops)"
)
GOAL_END_TO_END = 1.5  # own embedders: ours against LangChain on PyTorch
GOAL_SAME_EMBEDDER = 1.2  # one embedder instance shared by both pipelines
GOAL_STORE_WRITE = 0.7
WRITE_ROWS = 1000  # at least this many rows in the store-write comparison


@dataclass
class Run:
    pipeline: str
    seconds: float
    chunks: int
    pages: int
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds


class StageLog(logging.Handler):
    """Collects the ``stage_seconds`` every finished ingest job logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.jobs: list[dict[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        seconds = getattr(record, "stage_seconds", None)
        if isinstance(seconds, dict):
            self.jobs.append(seconds)


def documents(files: list[Path], repeat: int, tag: str) -> list[tuple[str, Path]]:
    """(document id, file): each copy of the corpus under its own ids."""
    return [(f"{tag}-{copy}-{n}", f) for copy in range(repeat) for n, f in enumerate(files)]


async def sql_run(url: str, *statements: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for statement in statements:
            await conn.execute(statement)  # type: ignore[arg-type]


# --- (a) ours ---------------------------------------------------------------------------


def chunk_seconds(files: list[Path], settings: Settings) -> float:
    """Chunking alone (the job times parse and chunk together, in the extractor)."""
    pages = [extract_pages(f.read_bytes(), max_pages=settings.max_pages) for f in files]
    started = time.perf_counter()
    for p in pages:
        chunk_pages(p, max_chars=settings.chunk_size, overlap=settings.chunk_overlap)
    return time.perf_counter() - started


async def ours_run(
    services: Services, url: str, docs: list[tuple[str, Path]], stages: StageLog, pages: int
) -> Run:
    table = index_name(services.embedder.model_id, services.embedder.dimension)
    await sql_run(url, f"DROP TABLE IF EXISTS {table}", "TRUNCATE rag_documents, rag_jobs")
    await services.store.create()
    uploads = [Upload(f.name, f.read_bytes(), document_id=doc_id) for doc_id, f in docs]
    stages.jobs.clear()
    started = time.perf_counter()
    for upload in uploads:
        await services.ingestion.submit(upload)
    assert services.worker is not None  # RAG_INGEST_WORKERS: this process runs the jobs
    await services.worker.idle()
    seconds = time.perf_counter() - started
    for doc_id, f in docs:
        document = await services.catalog.get_document(doc_id)
        if document is None or document.status is not DocumentStatus.READY:
            raise RuntimeError(f"{f.name} was not ingested: {document and document.error}")
    totals = {k: sum(job[k] for job in stages.jobs) for k in ("extract", "embed", "index")}
    return Run(
        "ours",
        seconds,
        await services.store.count({}),
        pages,
        {"extract": totals["extract"], "embed": totals["embed"], "write": totals["index"]},
    )


# --- (b) the LangChain peer ---------------------------------------------------------------


def langchain_embeddings(embedder: Embedder) -> Any:
    """A LangChain ``Embeddings`` over our embedder instance (same model, same batch size):
    the peer embeds exactly as we do; the difference is everything around it."""
    from langchain_core.embeddings import Embeddings

    class MiniLmEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            vectors = anyio.from_thread.run(embedder.embed_batch, texts)
            return vectors.tolist()  # type: ignore[no-any-return]

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    return MiniLmEmbeddings()


def peer_run(url: str, embeddings: Any, docs: list[tuple[str, Path]], settings: Settings) -> Run:
    """Runs in a worker thread (LangChain's PGVector here is synchronous)."""
    from langchain_community.document_loaders import PyPDFLoader
    from langchain_postgres.vectorstores import PGVector
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(PEER_TABLES)} CASCADE")
    store = PGVector(
        embeddings=embeddings,
        connection=url.replace("postgresql://", "postgresql+psycopg://", 1),
        collection_name="bench",
        embedding_length=384,
        use_jsonb=True,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PEER_HNSW)  # the same index ours maintains while it writes
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
    )
    stage = dict.fromkeys(("parse", "chunk", "embed", "write"), 0.0)
    chunks = pages = 0
    started = time.perf_counter()
    for doc_id, f in docs:
        t0 = time.perf_counter()
        loaded = PyPDFLoader(str(f)).load()
        t1 = time.perf_counter()
        split = splitter.split_documents(loaded)
        t2 = time.perf_counter()
        texts = [d.page_content for d in split]
        vectors = embeddings.embed_documents(texts)
        t3 = time.perf_counter()
        store.add_embeddings(texts, vectors, [{**d.metadata, "document_id": doc_id} for d in split])
        t4 = time.perf_counter()
        for name, seconds in zip(stage, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stage[name] += seconds
        chunks += len(split)
        pages += len(loaded)
    seconds = time.perf_counter() - started
    store._engine.dispose()  # no public close; leaves no idle connections behind
    return Run("langchain", seconds, chunks, pages, stage)


class TorchPeer:
    """benchmarks/langchain_torch_peer.py in its own virtualenv's Python, model loaded once;
    ``run`` is one round of LangChain's usual local pipeline on PyTorch."""

    def __init__(self, python: Path) -> None:
        script = Path(__file__).with_name("langchain_torch_peer.py")
        self._process = subprocess.Popen(
            [str(python), str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.ready: dict[str, Any] = self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the PyTorch peer exited ({self._process.wait()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def run(self, url: str, docs: list[tuple[str, Path]], settings: Settings) -> Run:
        assert self._process.stdin is not None
        request = {
            "url": url,
            "docs": [[doc_id, str(f)] for doc_id, f in docs],
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
        }
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        found = self._answer()
        return Run(
            "langchain-torch",
            found["seconds"],
            found["chunks"],
            found["pages"],
            found["stage_seconds"],
        )

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=60)


# --- (c) store write vs raw COPY ----------------------------------------------------------


async def store_write_seconds(
    url: str,
    written: list[tuple[list[Chunk], NDArray[np.float32]]],
    dimension: int,
    *,
    bulk: bool = False,
) -> float:
    """Our store's write alone: a fresh table (with its HNSW index), then
    ``upsert_document`` per document (or, ``bulk``, one ``upsert_documents`` for them all),
    timed inside those calls only."""
    from rag_app.postgres.pool import open_pool

    pool = await open_pool(url, max_size=2)
    try:
        await sql_run(url, "DROP TABLE IF EXISTS bench_write_ours")
        store = PgVectorStore(pool, table="bench_write_ours", dimension=dimension)
        await store.create()
        started = time.perf_counter()
        if bulk:
            await store.upsert_documents([(c[0].document_id, c, v) for c, v in written])
        else:
            for chunks, vectors in written:
                await store.upsert_document(chunks[0].document_id, chunks, vectors)
        return time.perf_counter() - started
    finally:
        await pool.close()


async def raw_copy_seconds(
    url: str, written: list[tuple[list[Chunk], NDArray[np.float32]]], *, per_document: bool
) -> float:
    """pgvector-python's bulk load: binary COPY into a table of the same shape and HNSW
    index, with no delete; one COPY and commit for every row (the floor), or one per
    document (the transactions our per-document atomic replace needs)."""
    await sql_run(
        url,
        "DROP TABLE IF EXISTS bench_write_copy",
        "CREATE TABLE bench_write_copy (LIKE bench_write_ours INCLUDING ALL)",
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await register_vector_async(conn)
        copy_sql = sql.SQL(COPY_ROWS).format(table=sql.Identifier("bench_write_copy"))
        batches = [[w] for w in written] if per_document else [written]
        started = time.perf_counter()
        for batch in batches:
            async with conn.cursor().copy(copy_sql) as copy:
                copy.set_types(COPY_TYPES)
                for chunks, vectors in batch:
                    for c, v in zip(chunks, vectors, strict=True):
                        await copy.write_row(
                            (
                                c.chunk_id, c.document_id, c.chunk_no, c.collection, c.title,
                                c.page, c.char_start, c.char_end, c.text,
                                Jsonb(dict(c.metadata)), v, c.ocr, c.start_s, c.end_s,
                            )
                        )  # fmt: skip
            await conn.commit()
        return time.perf_counter() - started


# --- the run ------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def shares(runs: list[Run]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for run in runs:
        for name, seconds in run.stage_seconds.items():
            totals[name] = totals.get(name, 0.0) + seconds
    wall = sum(r.seconds for r in runs)
    out = {name: round(seconds / wall, 3) for name, seconds in totals.items()}
    out["other"] = round(max(0.0, 1 - sum(out.values())), 3)
    return out


async def versions(url: str) -> dict[str, str]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        server = await (await conn.execute("SHOW server_version")).fetchone()
        vector = await (
            await conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        ).fetchone()
    return {
        "rag_app": __version__,
        "python": platform.python_version(),
        "postgresql": str(server and server[0]),
        "pgvector": str(vector and vector[0]),
        **{
            name: version(name)
            for name in (
                "langchain-postgres", "langchain-core", "langchain-community",
                "langchain-text-splitters", "pypdf", "pypdfium2", "onnxruntime",
                "psycopg", "pgvector", "sqlalchemy",
            )
        },
    }  # fmt: skip


async def run(
    files: list[Path], root: Path, repeat: int, rounds: int, torch_python: Path | None = None
) -> dict[str, Any]:
    cluster = EmbeddedPostgres(root / "data" / "postgres")
    url = (await anyio.to_thread.run_sync(cluster.start)).url
    stages = StageLog()
    service_log = logging.getLogger("rag_app.ingest.jobs")
    service_log.addHandler(stages)
    service_log.setLevel(logging.INFO)
    try:
        settings = Settings(data_dir=root / "data", database_url=url)
        async with open_services(settings) as services:
            embedder = services.embedder
            embeddings = langchain_embeddings(embedder)
            pages = sum(len(extract_pages(f.read_bytes(), max_pages=10_000)) for f in files)
            await embedder.embed_batch(["warm-up"] * 4)
            ours: list[Run] = []
            peer: list[Run] = []
            torch_peer = TorchPeer(torch_python) if torch_python else None
            torch_runs: list[Run] = []
            try:
                for n in range(rounds):  # the pipelines take turns, each round
                    docs = documents(files, repeat, f"r{n}")
                    ours.append(await ours_run(services, url, docs, stages, pages * repeat))
                    peer.append(
                        await anyio.to_thread.run_sync(peer_run, url, embeddings, docs, settings)
                    )
                    line = (
                        f"round {n + 1}: ours {ours[-1].chunks_per_second:.1f} chunks/s, "
                        f"langchain (our embedder) {peer[-1].chunks_per_second:.1f} chunks/s"
                    )
                    if torch_peer is not None:
                        torch_runs.append(
                            await anyio.to_thread.run_sync(torch_peer.run, url, docs, settings)
                        )
                        line += f", langchain on PyTorch {torch_runs[-1].chunks_per_second:.1f}"
                    print(f"{line}; load average {os.getloadavg()[0]:.1f}", flush=True)
            finally:
                if torch_peer is not None:
                    torch_peer.close()
            per_chunk = chunk_seconds(files, settings) * repeat
            for r in ours:  # split the extractor's time into parse and chunk
                r.stage_seconds = {
                    "parse": r.stage_seconds["extract"] - per_chunk,
                    "chunk": per_chunk,
                    "embed": r.stage_seconds["embed"],
                    "write": r.stage_seconds["write"],
                }
            # The chunks and vectors the last run of ours wrote, as more documents (new ids)
            # up to WRITE_ROWS rows: a few hundred rows are too few to time a write.
            last = [
                await services.store.read_document(doc_id)
                for doc_id, _ in documents(files, repeat, f"r{rounds - 1}")
            ]
            copies = max(1, -(-WRITE_ROWS // sum(len(c) for c, _ in last)))
            written = [
                ([dataclasses.replace(c, document_id=f"{c.document_id}-w{k}") for c in chunks], v)
                for k in range(copies)
                for chunks, v in last
            ]
            rows = sum(len(c) for c, _ in written)
            write_ours: list[float] = []
            write_bulk: list[float] = []
            write_copy: list[float] = []
            write_copy_per_doc: list[float] = []
            for _ in range(max(rounds, 3)):
                write_ours.append(await store_write_seconds(url, written, embedder.dimension))
                write_bulk.append(
                    await store_write_seconds(url, written, embedder.dimension, bulk=True)
                )
                write_copy.append(await raw_copy_seconds(url, written, per_document=False))
                write_copy_per_doc.append(await raw_copy_seconds(url, written, per_document=True))
            found = await versions(url)
    finally:
        service_log.removeHandler(stages)
        await anyio.to_thread.run_sync(cluster.stop)
    ours_cps = median([r.chunks_per_second for r in ours])
    peer_cps = median([r.chunks_per_second for r in peer])
    ours_pps = median([r.pages / r.seconds for r in ours])
    peer_pps = median([r.pages / r.seconds for r in peer])
    ours_rps = rows / median(write_ours)
    bulk_rps = rows / median(write_bulk)
    copy_rps = rows / median(write_copy)
    copy_per_doc_rps = rows / median(write_copy_per_doc)
    torch_found = torch_summary(ours, torch_runs, torch_peer) if torch_peer else None
    # Amdahl: with the same model, ours cannot beat the peer by more than the peer's whole
    # time over our embedding time alone.
    embed_bound = median([r.seconds for r in peer]) / median(
        [r.stage_seconds["embed"] for r in ours]
    )
    return {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "versions": found,
        "parameters": {
            "corpus": [f.name for f in files],
            "repeat": repeat,
            "rounds": rounds,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "embedder": (
                f"{embedder.model_id} on {settings.embed_runtime}, "
                f"batch {settings.embed_batch_size}, 2 threads"
            ),
            "ingest_concurrency": settings.ingest_concurrency,
            "hnsw": "cosine, m 16, ef_construction 64 (pgvector defaults) on both tables",
        },
        "runs": [
            {**asdict(r), "chunks_per_second": round(r.chunks_per_second, 2)} for r in ours + peer
        ],
        "ours": {
            "chunks": ours[-1].chunks,
            "pages": ours[-1].pages,
            "median_chunks_per_second": round(ours_cps, 2),
            "median_pages_per_second": round(ours_pps, 2),
            "stage_shares": shares(ours),
        },
        "langchain": {
            "chunks": peer[-1].chunks,
            "pages": peer[-1].pages,
            "median_chunks_per_second": round(peer_cps, 2),
            "median_pages_per_second": round(peer_pps, 2),
            "stage_shares": shares(peer),
        },
        **({"langchain_torch": torch_found} if torch_found else {}),
        "store_write": {
            "rows": rows,
            "documents": len(written),
            "ours_seconds": [round(s, 4) for s in write_ours],
            "ours_bulk_seconds": [round(s, 4) for s in write_bulk],
            "raw_copy_seconds": [round(s, 4) for s in write_copy],
            "raw_copy_per_document_seconds": [round(s, 4) for s in write_copy_per_doc],
            "ours_rows_per_second": round(ours_rps, 1),
            "ours_bulk_rows_per_second": round(bulk_rps, 1),
            "raw_copy_rows_per_second": round(copy_rps, 1),
            "raw_copy_per_document_rows_per_second": round(copy_per_doc_rps, 1),
        },
        "ratios": {
            "ours_vs_langchain_chunks_per_second": round(ours_cps / peer_cps, 3),
            "ours_vs_langchain_pages_per_second": round(ours_pps / peer_pps, 3),
            "store_write_vs_raw_copy": round(ours_rps / copy_rps, 3),
            "bulk_store_write_vs_raw_copy": round(bulk_rps / copy_rps, 3),
            "store_write_vs_raw_copy_per_document": round(ours_rps / copy_per_doc_rps, 3),
            "ceiling_with_same_model": round(embed_bound, 3),
        },
        "goals": {
            "ours_vs_langchain": GOAL_SAME_EMBEDDER,
            "ours_vs_langchain_on_pytorch": GOAL_END_TO_END,
            "store_write_vs_raw_copy": GOAL_STORE_WRITE,
        },
    }


def torch_summary(ours: list[Run], runs: list[Run], peer: TorchPeer) -> dict[str, Any]:
    """The PyTorch peer's medians and its same-run ratios against ours (own embedders)."""
    cps = median([r.chunks_per_second for r in runs])
    pps = median([r.pages / r.seconds for r in runs])
    return {
        "chunks": runs[-1].chunks,
        "pages": runs[-1].pages,
        "median_chunks_per_second": round(cps, 2),
        "median_pages_per_second": round(pps, 2),
        "stage_shares": shares(runs),
        "runs": [{**asdict(r), "chunks_per_second": round(r.chunks_per_second, 2)} for r in runs],
        "peer": {k: v for k, v in peer.ready.items() if k != "ready"},
        "ours_vs_langchain_torch_chunks_per_second": round(
            median([r.chunks_per_second for r in ours]) / cps, 3
        ),
        "ours_vs_langchain_torch_pages_per_second": round(
            median([r.pages / r.seconds for r in ours]) / pps, 3
        ),
    }


def print_table(result: dict[str, Any]) -> None:
    o, p, w, r = result["ours"], result["langchain"], result["store_write"], result["ratios"]
    print(f"\n{'pipeline':<12}{'chunks':>8}{'chunks/s':>10}{'pages/s':>9}  stage shares")
    t = result.get("langchain_torch")
    rows = [("ours", o), ("langchain", p)] + ([("lc-torch", t)] if t else [])
    for name, row in rows:
        stages = ", ".join(f"{k} {v:.0%}" for k, v in row["stage_shares"].items())
        print(
            f"{name:<12}{row['chunks']:>8}{row['median_chunks_per_second']:>10.1f}"
            f"{row['median_pages_per_second']:>9.2f}  {stages}"
        )
    print(
        f"\nratio ours/langchain: {r['ours_vs_langchain_chunks_per_second']:.2f}x chunks/s, "
        f"{r['ours_vs_langchain_pages_per_second']:.2f}x pages/s (goal {GOAL_SAME_EMBEDDER}x; "
        f"ceiling with the same model {r['ceiling_with_same_model']:.2f}x)"
    )
    if t:
        print(
            f"ratio ours/langchain on PyTorch (own embedders): "
            f"{t['ours_vs_langchain_torch_chunks_per_second']:.2f}x chunks/s, "
            f"{t['ours_vs_langchain_torch_pages_per_second']:.2f}x pages/s "
            f"(goal {GOAL_END_TO_END}x; torch {t['peer']['torch']}, "
            f"{t['peer']['torch_threads']} threads)"
        )
    print(
        f"store write: ours {w['ours_rows_per_second']:.0f} rows/s, raw COPY "
        f"{w['raw_copy_rows_per_second']:.0f} rows/s over {w['rows']} rows: "
        f"{r['store_write_vs_raw_copy']:.2f}x (goal {GOAL_STORE_WRITE}x); vs raw COPY with a "
        f"commit per document ({w['raw_copy_per_document_rows_per_second']:.0f} rows/s): "
        f"{r['store_write_vs_raw_copy_per_document']:.2f}x; bulk path (upsert_documents, one "
        f"transaction) {w['ours_bulk_rows_per_second']:.0f} rows/s: "
        f"{r['bulk_store_write_vs_raw_copy']:.2f}x raw COPY; load average "
        f"{[round(x, 2) for x in result['machine']['load_average_at_end']]}"
    )


def plot(result: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.bar(
        ["ours", "LangChain PGVector"],
        [result[k]["median_chunks_per_second"] for k in ("ours", "langchain")],
        color=["#2a6f97", "#bbbbbb"],
    )
    left.set_title("End-to-end ingest (median chunks/s)")
    right.bar(
        ["ours\nupsert_document", "raw COPY,\ncommit per doc", "raw COPY,\none commit"],
        [
            result["store_write"]["ours_rows_per_second"],
            result["store_write"]["raw_copy_per_document_rows_per_second"],
            result["store_write"]["raw_copy_rows_per_second"],
        ],
        color=["#2a6f97", "#bbbbbb", "#888888"],
    )
    right.set_title("Store write (rows/s, HNSW kept)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--repeat", type=int, default=2, help="copies of the corpus per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each pipeline")
    parser.add_argument("--quick", action="store_true", help="one PDF, one round")
    parser.add_argument(
        "--torch-python",
        type=Path,
        default=None,
        help="the Python of a virtualenv holding the PyTorch peer's stack "
        "(see benchmarks/langchain_torch_peer.py): also run LangChain's usual local pipeline",
    )
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.pdf"))
    if not files:
        parser.error(f"no PDFs in {args.corpus}")
    out_dir = RESULTS
    if args.quick:
        files, args.repeat, args.rounds = files[:1], 1, 1
        out_dir = RESULTS / "quick"
    out_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="rag-bench-ingest-"))
    root.chmod(0o755)  # the embedded PostgreSQL's own user must reach it when run as root
    try:
        result = asyncio.run(run(files, root, args.repeat, args.rounds, args.torch_python))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_table(result)
    out = out_dir / "ingest_vs_langchain.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out.with_suffix(".png"))
    print(f"written to {out} (+ .png)")


if __name__ == "__main__":
    main()

"""`POST /search` latency over 100,000 chunks at 1, 4 and 16 concurrent clients, next to a
raw-SQL peer on the same table in the same run; recall@10 against exact search; an
ef_search sweep. Prints a table; writes benchmarks/results/search_latency.json and .png.

    flock /tmp/bench.lock nice -n 0 .venv/bin/python -m benchmarks.search_latency [--quick]

The service runs as a real `uvicorn` process serving `create_app(settings)` on a fresh
embedded PostgreSQL, reached over HTTP (kept-alive connections on asyncio streams, or httpx
with ``--client httpx``), in `vector` and in `hybrid` mode.
Its embedder is replaced by PrecomputedEmbedder (query vectors made ahead with the real
model), so what is timed is the service's own path: HTTP, validation, the store's queries,
fusion, serialisation. The real model's per-query embedding time is measured on its own.

The peers are psycopg on their own pool (one connection per client and query, autocommit,
ef_search set once per session) running the store's own SQL on the same table with the
same ef_search: for vector mode its SELECT ... ORDER BY embedding <=> ... LIMIT top_k; for
hybrid mode the store's one hybrid statement (both lists of the candidates the service
asks for, the vector hits' BM25 included). API and peer rounds alternate; ratios are
p95(API) / p95(peer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from benchmarks.load_test import _free_port, _wait_ready
from benchmarks.run_record import machine, percentile, summary, versions, write_json
from benchmarks.search_corpus import TABLE, Corpus, load_corpus, load_pgvector
from rag_app.domain import MAX_TOP_K
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.retrieval.fusion import CANDIDATES_PER_RESULT, MIN_CANDIDATES
from rag_app.settings import Settings
from rag_app.text import bm25
from rag_app.vectorstores.pgvector import (
    QUERY,
    QUERY_HYBRID,
    SELECTIVE_FLOOR,
    SELECTIVE_SHARE,
    keyword_statement,
)

TOP_K = 10
CONCURRENCY = (1, 4, 16)
EF_SWEEP = (40, 64, 100, 200, 300)  # 300: the default (recall_sweep.py, 100k chunks)
MODEL_ID = MiniLmOnnxEmbedder.model_id
DIMENSION = MiniLmOnnxEmbedder.dimension
# Hybrid search asks each of its two lists for this many rows, for TOP_K results.
CANDIDATES = min(MAX_TOP_K, max(TOP_K * CANDIDATES_PER_RESULT, MIN_CANDIDATES))


class PrecomputedEmbedder:
    """The Embedder protocol over query vectors computed ahead with the real model, so the
    benchmark times the service without the model. A text it was not given raises
    KeyError (the benchmark must not time a path it did not prepare)."""

    model_id = MODEL_ID
    dimension = DIMENSION

    def __init__(self, vectors: Mapping[str, NDArray[np.float32]]) -> None:
        self._vectors = dict(vectors)

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts]).astype(np.float32)


def serve(config_file: Path) -> None:
    """The service process: create_app(settings) with the precomputed embedder."""
    import uvicorn

    from rag_app.api import create_app

    config = json.loads(config_file.read_text())
    vectors = np.load(config["vectors"])
    embedder = PrecomputedEmbedder(dict(zip(config["queries"], vectors, strict=True)))
    settings = Settings(
        data_dir=Path(config["data_dir"]),
        database_url=config["database_url"],
        hnsw_ef_search=config["ef_search"],
        ocr="off",
        transcriber="off",
        rate_limit_per_minute=1_000_000_000,  # this measures search, not the limiter
        port=config["port"],
    )
    # As `rag-app serve` runs it (log level info: the access log is part of the cost).
    uvicorn.run(create_app(settings, embedder=embedder), host="127.0.0.1", port=settings.port)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def serving(root: Path, url: str, corpus: Corpus, ef_search: int) -> Iterator[tuple[str, int]]:
    """The service process; yields its URL and pid."""
    port = _free_port()
    np.save(root / "queries.npy", corpus.query_vectors)
    config = root / "serve.json"
    config.write_text(
        json.dumps(
            {
                "vectors": str(root / "queries.npy"),
                "queries": corpus.queries,
                "data_dir": str(root / "data"),
                "database_url": url,
                "ef_search": ef_search,
                "port": port,
            }
        )
    )
    log = root / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(config)], stdout=out, stderr=out
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, process, log)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def closed_loop(
    clients: int, requests: int, call: Callable[[int], Awaitable[None]]
) -> list[float]:
    """``clients`` workers send ``requests`` calls in all, each as soon as its last ended;
    returns each call's latency in ms."""
    numbers = itertools.count()
    samples: list[float] = []

    async def worker() -> None:
        while (i := next(numbers)) < requests:
            started = time.perf_counter()
            await call(i)
            samples.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return samples


class HttpConnections:
    """Kept-alive HTTP/1.1 connections to the service on asyncio streams, one per client at
    a time: a request is one write, a response one read of its head and Content-Length
    bytes. The API's peer, psycopg, costs this process about 0.3 ms of CPU a query; httpx
    cost 1.2-1.5 ms a request, so at 16 clients on two cores its own event loop queued the
    API's requests (``--client httpx`` keeps it, for comparison)."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post_json(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """``(status, body)`` of ``POST path`` with ``body`` as JSON. A kept-alive connection
        the server closed while idle (uvicorn's keep-alive timeout) is replaced once."""
        payload = json.dumps(body).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        while self._idle:
            reader, writer = self._idle.pop()
            try:
                return await self._exchange(reader, writer, request)
            except (asyncio.IncompleteReadError, ConnectionError) as e:
                writer.close()
                if isinstance(e, asyncio.IncompleteReadError) and e.partial:
                    raise  # the server sent part of an answer: not an idle close
        reader, writer = await asyncio.open_connection(self._host, self._port)
        return await self._exchange(reader, writer, request)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> tuple[int, bytes]:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        if "content-length" not in headers:  # the service sends sized JSON bodies
            writer.close()
            raise RuntimeError(f"no Content-Length in the response: {head[:300]!r}")
        content = await reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle.append((reader, writer))
        return int(status_line.split()[1]), content

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


def peer_sql(table: str) -> sql.Composed:
    """The store's own vector query, unfiltered."""
    return sql.SQL(QUERY).format(table=sql.Identifier(table), conditions=sql.SQL("TRUE"))


def peer_text_sql(table: str) -> sql.Composed:
    """The store's own hybrid query (both candidate lists, both signals), unfiltered."""
    return keyword_statement(
        QUERY_HYBRID,
        sql.Identifier(table),
        sql.Identifier(f"{table[:57]}_terms"),
        sql.SQL("TRUE"),
    )


def text_params(text: str, vector: NDArray[np.float32], top_k: int) -> dict[str, Any]:
    """The parameters PgVectorStore.query_text binds."""
    return {
        "text": text,
        "selective_share": SELECTIVE_SHARE,
        "selective_floor": SELECTIVE_FLOOR,
        "k1": bm25.K1,
        "b": bm25.B,
        "vector": vector,
        "top_k": top_k,
    }


@contextlib.asynccontextmanager
async def peer_pool(url: str, size: int, ef_search: int) -> AsyncIterator[AsyncConnectionPool]:
    from pgvector.psycopg import register_vector_async

    async def configure(conn: AsyncConnection[Any]) -> None:
        await register_vector_async(conn)
        await conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(ef_search)))
        await conn.execute("SET hnsw.iterative_scan = strict_order")

    pool = AsyncConnectionPool(
        url,
        min_size=size,
        max_size=size,
        configure=configure,
        kwargs={"autocommit": True},
        open=False,
    )
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


async def exact_neighbours(
    url: str, query_vectors: NDArray[np.float32]
) -> list[list[tuple[str, float]]]:
    """The true top-10 (chunk, distance) of every query: the same SELECT with the index
    off, so PostgreSQL scans and sorts the whole table."""
    from pgvector.psycopg import register_vector_async

    statement = peer_sql(TABLE)
    out = []
    async with await AsyncConnection.connect(url) as conn:
        await register_vector_async(conn)
        for vector in query_vectors:
            async with conn.transaction():
                await conn.execute("SET LOCAL enable_indexscan = off")
                rows = await (
                    await conn.execute(statement, {"vector": vector, "top_k": TOP_K})
                ).fetchall()
            out.append([(f"{r[0]}#{r[1]}", 1.0 - float(r[-1])) for r in rows])
    return out


def recall_at_10(
    found: Sequence[Sequence[tuple[str, float]]], exact: Sequence[Sequence[tuple[str, float]]]
) -> float:
    """Share of the true top 10 found; a hit as close as the 10th true neighbour counts
    (ties)."""
    total = 0
    for got, truth in zip(found, exact, strict=True):
        ids = {c for c, _ in truth}
        tenth = truth[-1][1]
        total += sum(1 for c, d in got[:TOP_K] if c in ids or d <= tenth + 1e-6)
    return total / (TOP_K * len(exact))


async def round_trips(url: str, corpus: Corpus, ef_search: int, n: int) -> dict[str, Any]:
    """PgVectorStore.query as it is (BEGIN, two SET LOCALs, the SELECT and COMMIT in one
    pipeline: one round trip) next to the same statements each awaited in turn, as the
    store sent them before (five round trips), at one client, alternating."""
    from rag_app.postgres.pool import open_pool
    from rag_app.vectorstores.pgvector import PgVectorStore

    pool = await open_pool(url, max_size=1)
    store = PgVectorStore(pool, table=TABLE, dimension=DIMENSION, ef_search=ef_search)
    statement = peer_sql(TABLE)

    async def five(vector: NDArray[np.float32]) -> None:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(ef_search))
            await conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            await (await conn.execute(statement, {"vector": vector, "top_k": TOP_K})).fetchall()

    async def one(vector: NDArray[np.float32]) -> None:
        await store.query(vector, top_k=TOP_K, filters={})

    samples: dict[str, list[float]] = {"one_round_trip": [], "five_round_trips": []}
    try:
        for i in range(n):
            vector = corpus.query_vectors[i % len(corpus.query_vectors)]
            pair = [("one_round_trip", one), ("five_round_trips", five)]
            for name, call in pair if i % 2 else pair[::-1]:
                started = time.perf_counter()
                await call(vector)
                samples[name].append((time.perf_counter() - started) * 1000)
    finally:
        await pool.close()
    return {name: summary(s[5:]) for name, s in samples.items()}  # the first 5: warm-up


async def ef_sweep(
    url: str, corpus: Corpus, exact: list[list[tuple[str, float]]], efs: Sequence[int]
) -> list[dict[str, Any]]:
    """Per ef_search: recall@10 and the peer's latency at one client (the vector query
    the service sends for top_k 10)."""
    statement = peer_sql(TABLE)
    rows_out = []
    for ef in efs:
        async with peer_pool(url, 1, ef) as pool:
            found: list[list[tuple[str, float]]] = []
            latencies = []
            async with pool.connection() as conn:
                for vector in corpus.query_vectors[:5]:  # warm-up; prepares the statement
                    await conn.execute(statement, {"vector": vector, "top_k": TOP_K})
                for vector in corpus.query_vectors:
                    started = time.perf_counter()
                    rows = await (
                        await conn.execute(statement, {"vector": vector, "top_k": TOP_K})
                    ).fetchall()
                    latencies.append((time.perf_counter() - started) * 1000)
                    found.append([(f"{r[0]}#{r[1]}", 1.0 - float(r[-1])) for r in rows])
        rows_out.append(
            {
                "ef_search": ef,
                "recall_at_10": round(recall_at_10(found, exact), 4),
                "raw_p50_ms": round(percentile(latencies, 0.5), 2),
                "raw_p95_ms": round(percentile(latencies, 0.95), 2),
            }
        )
        print(f"  ef_search {ef}: {rows_out[-1]}", flush=True)
    return rows_out


Call = Callable[[int], Awaitable[None]]


async def measure_latency(
    server: tuple[str, int],
    url: str,
    corpus: Corpus,
    ef_search: int,
    rounds: int,
    per_round: int,
    http_client: str = "streams",
) -> tuple[dict[str, dict[str, Any]], int]:
    """Per concurrency, rounds of each path in alternating order. Paths: the API in vector
    and in hybrid mode, and their raw-SQL peers: the vector query (LIMIT top_k, what vector
    mode sends), and for hybrid the store's hybrid statement for CANDIDATES rows per list,
    one round trip as the service sends it (the fusion is not the peer's work).

    Next to the percentiles, the CPU each request cost: in the service process, and in
    this process (the HTTP or psycopg client): on two shared cores, at 16 clients, the
    CPU is the queue."""
    base, pid = server
    streams = HttpConnections(base)
    queries, vectors = corpus.queries, corpus.query_vectors
    vector_sql, text_sql = peer_sql(TABLE), peer_text_sql(TABLE)
    errors: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    most = max(CONCURRENCY)
    limits = httpx.Limits(max_connections=most, max_keepalive_connections=most)
    async with (
        httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client,
        peer_pool(url, 2 * most, ef_search) as pool,
    ):

        async def post(body: dict[str, Any]) -> tuple[int, bytes]:
            if http_client == "httpx":
                response = await client.post("/search", json=body)
                return response.status_code, response.content
            return await streams.post_json("/search", body)

        def api(mode: str, offset: int) -> Call:
            async def call(i: int) -> None:
                body = {"query": queries[(offset + i) % len(queries)], "top_k": TOP_K, "mode": mode}
                status, content = await post(body)
                if status != 200 or len(json.loads(content)["hits"]) != TOP_K:
                    errors.append(f"{mode}: {status} {content[:200]!r}")

            return call

        async def rows(statement: sql.Composed, params: dict[str, Any]) -> int:
            async with pool.connection() as conn:
                return len(await (await conn.execute(statement, params)).fetchall())

        def raw_vector(offset: int) -> Call:
            async def call(i: int) -> None:
                vector = vectors[(offset + i) % len(vectors)]
                if await rows(vector_sql, {"vector": vector, "top_k": TOP_K}) != TOP_K:
                    errors.append("raw vector SQL came back short")

            return call

        def raw_hybrid(offset: int) -> Call:
            async def call(i: int) -> None:
                n = (offset + i) % len(vectors)
                await rows(text_sql, text_params(queries[n], vectors[n], CANDIDATES))

            return call

        paths: list[tuple[str, Callable[[int], Call]]] = [
            ("api_vector", lambda offset: api("vector", offset)),
            ("raw_sql", raw_vector),
            ("api_hybrid", lambda offset: api("hybrid", offset)),
            ("raw_sql_hybrid", raw_hybrid),
        ]
        for _, make in paths:  # warm-up: connections open, statements prepared
            await closed_loop(most, 3 * most, make(0))
        for clients in CONCURRENCY:
            samples: dict[str, list[float]] = {name: [] for name, _ in paths}
            server_cpu = dict.fromkeys(samples, 0.0)
            client_cpu = dict.fromkeys(samples, 0.0)
            for r in range(rounds):
                order = paths if r % 2 == 0 else paths[::-1]
                for name, make in order:
                    server_before, client_before = cpu_seconds(pid), time.process_time()
                    samples[name] += await closed_loop(clients, per_round, make(r * per_round))
                    server_cpu[name] += cpu_seconds(pid) - server_before
                    client_cpu[name] += time.process_time() - client_before
            results[str(clients)] = {
                name: {
                    **summary(s),
                    "client_cpu_ms_per_request": round(1000 * client_cpu[name] / len(s), 2),
                    **(
                        {"server_cpu_ms_per_request": round(1000 * server_cpu[name] / len(s), 2)}
                        if name.startswith("api_")
                        else {}
                    ),
                }
                for name, s in samples.items()
            }
            print(f"  {clients:2} clients: {results[str(clients)]}", flush=True)
    await streams.aclose()
    if errors:
        print(f"  {len(errors)} errors, e.g. {errors[:3]}")
    return results, len(errors)


async def hnsw_parameters(url: str) -> dict[str, Any]:
    async with await AsyncConnection.connect(url) as conn:
        row = await (
            await conn.execute(
                "SELECT reloptions FROM pg_class WHERE relname = %s", (f"{TABLE}_hnsw",)
            )
        ).fetchone()
    options = dict(o.split("=", 1) for o in (row[0] or [])) if row else {}
    return {
        "m": int(options.get("m", 16)),  # pgvector's defaults when the DDL sets none
        "ef_construction": int(options.get("ef_construction", 64)),
        "reloptions": row[0] if row else None,
    }


async def query_embedding_ms(queries: Sequence[str], n: int) -> dict[str, float]:
    """The real model, one query at a time, as the service embeds a search."""
    embedder = MiniLmOnnxEmbedder()
    await embedder.embed_batch(list(queries[:3]))
    samples = []
    for text in queries[:n]:
        started = time.perf_counter()
        await embedder.embed_batch([text])
        samples.append((time.perf_counter() - started) * 1000)
    return summary(samples)


async def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    corpus = await load_corpus(args.chunks, queries=args.queries, spdx=not args.quick)
    cluster = EmbeddedPostgres(root / "pg")
    url = cluster.start().url
    try:
        async with await AsyncConnection.connect(url) as conn:
            record_versions = await versions(conn)
        print(f"loading {len(corpus)} chunks into pgvector ...", flush=True)
        load = await load_pgvector(url, corpus)
        print(f"  {load}", flush=True)
        hnsw = await hnsw_parameters(url)
        exact = await exact_neighbours(url, corpus.query_vectors)
        print("ef_search sweep (recall@10 vs exact, raw SQL at 1 client):", flush=True)
        sweep = await ef_sweep(url, corpus, exact, EF_SWEEP)
        store_round_trips = await round_trips(url, corpus, args.ef_search, len(corpus.queries))
        print(f"  the store's query: {store_round_trips}", flush=True)
        print("latency, alternating API and raw-SQL rounds:", flush=True)
        with serving(root, url, corpus, args.ef_search) as server:
            latency, errors = await measure_latency(
                server, url, corpus, args.ef_search, args.rounds, args.per_round, args.client
            )
    finally:
        cluster.stop()
    embedding = await query_embedding_ms(corpus.queries, 20 if args.quick else 100)
    ratios = {
        clients: {
            "api_vector_p95_over_raw_sql_p95": round(
                row["api_vector"]["p95"] / row["raw_sql"]["p95"], 2
            ),
            "api_hybrid_p95_over_raw_sql_hybrid_p95": round(
                row["api_hybrid"]["p95"] / row["raw_sql_hybrid"]["p95"], 2
            ),
            "api_hybrid_p95_over_raw_sql_p95": round(
                row["api_hybrid"]["p95"] / row["raw_sql"]["p95"], 2
            ),
        }
        for clients, row in latency.items()
    }
    at_default = next((s for s in sweep if s["ef_search"] == args.ef_search), None)
    return {
        "benchmark": "search_latency",
        "machine": machine(),
        "versions": record_versions,
        "parameters": {
            "chunks": len(corpus),
            "corpus": corpus.source,
            "queries": len(corpus.queries),
            "top_k": TOP_K,
            "rows_per_list_in_hybrid_mode": CANDIDATES,
            "concurrency": list(CONCURRENCY),
            "rounds": args.rounds,
            "requests_per_round": args.per_round,
            "embedder": f"{MODEL_ID}, stubbed in the timed path (PrecomputedEmbedder)",
            "server": "uvicorn process serving create_app(settings), embedded PostgreSQL",
            "api_client": args.client,
            "peer": "psycopg pool, one connection per client and list, autocommit, ef_search "
            "set per session, the store's own SELECTs (vector; for hybrid, vector + BM25)",
        },
        "hnsw": {**hnsw, "ef_search": args.ef_search},
        "load": {**load, "corpus_embed_seconds": round(corpus.embed_seconds, 1)},
        "recall_at_10": at_default["recall_at_10"] if at_default else None,
        "ef_search_sweep": sweep,
        "store_query_ms": store_round_trips,
        "latency_ms": latency,
        "ratios": ratios,
        "errors": errors,
        "query_embedding_ms": embedding,
    }


def table(result: dict[str, Any]) -> str:
    h = result["hnsw"]
    lines = [
        f"{result['parameters']['chunks']} chunks; HNSW m={h['m']} "
        f"ef_construction={h['ef_construction']} ef_search={h['ef_search']}; "
        f"recall@10 {result['recall_at_10']}",
        f"{'clients':>7}  {'path':<15} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'cpu ms':>13}  p95 / peer p95",
    ]
    peers = {"api_vector": "raw_sql", "api_hybrid": "raw_sql_hybrid"}
    for clients, row in result["latency_ms"].items():
        for name, q in row.items():
            peer = peers.get(name)
            ratio = f"{q['p95'] / row[peer]['p95']:6.2f}x ({peer})" if peer else ""
            cpu = (
                f"{q.get('server_cpu_ms_per_request', 0):.2f}+{q['client_cpu_ms_per_request']:.2f}"
            )
            lines.append(
                f"{clients:>7}  {name:<15} {q['p50']:8.2f} {q['p95']:8.2f} {q['p99']:8.2f} "
                f"{cpu:>13}  {ratio}"
            )
    lines.append(f"{'ef_search':>9} {'recall@10':>9} {'raw p95 ms':>10}")
    for s in result["ef_search_sweep"]:
        lines.append(f"{s['ef_search']:>9} {s['recall_at_10']:>9.4f} {s['raw_p95_ms']:>10.2f}")
    lines.append("(cpu ms: per request, in the service process + in the benchmark's client)")
    for name, q in result["store_query_ms"].items():
        lines.append(f"store query, {name.replace('_', ' ')}: p50 {q['p50']} ms, p95 {q['p95']} ms")
    e = result["query_embedding_ms"]
    lines.append(f"query embedding (real MiniLM, one query): p50 {e['p50']} ms, p95 {e['p95']} ms")
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latency = result["latency_ms"]
    names = list(next(iter(latency.values())))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        xs = [i + k * width for i in range(len(latency))]
        left.bar(xs, [row[name]["p95"] for row in latency.values()], width, label=f"{name} p95")
        left.scatter(xs, [row[name]["p50"] for row in latency.values()], color="black", s=10)
    left.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(latency))])
    left.set_xticklabels([f"{c} clients" for c in latency])
    left.set_ylabel("ms (bars p95, dots p50)")
    left.set_title(f"POST /search vs raw SQL, {result['parameters']['chunks']} chunks")
    left.legend()
    sweep = result["ef_search_sweep"]
    right.plot([s["raw_p95_ms"] for s in sweep], [s["recall_at_10"] for s in sweep], "o-")
    for s in sweep:
        right.annotate(f"ef {s['ef_search']}", (s["raw_p95_ms"], s["recall_at_10"]))
    right.set_xlabel("raw SQL p95 ms (1 client)")
    right.set_ylabel("recall@10 vs exact")
    right.set_title("ef_search sweep")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 chunks, few requests")
    parser.add_argument(
        "--ef-search", type=int, default=Settings.model_fields["hnsw_ef_search"].default
    )
    parser.add_argument(
        "--client",
        choices=("streams", "httpx"),
        default="streams",
        help="the API's client: kept-alive connections on asyncio streams, or httpx",
    )
    parser.add_argument("--per-round", type=int, default=None, help="requests per round")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    args.chunks = 2_000 if args.quick else 100_000
    args.queries = 30 if args.quick else 400
    args.rounds = 2
    args.per_round = args.per_round or (30 if args.quick else 200)
    root = Path(tempfile.mkdtemp(prefix="rag-bench-search-"))
    root.chmod(0o755)  # as root, the embedded PostgreSQL's own user must reach it
    try:
        result = asyncio.run(run(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(table(result))
    out = write_json("search_latency.json", result, quick=args.quick)
    chart(result, out.with_suffix(".png"))
    print(f"written to {out} and {out.with_suffix('.png').name}")


if __name__ == "__main__":
    main()

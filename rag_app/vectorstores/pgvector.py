"""pgvector on PostgreSQL: one table per embedding space, an HNSW index (cosine), filters
in the query itself (``hnsw.iterative_scan`` keeps filtered queries from coming back short).

Keyword search is BM25 (``rag_app/text/bm25.py``) in SQL: a generated ``tsvector`` column
(``english`` configuration) with a GIN index finds the chunks holding any of the query's
terms, and a side table ``<table>_terms`` holds how many chunks hold each term (and, in
the row for the empty term, how many chunks there are and their total length), kept in
the same transaction as the chunks, so the ranking's document frequencies are exact.
Writes of one table take a transaction-level advisory lock on it, so concurrent writers
update those counts one after another instead of deadlocking.

Over 400 lines on purpose: the store's SQL (queries, BM25 term counts, advisory locks, the
HNSW build) stays as module constants beside the one class that runs it, so each statement
reads next to the transaction that orders it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray
from psycopg import AsyncConnection, sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from rag_app.domain import Chunk, Filters, Hit
from rag_app.postgres.index_build import BuildPlan, index_m, pgvector_version, plan_build
from rag_app.text import bm25
from rag_app.vectorstores.base import (
    HybridCandidates,
    check_query_vector,
    check_top_k,
    check_upsert,
)

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    chunk_id    text PRIMARY KEY,
    document_id text NOT NULL,
    chunk_no    integer NOT NULL,
    collection  text NOT NULL,
    title       text NOT NULL,
    page        integer NOT NULL,
    char_start  integer NOT NULL,
    char_end    integer NOT NULL,
    text        text NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{{}}',
    embedding   vector({dimension}) NOT NULL
);
-- Scanned pages and media passages; added in place to tables made before them.
ALTER TABLE {table}
    ADD COLUMN IF NOT EXISTS ocr     boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS start_s double precision,
    ADD COLUMN IF NOT EXISTS end_s   double precision;
CREATE INDEX IF NOT EXISTS {document_index} ON {table} (document_id);
CREATE INDEX IF NOT EXISTS {hnsw_index} ON {table} USING hnsw (embedding vector_cosine_ops)
    WITH (m = 16, ef_construction = 128);
"""

# HNSW: m 16 (pgvector's default) and ef_construction 128 (its default is 64): measured
# by benchmarks/index_build.py, 128 lifts recall@10 at ef_search 100 from 0.931 to 0.952
# for 1.6x the build time (README, Performance). An index made before keeps its options
# until it is dropped (the next start creates it again).

# Added for keyword search; ADD COLUMN rewrites an older table once, then the counts are
# rebuilt from it (only when the side table is new).
CREATE_TEXT_SEARCH = """
ALTER TABLE {table}
    ADD COLUMN IF NOT EXISTS tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED;
CREATE INDEX IF NOT EXISTS {text_index} ON {table} USING gin (tsv);
CREATE TABLE IF NOT EXISTS {terms} (
    term   text PRIMARY KEY,
    chunks bigint NOT NULL,
    length bigint NOT NULL DEFAULT 0
);
"""

SEED_TERMS = """
INSERT INTO {terms} (term, chunks, length)
SELECT '', count(*), coalesce(sum(length(tsv)), 0) FROM {table}
ON CONFLICT (term) DO NOTHING
RETURNING chunks
"""

# Counts per term of the rows a statement touched; {sign} is 1 (added) or -1 (removed).
COUNT_TERMS = """
INSERT INTO {terms} (term, chunks, length)
SELECT term, {sign} * count(*), 0
FROM {table}, unnest(tsv) AS u(term)
WHERE document_id = ANY(%(document_ids)s)
GROUP BY term
UNION ALL
SELECT '', {sign} * count(*), {sign} * coalesce(sum(length(tsv)), 0)
FROM {table} WHERE document_id = ANY(%(document_ids)s)
ORDER BY 1
ON CONFLICT (term) DO UPDATE
SET chunks = {terms}.chunks + EXCLUDED.chunks, length = {terms}.length + EXCLUDED.length
"""

REBUILD_TERMS = """
INSERT INTO {terms} (term, chunks)
SELECT term, count(*) FROM {table}, unnest(tsv) AS u(term) GROUP BY term
ON CONFLICT (term) DO NOTHING
"""

# The BM25 weights of the query's terms, shared by the keyword and hybrid statements: the
# corpus's size and average chunk length, each query term's idf, and ``selective``, the
# tsquery of the terms that pick the candidates. A selective term is one in at most 2% of
# the chunks (or 1,000 chunks, so a corpus of up to 50,000 chunks is ranked exactly), or
# the query's rarest term when it has no such term. A chunk holding only the query's common
# words ("license" in a licence corpus) is not a candidate: its score would come from
# low-idf terms alone, and taking every such chunk made a query over 100,000 chunks take
# 0.4 s. The candidate query is built from the lexemes themselves, quoted (chr(39)); a
# lexeme holding a quote or a backslash (chr(92)) only counts in the score. No user text
# reaches the tsquery parser.
BM25_WEIGHTS = """corpus AS (
    SELECT greatest(chunks, 1)::float8 AS n,
           greatest(length::float8 / greatest(chunks, 1), 1) AS average_length
    FROM {terms} WHERE term = ''
),
weights AS (
    SELECT t.term, t.chunks, ln(1 + (c.n - t.chunks + 0.5) / (t.chunks + 0.5)) AS idf
    FROM {terms} t, corpus c
    WHERE t.term = ANY(tsvector_to_array(to_tsvector('english'::regconfig, %(text)s)))
      AND t.term <> '' AND t.chunks > 0
),
selective AS (
    SELECT string_agg(chr(39) || w.term || chr(39), ' | ')::tsquery AS query
    FROM weights w, corpus c
    WHERE (w.chunks <= greatest(%(selective_share)s * c.n, %(selective_floor)s)
           OR w.chunks = (SELECT min(chunks) FROM weights))
      AND strpos(w.term, chr(39)) = 0 AND strpos(w.term, chr(92)) = 0
)"""

# A chunk's BM25 score: the sum over its terms in ``weights``; {tsv} is its tsvector.
BM25_SUM = """sum(w.idf * cardinality(u.positions) * (%(k1)s + 1)
               / (cardinality(u.positions)
                  + %(k1)s * (1 - %(b)s + %(b)s * length({tsv}) / c.average_length)))"""

# The keyword candidates: the chunks holding a selective term, found through the GIN
# index, ranked by BM25 ({bm25} is BM25_SUM over ``m.tsv``).
KEYWORD_RANKED = """SELECT m.chunk_id,
           {bm25} AS rank
    FROM {table} m
    CROSS JOIN corpus c
    CROSS JOIN LATERAL unnest(m.tsv) AS u(term, positions, weights)
    JOIN weights w ON w.term = u.term
    WHERE m.tsv @@ (SELECT query FROM selective) AND {conditions}
    GROUP BY m.chunk_id
    ORDER BY rank DESC, m.chunk_id
    LIMIT %(top_k)s"""

# BM25 over the keyword candidates (``keyword_statement`` fills in the parts above).
QUERY_TEXT = """
WITH {weights},
scored AS (
    {keyword}
)
SELECT t.document_id, t.chunk_no, t.collection, t.title, t.page, t.char_start, t.char_end,
       t.text, t.metadata, t.ocr, t.start_s, t.end_s,
       1 - (t.embedding <=> %(vector)s) AS similarity, s.rank
FROM scored s JOIN {table} t USING (chunk_id)
ORDER BY s.rank DESC, t.chunk_id
"""

# Hybrid candidates in one statement: the nearest chunks (HNSW, as QUERY) and the keyword
# candidates (as QUERY_TEXT), with the BM25 score of each nearest chunk computed from its
# tsvector over the same term weights, so that fusion scores every candidate on both signals
# (a nearest chunk without any query word scores 0). ``list`` says which list a row is of;
# a chunk in both lists comes once per list.
QUERY_HYBRID = """
WITH {weights},
nearest AS (
    SELECT m.chunk_id, m.tsv
    FROM {table} m
    WHERE {conditions}
    ORDER BY m.embedding <=> %(vector)s
    LIMIT %(top_k)s
),
nearest_scored AS (
    SELECT n.chunk_id,
           coalesce({bm25_nearest}, 0)
               AS rank
    FROM nearest n
    CROSS JOIN corpus c
    LEFT JOIN LATERAL unnest(n.tsv) AS u(term, positions, weights) ON true
    LEFT JOIN weights w ON w.term = u.term
    GROUP BY n.chunk_id
),
keyword AS (
    {keyword}
),
listed AS (
    SELECT 'vector' AS list, chunk_id, rank FROM nearest_scored
    UNION ALL
    SELECT 'words', chunk_id, rank FROM keyword
)
SELECT l.list, t.document_id, t.chunk_no, t.collection, t.title, t.page, t.char_start,
       t.char_end, t.text, t.metadata, t.ocr, t.start_s, t.end_s,
       1 - (t.embedding <=> %(vector)s) AS similarity, l.rank
FROM listed l JOIN {table} t USING (chunk_id)
"""

SELECTIVE_SHARE = 0.02
SELECTIVE_FLOOR = 1000

COPY_ROWS = (
    "COPY {table} (chunk_id, document_id, chunk_no, collection, title, page, char_start,"
    " char_end, text, metadata, embedding, ocr, start_s, end_s) FROM STDIN WITH (FORMAT BINARY)"
)
COPY_TYPES = [
    "text", "text", "int4", "text", "text", "int4", "int4", "int4", "text", "jsonb", "vector",
    "bool", "float8", "float8",
]  # fmt: skip

READ_DOCUMENT = """
SELECT document_id, chunk_no, collection, title, page, char_start, char_end, text, metadata,
       ocr, start_s, end_s, embedding
FROM {table}
WHERE document_id = %(document_id)s
ORDER BY chunk_no
"""

DELETE_DOCUMENTS = "DELETE FROM {table} WHERE document_id = ANY(%(document_ids)s)"

QUERY = """
SELECT document_id, chunk_no, collection, title, page, char_start, char_end, text, metadata,
       ocr, start_s, end_s, 1 - (embedding <=> %(vector)s) AS score
FROM {table}
WHERE {conditions}
ORDER BY embedding <=> %(vector)s
LIMIT %(top_k)s
"""

COUNT = "SELECT count(*) AS n FROM {table} WHERE {conditions}"

REINDEX = "REINDEX INDEX CONCURRENTLY {hnsw_index}"
# For this session only; values bound (``BuildPlan.parameters``).
BUILD_SETTINGS = (
    "SELECT set_config('maintenance_work_mem', %(memory)s, false),"
    " set_config('max_parallel_maintenance_workers', %(workers)s, false),"
    " set_config('statement_timeout', '0', false)"
)


def _where(
    filters: Filters, collections: frozenset[str] | None, alias: str | None = None
) -> tuple[sql.Composable, dict[str, Any]]:
    """Equality AND over the filter keys; user keys go through one jsonb containment."""

    def column(name: str) -> sql.Composable:
        return sql.Identifier(alias, name) if alias else sql.Identifier(name)

    conditions: list[sql.Composable] = [sql.SQL("TRUE")]
    params: dict[str, Any] = {}
    if collections is not None:
        conditions.append(sql.SQL("{} = ANY(%(allowed_collections)s)").format(column("collection")))
        params["allowed_collections"] = sorted(collections)
    user: dict[str, Any] = {}
    for key, value in filters.items():
        if key in ("document_id", "collection"):
            conditions.append(sql.SQL("{} = {}").format(column(key), sql.Placeholder(key)))
            params[key] = value
        else:
            user[key] = value
    if user:
        conditions.append(sql.SQL("{} @> %(user_metadata)s").format(column("metadata")))
        params["user_metadata"] = Jsonb(user)
    return sql.SQL(" AND ").join(conditions), params


def keyword_statement(
    template: str, table: sql.Identifier, terms: sql.Identifier, conditions: sql.Composable
) -> sql.Composed:
    """``QUERY_TEXT`` or ``QUERY_HYBRID`` with the BM25 parts filled in: composed by
    psycopg.sql from the constants above, never from strings."""

    def bm25_of(tsv: str) -> sql.Composed:
        return sql.SQL(BM25_SUM).format(tsv=sql.SQL(tsv))

    keyword = sql.SQL(KEYWORD_RANKED).format(
        bm25=bm25_of("m.tsv"), table=table, conditions=conditions
    )
    return sql.SQL(template).format(
        weights=sql.SQL(BM25_WEIGHTS).format(terms=terms),
        keyword=keyword,
        bm25_nearest=bm25_of("n.tsv"),
        table=table,
        conditions=conditions,
    )


def _chunk(row: Mapping[str, Any]) -> Chunk:
    return Chunk(
        document_id=row["document_id"],
        chunk_no=row["chunk_no"],
        text=row["text"],
        page=row["page"],
        char_start=row["char_start"],
        char_end=row["char_end"],
        title=row["title"],
        collection=row["collection"],
        metadata=row["metadata"],
        ocr=row["ocr"],
        start_s=row["start_s"],
        end_s=row["end_s"],
    )


async def _in_one_round_trip(
    conn: AsyncConnection[Any],
    statement: sql.Composed,
    params: Mapping[str, Any],
    *,
    ef_search: int | None = None,
) -> list[dict[str, Any]]:
    """``statement``'s rows, run in a transaction, after setting ``hnsw.ef_search`` and
    strict-order iterative scans for it when ``ef_search`` is given: BEGIN, the SET LOCALs,
    the statement and COMMIT go to the server in one pipeline and come back
    in one round trip, where psycopg's own transaction handling would take five (a wake-up
    of the server and of this process each, which on a busy host is what a query costs).

    The pooled connection is in autocommit mode for the call, so that psycopg opens no
    transaction of its own, and is switched back before it returns to the pool; after an
    error the transaction is rolled back first. A connection that cannot be put back in
    order is left broken or mid-transaction, and the pool discards it.
    """
    await conn.set_autocommit(True)
    try:
        async with conn.pipeline():
            await conn.execute("BEGIN")
            if ef_search is not None:
                await conn.execute(
                    sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(ef_search))
                )
                await conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(statement, params)
            await conn.execute("COMMIT")
        return await cursor.fetchall()
    finally:
        with contextlib.suppress(psycopg.Error):
            if conn.info.transaction_status != TransactionStatus.IDLE:
                await conn.rollback()
            await conn.set_autocommit(False)


class PgVectorStore:
    """Chunks of one embedding space in the table ``table``."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        table: str,
        dimension: int,
        ef_search: int = 300,
        selective_share: float = SELECTIVE_SHARE,
        selective_floor: int = SELECTIVE_FLOOR,
    ) -> None:
        """``selective_share``/``selective_floor``: which query terms find keyword
        candidates (see ``QUERY_TEXT``)."""
        self._pool = pool
        self._table = sql.Identifier(table)
        self._terms = sql.Identifier(f"{table[:57]}_terms")
        self._table_name = table
        self._dimension = dimension
        self._ef_search = ef_search
        self._selective = (selective_share, selective_floor)

    @property
    def dimension(self) -> int:
        return self._dimension

    async def create(self) -> None:
        """Create the table and its indexes if missing; refuse a table of another dimension."""
        statement = sql.SQL(CREATE_TABLE).format(
            table=self._table,
            dimension=sql.Literal(self._dimension),
            document_index=sql.Identifier(f"{self._table_name}_document"),
            hnsw_index=sql.Identifier(f"{self._table_name}_hnsw"),
        )
        text_search = sql.SQL(CREATE_TEXT_SEARCH).format(
            table=self._table,
            terms=self._terms,
            text_index=sql.Identifier(f"{self._table_name[:59]}_tsv"),
        )
        async with self._pool.connection() as conn:
            await conn.execute(statement)
            async with conn.transaction():
                await self._lock(conn)
                await conn.execute(text_search)
                created = await (
                    await conn.execute(
                        sql.SQL(SEED_TERMS).format(table=self._table, terms=self._terms)
                    )
                ).fetchone()
                if created is not None:  # the counts are new: count what the table holds
                    await conn.execute(
                        sql.SQL(REBUILD_TERMS).format(table=self._table, terms=self._terms)
                    )
            row = await (
                await conn.execute(
                    "SELECT atttypmod FROM pg_attribute"
                    " WHERE attrelid = %s::regclass AND attname = 'embedding'",
                    (self._table_name,),
                )
            ).fetchone()
        if row is None or row[0] != self._dimension:
            raise ValueError(
                f"table {self._table_name} holds vectors of dimension {row and row[0]}, "
                f"the embedder produces {self._dimension}"
            )

    async def _lock(self, conn: AsyncConnection[Any]) -> None:
        """Serialise this table's writers (term counts) until the transaction ends."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"rag-terms:{self._table_name}",)
        )

    async def _remove(self, conn: AsyncConnection[Any], document_ids: list[str]) -> int:
        removed = sql.SQL(COUNT_TERMS).format(
            table=self._table, terms=self._terms, sign=sql.SQL("-1")
        )
        await conn.execute(removed, {"document_ids": document_ids})
        cursor = await conn.execute(
            sql.SQL(DELETE_DOCUMENTS).format(table=self._table), {"document_ids": document_ids}
        )
        return cursor.rowcount

    async def upsert_document(
        self, document_id: str, chunks: Sequence[Chunk], vectors: NDArray[np.float32]
    ) -> None:
        await self.upsert_documents([(document_id, chunks, vectors)])

    async def upsert_documents(
        self, documents: Sequence[tuple[str, Sequence[Chunk], NDArray[np.float32]]]
    ) -> None:
        """The bulk path (large loads, migrations): ``upsert_document`` for each of
        ``documents`` in one transaction and one binary COPY. Each document's earlier chunks
        are replaced by its new ones, and all documents are written or none (a bad one fails
        the call before anything is written). A document id given twice is refused."""
        ids = [document_id for document_id, _, _ in documents]
        if len(set(ids)) != len(ids):
            raise ValueError("a document id is given more than once")
        for document_id, chunks, vectors in documents:
            check_upsert(document_id, chunks, vectors, self._dimension)
        if not documents:
            return
        async with self._pool.connection() as conn, conn.transaction():
            await self._lock(conn)
            await self._remove(conn, ids)
            async with conn.cursor().copy(sql.SQL(COPY_ROWS).format(table=self._table)) as copy:
                copy.set_types(COPY_TYPES)
                for _, chunks, vectors in documents:
                    for chunk, vector in zip(chunks, vectors, strict=True):
                        await copy.write_row(
                            (
                                chunk.chunk_id,
                                chunk.document_id,
                                chunk.chunk_no,
                                chunk.collection,
                                chunk.title,
                                chunk.page,
                                chunk.char_start,
                                chunk.char_end,
                                chunk.text,
                                Jsonb(dict(chunk.metadata)),
                                vector,
                                chunk.ocr,
                                chunk.start_s,
                                chunk.end_s,
                            )
                        )
            await conn.execute(
                sql.SQL(COUNT_TERMS).format(
                    table=self._table, terms=self._terms, sign=sql.SQL("1")
                ),
                {"document_ids": ids},
            )

    async def read_document(self, document_id: str) -> tuple[list[Chunk], NDArray[np.float32]]:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                sql.SQL(READ_DOCUMENT).format(table=self._table), {"document_id": document_id}
            )
            rows = await cursor.fetchall()
        vectors = np.array([row["embedding"].to_numpy() for row in rows], dtype=np.float32)
        return [_chunk(row) for row in rows], vectors.reshape(len(rows), self._dimension)

    async def delete_document(self, document_id: str) -> int:
        async with self._pool.connection() as conn, conn.transaction():
            await self._lock(conn)
            return await self._remove(conn, [document_id])

    async def query(
        self,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> list[Hit]:
        check_top_k(top_k)
        check_query_vector(vector, self._dimension)
        conditions, params = _where(filters, collections)
        statement = sql.SQL(QUERY).format(table=self._table, conditions=conditions)
        async with self._pool.connection() as conn:
            rows = await _in_one_round_trip(
                conn,
                statement,
                {**params, "vector": vector, "top_k": top_k},
                # ef_search caps how many rows HNSW yields, so it never goes below top_k.
                ef_search=max(self._ef_search, top_k),
            )
        return [
            Hit(chunk=_chunk(row), similarity=float(row["score"]), score=float(row["score"]))
            for row in rows
        ]

    def _keyword_params(
        self, params: dict[str, Any], text: str, vector: NDArray[np.float32], top_k: int
    ) -> dict[str, Any]:
        """The bound values of ``QUERY_TEXT`` and ``QUERY_HYBRID``."""
        return {
            **params,
            "text": text,
            "selective_share": self._selective[0],
            "selective_floor": self._selective[1],
            "k1": bm25.K1,
            "b": bm25.B,
            "vector": vector,
            "top_k": top_k,
        }

    async def query_text(
        self,
        text: str,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> list[Hit]:
        check_top_k(top_k)
        check_query_vector(vector, self._dimension)
        text = text.replace("\x00", " ")  # PostgreSQL text cannot hold NUL; it is no word
        words = bm25.query_terms(text)
        if not words:
            return []
        conditions, params = _where(filters, collections, alias="m")
        statement = keyword_statement(QUERY_TEXT, self._table, self._terms, conditions)
        async with self._pool.connection() as conn:
            rows = await _in_one_round_trip(
                conn, statement, self._keyword_params(params, text, vector, top_k)
            )
        return [
            Hit(
                chunk=_chunk(row),
                similarity=float(row["similarity"]),
                text_rank=float(row["rank"]),
                score=float(row["rank"]),
            )
            for row in rows
        ]

    async def query_hybrid(
        self,
        text: str,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> HybridCandidates:
        """Both lists in one statement (``QUERY_HYBRID``), one round trip; every vector hit
        carries its BM25 score."""
        check_top_k(top_k)
        check_query_vector(vector, self._dimension)
        text = text.replace("\x00", " ")
        if not bm25.query_terms(text):
            by_vector = await self.query(
                vector, top_k=top_k, filters=filters, collections=collections
            )
            return HybridCandidates(by_vector, [], depth=top_k, vector_hits_scored=True)
        conditions, params = _where(filters, collections, alias="m")
        statement = keyword_statement(QUERY_HYBRID, self._table, self._terms, conditions)
        async with self._pool.connection() as conn:
            rows = await _in_one_round_trip(
                conn,
                statement,
                self._keyword_params(params, text, vector, top_k),
                ef_search=max(self._ef_search, top_k),
            )
        lists: dict[str, list[Hit]] = {"vector": [], "words": []}
        for row in rows:
            rank = float(row["rank"])
            similarity = float(row["similarity"])
            score = similarity if row["list"] == "vector" else rank
            lists[row["list"]].append(
                Hit(chunk=_chunk(row), similarity=similarity, text_rank=rank, score=score)
            )
        by_vector = sorted(lists["vector"], key=lambda h: (-h.similarity, h.chunk.chunk_id))
        by_words = sorted(lists["words"], key=lambda h: (-h.text_rank, h.chunk.chunk_id))
        return HybridCandidates(by_vector, by_words, depth=top_k, vector_hits_scored=True)

    async def count(self, filters: Filters, collections: frozenset[str] | None = None) -> int:
        conditions, params = _where(filters, collections)
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                sql.SQL(COUNT).format(table=self._table, conditions=conditions), params
            )
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def reindex(self, *, max_memory_mb: int, workers: int) -> BuildPlan:
        """Rebuild the HNSW index online (``REINDEX INDEX CONCURRENTLY``: searches and writes
        go on meanwhile) with memory and workers from ``plan_build``, set for this session
        only and without the statement timeout. Returns the plan it used.

        A build that fails or is cancelled leaves the old index serving and an invalid
        ``*_ccnew`` index behind; drop that one before trying again.
        """
        index = f"{self._table_name}_hnsw"
        async with self._pool.connection() as conn:
            await conn.set_autocommit(True)  # REINDEX CONCURRENTLY refuses a transaction
            try:
                rows = await (
                    await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self._table))
                ).fetchone()
                plan = plan_build(
                    rows=int(rows[0]) if rows else 0,
                    dimension=self._dimension,
                    m=await index_m(conn, index),
                    pgvector_version=await pgvector_version(conn),
                    max_memory_mb=max_memory_mb,
                    workers=workers,
                )
                await conn.execute(BUILD_SETTINGS, plan.parameters())
                await conn.execute(sql.SQL(REINDEX).format(hnsw_index=sql.Identifier(index)))
            finally:
                await conn.execute("RESET maintenance_work_mem")
                await conn.execute("RESET max_parallel_maintenance_workers")
                await conn.execute("RESET statement_timeout")
                await conn.set_autocommit(False)
        return plan

    async def check(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(self._table))

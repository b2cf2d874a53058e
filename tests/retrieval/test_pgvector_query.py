"""PgVectorStore.query sends its transaction in one pipeline (one round trip): the pooled
connection must come back to the pool as it left, after a query and after a failed one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from rag_app.domain import Chunk
from rag_app.postgres.pool import open_pool
from rag_app.vectorstores.pgvector import PgVectorStore

pytestmark = pytest.mark.anyio
DIM = 4


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    # One connection: the next user of the pool gets the very connection the query used.
    pool = await open_pool(database_url, max_size=1)
    try:
        yield pool
    finally:
        await pool.close()


async def _store(pool: AsyncConnectionPool[Any], ef_search: int = 100) -> PgVectorStore:
    store = PgVectorStore(
        pool, table=f"chunks_q_{uuid.uuid4().hex[:8]}_{DIM}", dimension=DIM, ef_search=ef_search
    )
    await store.create()
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk("d", i, f"passage {i}", 1, 0, 9, "t", "c") for i in range(30)]
    await store.upsert_document("d", chunks, vectors)
    return store


async def _state(pool: AsyncConnectionPool[Any]) -> tuple[bool, TransactionStatus, str, str]:
    async with pool.connection() as conn:
        status = conn.info.transaction_status
        ef = await (await conn.execute("SHOW hnsw.ef_search")).fetchone()
        scan = await (await conn.execute("SHOW hnsw.iterative_scan")).fetchone()
        assert ef is not None
        assert scan is not None
        return conn.autocommit, status, str(ef[0]), str(scan[0])


async def test_query_settings_stay_in_its_transaction_and_the_connection_returns_as_it_left(
    pool: AsyncConnectionPool[Any],
) -> None:
    store = await _store(pool, ef_search=77)
    hits = await store.query(np.array([1, 0, 0, 0], dtype=np.float32), top_k=5, filters={})
    assert len(hits) == 5
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)
    # Not autocommit, idle, and the server defaults: SET LOCAL ended with the query's COMMIT.
    assert await _state(pool) == (False, TransactionStatus.IDLE, "40", "off")


async def test_a_failed_query_rolls_back_and_leaves_the_connection_usable(
    pool: AsyncConnectionPool[Any],
) -> None:
    store = await _store(pool)
    async with pool.connection() as conn:
        await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(store._table_name)))
    with pytest.raises(psycopg.errors.UndefinedTable):
        await store.query(np.array([1, 0, 0, 0], dtype=np.float32), top_k=5, filters={})
    assert await _state(pool) == (False, TransactionStatus.IDLE, "40", "off")

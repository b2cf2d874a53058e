"""pgvector's bulk path, ``upsert_documents``: several documents in one transaction and one
COPY give what ``upsert_document`` one by one gives (chunks, hits, keyword statistics), each
document's earlier chunks are replaced, and a bad document fails the call before anything
is written. On the embedded PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest
from numpy.typing import NDArray
from psycopg import sql

from rag_app.domain import Chunk
from rag_app.postgres.pool import open_pool
from rag_app.vectorstores.pgvector import PgVectorStore
from tests.contracts.test_vector_store_contract import DIM, chunk, unit

pytestmark = pytest.mark.anyio

TEXTS = {
    "lease": ["The tenant pays the deposit.", "Rent is due monthly."],
    "policy": ["The insurer covers flood damage.", "Claims are filed within 30 days."],
    "memo": ["The deposit is refundable."],
}


def document(name: str, version: str = "") -> tuple[str, list[Chunk], NDArray[np.float32]]:
    texts = [t + version for t in TEXTS[name]]
    chunks = [chunk(name, n, text) for n, text in enumerate(texts)]
    vectors = np.stack([unit(1, n + 1, len(name)) for n in range(len(texts))])
    return name, chunks, vectors


@pytest.fixture
async def stores(
    database_url: str,
) -> AsyncIterator[tuple[PgVectorStore, PgVectorStore, list[str]]]:
    """Two fresh tables: one written in bulk, one document by document."""
    pool = await open_pool(database_url, max_size=4)
    tables = [f"chunks_bulk_{uuid.uuid4().hex[:8]}_{DIM}" for _ in range(2)]
    try:
        bulk, single = (PgVectorStore(pool, table=t, dimension=DIM) for t in tables)
        await bulk.create()
        await single.create()
        yield bulk, single, tables
    finally:
        await pool.close()


async def _term_counts(  # terms no chunk holds any more may stay, at 0
    store: PgVectorStore, table: str
) -> list[tuple[str, int, int]]:
    async with store._pool.connection() as conn:  # the side table of term counts
        cursor = await conn.execute(
            sql.SQL("SELECT term, chunks, length FROM {} WHERE chunks <> 0 ORDER BY term").format(
                sql.Identifier(f"{table[:57]}_terms")
            )
        )
        return [tuple(row) for row in await cursor.fetchall()]


async def test_one_bulk_write_equals_the_documents_written_one_by_one(
    stores: tuple[PgVectorStore, PgVectorStore, list[str]],
) -> None:
    bulk, single, tables = stores
    await bulk.upsert_documents([document("lease", " old"), document("memo")])
    await bulk.upsert_documents([document("lease"), document("policy")])  # lease replaced
    for name in ("memo", "lease", "policy"):
        await single.upsert_document(*document(name))
    for name in TEXTS:
        got, vectors = await bulk.read_document(name)
        want, expected = await single.read_document(name)
        assert [c.text for c in got] == [c.text for c in want] == TEXTS[name]
        assert np.allclose(vectors, expected)
    assert await bulk.count({}) == await single.count({}) == 5
    assert await _term_counts(bulk, tables[0]) == await _term_counts(single, tables[1])
    hits = await bulk.query_text("deposit", unit(1), top_k=5, filters={})
    assert sorted(h.chunk.document_id for h in hits) == ["lease", "memo"]


async def test_a_bad_document_fails_the_whole_call_before_any_write(
    stores: tuple[PgVectorStore, PgVectorStore, list[str]],
) -> None:
    bulk, _, _ = stores
    await bulk.upsert_documents([document("memo")])
    name, chunks, vectors = document("policy")
    with pytest.raises(ValueError, match="does not belong"):
        await bulk.upsert_documents([document("lease"), ("other", chunks, vectors)])
    with pytest.raises(ValueError, match="more than once"):
        await bulk.upsert_documents([document("lease"), document("lease", " again")])
    with pytest.raises(ValueError, match="dimension"):
        await bulk.upsert_documents([(name, chunks, np.ones((2, DIM + 1), dtype=np.float32))])
    assert await bulk.count({}) == 1  # only the memo
    await bulk.upsert_documents([])
    assert await bulk.count({}) == 1

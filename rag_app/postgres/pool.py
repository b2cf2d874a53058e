from __future__ import annotations

from typing import Any

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from rag_app.postgres.schema import migrate


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await register_vector_async(conn)


async def open_pool(url: str, *, max_size: int = 8) -> AsyncConnectionPool[Any]:
    """Run the schema migration, then open a pool whose connections know the vector type."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await migrate(conn)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        configure=_configure,
        open=False,
        kwargs={"connect_timeout": 10},
    )
    await pool.open(wait=True, timeout=30)
    return pool

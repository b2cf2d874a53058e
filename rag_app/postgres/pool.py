from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from rag_app.postgres.schema import migrate

Credentials = Callable[[], Awaitable[dict[str, str]]]
CONNECT_TIMEOUT_SECONDS = 10


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await register_vector_async(conn)


async def open_pool(
    conninfo: str, *, credentials: Credentials | None = None, max_size: int = 8
) -> AsyncConnectionPool[Any]:
    """Run the schema migration, then open a pool whose connections know the vector type.

    ``credentials``, when given, is awaited for the user and password of every new
    connection (see ``SecretsManagerCredentials``); otherwise ``conninfo`` carries them.
    """

    async def connect_kwargs() -> dict[str, Any]:
        login = await credentials() if credentials is not None else {}
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **login}

    async with await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, **await connect_kwargs()
    ) as conn:
        await migrate(conn)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        configure=_configure,
        open=False,
        kwargs=connect_kwargs,
    )
    await pool.open(wait=True, timeout=30)
    return pool

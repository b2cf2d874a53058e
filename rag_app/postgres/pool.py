from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from rag_app.postgres.schema import migrate

Credentials = Callable[[], Awaitable[dict[str, str]]]
CONNECT_TIMEOUT_SECONDS = 10
POOL_WAIT_SECONDS = 10  # a request waits this long for a connection, then gets a 503
# Every statement of the service ends within this; a stuck query cannot hold a connection.
STATEMENT_TIMEOUT_MS = 120_000

# What a database that is down, restarting or resuming (Aurora auto-pause) raises.
UNAVAILABLE: tuple[type[Exception], ...] = (psycopg.OperationalError, PoolTimeout, OSError)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await register_vector_async(conn)


class Database:
    """A connection pool that opens only after the schema exists (its connections need the
    ``vector`` type). ``prepare`` runs the idempotent migration, then opens the pool; until
    then the pool refuses connections, which the service reports as not ready.

    ``credentials``, when given, is awaited for the user and password of every new
    connection (see ``SecretsManagerCredentials``); otherwise ``conninfo`` carries them.
    """

    def __init__(
        self, conninfo: str, *, credentials: Credentials | None = None, max_size: int = 8
    ) -> None:
        self._conninfo = conninfo
        self._credentials = credentials
        self.pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            configure=_configure,
            open=False,
            kwargs=self._connect_kwargs,
            timeout=POOL_WAIT_SECONDS,
        )

    async def _connect_kwargs(self) -> dict[str, Any]:
        login = await self._credentials() if self._credentials is not None else {}
        return {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            **login,
        }

    async def prepare(self) -> None:
        """Migrate, then open the pool. Raises one of ``UNAVAILABLE`` while the database
        cannot be reached (call again later), ``ConfigurationError`` when it never will."""
        async with await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, **await self._connect_kwargs()
        ) as conn:
            await migrate(conn)
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self.pool.close()


async def open_pool(
    conninfo: str, *, credentials: Credentials | None = None, max_size: int = 8
) -> AsyncConnectionPool[Any]:
    """Migrate and open a pool at once (raises if the database is unavailable)."""
    database = Database(conninfo, credentials=credentials, max_size=max_size)
    await database.prepare()
    return database.pool

"""The job queue as a PostgreSQL table: claimed with ``FOR UPDATE SKIP LOCKED``, leased
with an expiry and a fencing token, dead after ``max_attempts`` (local mode: one database,
no extra server). Every statement is its own short READ COMMITTED transaction: ``now()``
is the transaction's start, and REPEATABLE READ would turn a concurrent claim into a
serialization error instead of skipping the locked row."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from rag_app.errors import ConfigurationError
from rag_app.jobqueue.base import DeadLetter, Delivery, QueueDepth

LOCK = 0x52414702  # the schema's advisory lock, like the catalog's MIGRATION_LOCK

SCHEMA = """
CREATE TABLE IF NOT EXISTS rag_job_queue (
    job_id       text PRIMARY KEY,
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    run_after    timestamptz NOT NULL DEFAULT now(),
    lease_token  uuid,            -- new on every claim: fences a worker whose lease expired
    locked_until timestamptz,
    last_error   text,
    enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rag_job_queue_claimable ON rag_job_queue (enqueued_at)
    WHERE state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS rag_job_queue_dead ON rag_job_queue (updated_at) WHERE state = 'dead';
"""

# A dead job sent again starts afresh; a waiting or running one is left alone.
SEND = """
INSERT INTO rag_job_queue (job_id, max_attempts) VALUES (%(id)s, %(max)s)
ON CONFLICT (job_id) DO UPDATE SET state = 'queued', attempts = 0, max_attempts = %(max)s,
    run_after = now(), lease_token = NULL, locked_until = NULL, last_error = NULL,
    enqueued_at = clock_timestamp(), updated_at = now()
WHERE rag_job_queue.state = 'dead'
"""
# Leases that expired on the last attempt: the worker died every time.
SWEEP = """
UPDATE rag_job_queue SET state = 'dead', lease_token = NULL, locked_until = NULL,
    last_error = coalesce(last_error, 'the worker stopped while running the job'),
    updated_at = now()
WHERE state = 'running' AND locked_until < now() AND attempts >= max_attempts
"""
CLAIM = """
WITH next AS (
    SELECT job_id FROM rag_job_queue
    WHERE attempts < max_attempts
      AND ((state = 'queued' AND run_after <= now())
        OR (state = 'running' AND locked_until < now()))
    ORDER BY enqueued_at
    LIMIT %(n)s
    FOR UPDATE SKIP LOCKED
)
UPDATE rag_job_queue q
SET state = 'running', attempts = q.attempts + 1, lease_token = gen_random_uuid(),
    locked_until = now() + make_interval(secs => %(lease)s), updated_at = now()
FROM next WHERE q.job_id = next.job_id
RETURNING q.job_id, q.attempts, q.lease_token
"""
EXTEND = """
UPDATE rag_job_queue SET locked_until = now() + make_interval(secs => %(lease)s),
    updated_at = now()
WHERE job_id = %(id)s AND lease_token = %(token)s AND state = 'running'
"""
COMPLETE = "DELETE FROM rag_job_queue WHERE job_id = %(id)s AND lease_token = %(token)s"
RELEASE = """
UPDATE rag_job_queue
SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
    run_after = now() + make_interval(secs => %(delay)s), last_error = %(reason)s,
    lease_token = NULL, locked_until = NULL, updated_at = now()
WHERE job_id = %(id)s AND lease_token = %(token)s AND state = 'running'
"""
CLAIM_DEAD = """
WITH next AS (
    SELECT job_id FROM rag_job_queue
    WHERE state = 'dead' AND (locked_until IS NULL OR locked_until < now())
    ORDER BY updated_at LIMIT %(n)s
    FOR UPDATE SKIP LOCKED
)
UPDATE rag_job_queue q SET lease_token = gen_random_uuid(),
    locked_until = now() + make_interval(secs => %(lease)s)
FROM next WHERE q.job_id = next.job_id
RETURNING q.job_id, q.attempts, q.lease_token, q.last_error
"""
BURY = "DELETE FROM rag_job_queue WHERE job_id = %(id)s AND lease_token = %(token)s"
DEPTH = """
SELECT count(*) FILTER (WHERE state = 'queued') AS waiting,
       count(*) FILTER (WHERE state = 'running') AS running,
       count(*) FILTER (WHERE state = 'dead') AS dead,
       extract(epoch FROM clock_timestamp() - min(enqueued_at) FILTER (WHERE state = 'queued'))
           AS oldest
FROM rag_job_queue
"""


# A waiting ``dead_letters`` looks again this often: dead jobs are rare, and a worker waits
# on them all the time (its housekeeping), so less often than ``receive`` looks for jobs.
DEAD_POLL_SECONDS = 2.0


def _token(receipt: str) -> uuid.UUID:
    return uuid.UUID(receipt)


class PostgresJobQueue:
    """``rag_job_queue`` in the service's database. ``poll_seconds``: how often a waiting
    ``receive`` looks again (PostgreSQL has no long poll; a claim is a cheap index scan).
    A ``send`` through this same object wakes its waiting ``receive`` at once (a process
    that both takes uploads and runs their jobs, as ``rag-app serve`` does); a job sent by
    another process is found on the next look."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        *,
        lease_seconds: float,
        max_attempts: int,
        poll_seconds: float = 0.5,
    ) -> None:
        self._pool = pool
        self._lease = lease_seconds
        self._max_attempts = max_attempts
        self._poll = poll_seconds
        self._sent = asyncio.Event()

    @property
    def lease_seconds(self) -> float:
        return self._lease

    @property
    def max_attempts(self) -> int:
        return self._max_attempts

    async def _rows(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(statement, params)
            return await cursor.fetchall() if cursor.description else []

    async def _count(self, statement: str, params: dict[str, Any]) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(statement, params)
            return int(cursor.rowcount)

    async def create(self) -> None:
        """Create the queue table; a role that may not (the app's role from ``rag-app
        init-db``, which creates it as the owner) only checks that it exists."""
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
                await conn.execute(SCHEMA)
        except psycopg.errors.InsufficientPrivilege as refused:
            async with self._pool.connection() as conn:
                row = await (
                    await conn.execute("SELECT to_regclass('rag_job_queue') IS NOT NULL")
                ).fetchone()
            if not (row and row[0]):
                raise ConfigurationError(
                    f"this database role may not create the job queue table ({refused}) and "
                    "it does not exist: run `rag-app init-db` with the owner's credentials"
                ) from None

    async def send(self, job_id: str) -> None:
        await self._count(SEND, {"id": job_id, "max": self._max_attempts})
        self._sent.set()

    async def _claim_within(
        self,
        claim: Callable[[], Awaitable[list[dict[str, Any]]]],
        wait: float,
        every: float,
        wake: asyncio.Event | None = None,
    ) -> list[dict[str, Any]]:
        """``claim``'s rows, looking again every ``every`` seconds for up to ``wait``, and at
        once when ``wake`` is set."""
        deadline = time.monotonic() + wait
        while True:
            if wake is not None:
                wake.clear()  # a send from here on is seen: by this claim or by the wait
            rows = await claim()
            if rows or time.monotonic() >= deadline:
                return rows
            pause = min(every, max(0.0, deadline - time.monotonic()))
            if wake is None:
                await asyncio.sleep(pause)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), pause)

    async def receive(self, *, max_messages: int, wait_seconds: float) -> list[Delivery]:
        async def claim() -> list[dict[str, Any]]:
            await self._count(SWEEP, {})
            return await self._rows(CLAIM, {"n": max_messages, "lease": self._lease})

        rows = await self._claim_within(claim, wait_seconds, self._poll, self._sent)
        return [
            Delivery(receipt=str(r["lease_token"]), attempt=r["attempts"], job_id=r["job_id"])
            for r in rows
        ]

    def _fence(self, delivery: Delivery) -> dict[str, Any]:
        return {"id": delivery.job_id, "token": _token(delivery.receipt), "lease": self._lease}

    async def extend(self, delivery: Delivery) -> bool:
        return await self._count(EXTEND, self._fence(delivery)) == 1

    async def complete(self, delivery: Delivery) -> None:
        await self._count(COMPLETE, self._fence(delivery))

    async def release(self, delivery: Delivery, *, reason: str, delay_seconds: float) -> None:
        params = {**self._fence(delivery), "reason": reason, "delay": delay_seconds}
        await self._count(RELEASE, params)

    async def dead_letters(self, *, max_messages: int, wait_seconds: float) -> list[DeadLetter]:
        async def claim() -> list[dict[str, Any]]:
            return await self._rows(CLAIM_DEAD, {"n": max_messages, "lease": self._lease})

        rows = await self._claim_within(claim, wait_seconds, DEAD_POLL_SECONDS)
        return [
            DeadLetter(
                receipt=str(r["lease_token"]),
                job_id=r["job_id"],
                reason=r["last_error"],
                attempts=r["attempts"],
            )
            for r in rows
        ]

    async def bury(self, dead: DeadLetter) -> None:
        await self._count(BURY, {"id": dead.job_id, "token": _token(dead.receipt)})

    async def depth(self) -> QueueDepth:
        rows = await self._rows(DEPTH, {})
        row = rows[0]
        oldest = row["oldest"]
        return QueueDepth(
            waiting=int(row["waiting"]),
            running=int(row["running"]),
            dead=int(row["dead"]),
            oldest_age_seconds=None if oldest is None else float(oldest),
        )

    async def check(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("SELECT 1 FROM rag_job_queue LIMIT 1")

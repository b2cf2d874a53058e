"""Where audit events are kept, and the writer that batches them off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag_app.audit.events import AuditEvent, AuditQuery

log = logging.getLogger(__name__)


@runtime_checkable
class AuditLog(Protocol):
    """An append-only store of events.

    - ``append`` stores every event or raises (nothing is stored twice: an event id that
      exists is skipped); the events are durable when it returns.
    - ``query`` returns the events matching ``query``, ordered by event id (time).
    - No method changes or removes an event, and the store itself refuses to (the
      database role's grants, or S3 Object Lock).
    """

    async def append(self, events: Sequence[AuditEvent]) -> None: ...

    async def query(self, query: AuditQuery) -> list[AuditEvent]: ...


class AuditWriter:
    """Takes events without waiting and appends them in batches every ``flush_seconds``
    (or at once past ``batch_size``), so a request pays for a list append, not a write.

    A failed append keeps the batch and retries at the next flush. ``close`` flushes what
    is left: a clean shutdown loses nothing. A crash loses the events of the last
    ``flush_seconds`` (at most ``max_pending`` of them if the store was failing)."""

    def __init__(
        self,
        store: AuditLog,
        *,
        flush_seconds: float = 0.2,
        batch_size: int = 500,
        max_pending: int = 100_000,
    ) -> None:
        self.store = store
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._pending: list[AuditEvent] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def record(self, event: AuditEvent) -> None:
        if len(self._pending) >= self._max_pending:
            log.error(
                "audit store failing: %d events pending, dropping the oldest", self._max_pending
            )
            del self._pending[0]
        self._pending.append(event)
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._flush_seconds)
            self._wake.clear()
            try:
                await self.flush()
            except Exception as e:
                log.warning(
                    "audit append failed (%s); %d events kept for retry", e, len(self._pending)
                )

    async def flush(self) -> None:
        """Append every pending event now; raises (keeping them) if the store fails."""
        async with self._lock:
            while self._pending:
                batch = self._pending[: self._batch_size]
                await self.store.append(batch)
                del self._pending[: len(batch)]

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        except Exception:
            log.exception("audit: %d events could not be written at shutdown", len(self._pending))

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)


class JobRunner:
    """Runs ingestion jobs in the background, ``concurrency`` at a time, in submission order.

    Job state lives in the catalog, not here: a job interrupted by a stop stays queued or
    running there and is submitted again at the next start.
    """

    def __init__(self, run: Callable[[str], Awaitable[None]], *, concurrency: int) -> None:
        self._run = run
        self._concurrency = concurrency
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []

    def start(self, pending: Iterable[str] = ()) -> None:
        for job_id in pending:
            self.submit(job_id)
        self._workers = [
            asyncio.create_task(self._work(), name=f"ingest-worker-{i}")
            for i in range(self._concurrency)
        ]

    def submit(self, job_id: str) -> None:
        self._queue.put_nowait(job_id)

    async def join(self) -> None:
        """Wait until every job submitted so far has run (returns at once when none wait).
        Needs ``start``: without workers nothing drains the queue."""
        await self._queue.join()

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            try:
                await self._run(job_id)
            except Exception:
                # run() records failures on the job itself; this is a bug in that path.
                log.exception("ingestion job %s crashed", job_id)
            finally:
                self._queue.task_done()

"""Workers: take jobs from the queue, run them with a lease heartbeat, and acknowledge only
once the job's result is committed.

- A job that fails in a way another attempt may not repeat goes back to the queue with a
  backoff; after the queue's ``max_attempts`` it is dead, and the worker that finds it
  marks the job failed with the last reason.
- A worker that dies (SIGKILL, out of memory) stops renewing its lease; the job is
  offered again when the lease expires. Effects are idempotent (a document's chunks are
  replaced), so the second run leaves exactly one copy.
- ``stop()`` (SIGTERM) stops taking jobs, lets running ones finish within
  ``shutdown_seconds``, then cancels the rest and gives their messages back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

from rag_app.catalog.base import Catalog
from rag_app.domain import JobStatus
from rag_app.errors import RagError
from rag_app.ingest.jobs import Retry
from rag_app.ingest.service import IngestionService
from rag_app.jobqueue.base import DeadLetter, Delivery, JobQueue
from rag_app.jobqueue.inbox import InboxReader
from rag_app.metrics import MetricsLog

log = logging.getLogger(__name__)
T = TypeVar("T")

FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


def backoff_seconds(attempt: int, lease_seconds: float) -> float:
    """Wait before offering a failed job again: 2, 4, 8... seconds, at most a lease."""
    return float(min(2**attempt, max(1.0, lease_seconds)))


class Worker:
    """``concurrency`` jobs at a time from ``queue``. ``inbox``: reads S3 inbox objects
    (None: such messages are left to go dead, with a log line)."""

    def __init__(
        self,
        queue: JobQueue,
        ingestion: IngestionService,
        catalog: Catalog,
        *,
        concurrency: int,
        metrics: MetricsLog,
        inbox: InboxReader | None = None,
        wait_seconds: float = 20.0,
        shutdown_seconds: float = 30.0,
        stats_seconds: float = 60.0,
    ) -> None:
        self._queue = queue
        self._ingestion = ingestion
        self._catalog = catalog
        self._concurrency = concurrency
        self._metrics = metrics
        self._inbox = inbox
        self._wait = wait_seconds
        self._shutdown = shutdown_seconds
        self._stats_seconds = stats_seconds
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0

    def start(self) -> None:
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._slot(), name=f"ingest-worker-{i}")
            for i in range(self._concurrency)
        ]
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="ingest-dead-letters"))

    async def stop(self) -> None:
        """Stop taking jobs; wait up to ``shutdown_seconds`` for running ones, then cancel
        them (their messages go back to the queue at once)."""
        self._stopping.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=self._shutdown)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def idle(self, *, poll_seconds: float = 0.1) -> None:
        """Return once the queue has nothing waiting or running and no slot is busy
        (tests, ``rag-app ingest``)."""
        while True:
            depth = await self._queue.depth()
            if depth.waiting == 0 and depth.running == 0 and self._busy == 0:
                return
            await asyncio.sleep(poll_seconds)

    async def _unless_stopped(self, poll: Awaitable[T]) -> T | None:
        """``poll``'s result, or None once stopping: a pending long poll is abandoned (a
        message it then receives comes back after its lease)."""
        polling = asyncio.ensure_future(poll)
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not polling.done():
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await polling
            return None
        return polling.result()

    async def _receive(self) -> list[Delivery] | None:
        """The next deliveries, or None once stopping."""
        return await self._unless_stopped(
            self._queue.receive(max_messages=1, wait_seconds=self._wait)
        )

    async def _slot(self) -> None:
        while not self._stopping.is_set():
            try:
                deliveries = await self._receive()
            except Exception as e:  # the queue is unreachable: keep trying, gently
                log.warning("could not receive from the job queue: %s", e)
                await asyncio.sleep(min(5.0, self._wait or 1.0))
                continue
            if deliveries is None:
                return
            for delivery in deliveries:
                self._busy += 1
                try:
                    await self._handle(delivery)
                finally:
                    self._busy -= 1

    async def _handle(self, delivery: Delivery) -> None:
        work = asyncio.ensure_future(self._process(delivery))
        heartbeat = asyncio.ensure_future(self._heartbeat(delivery, work))
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling() == 0:
                return  # the heartbeat stopped the job: its lease was lost
            # Shutdown past its deadline: stop the job and hand the message back now.
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self._queue.release(delivery, reason="the worker stopped", delay_seconds=0)
                )
            raise
        except Exception:
            log.exception("handling a queue message failed; it will be offered again")
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, delivery: Delivery, work: asyncio.Future[None]) -> None:
        while not work.done():
            await asyncio.sleep(self._queue.lease_seconds / 3)
            try:
                held = await self._queue.extend(delivery)
            except Exception as e:
                log.warning("could not renew a job's lease: %s", e)
                continue
            if not held:  # another worker has it now: stop duplicating its work
                log.warning("lost the lease of %s; stopping it here", delivery.job_id)
                work.cancel()
                return

    async def _process(self, delivery: Delivery) -> None:
        if delivery.job_id is None:
            await self._take_inbox(delivery)
            return
        started = time.monotonic()
        received = datetime.now(UTC)
        outcome = await self._ingestion.run_job(delivery.job_id, may_retry=True)
        seconds = time.monotonic() - started
        if not isinstance(outcome, Retry):
            await self._queue.complete(delivery)  # after the result is committed
            if outcome is not None:  # None: a duplicate message, cancelled or deleted
                failed = outcome.status is JobStatus.FAILED
                self._metrics.emit(
                    {
                        "JobWaitSeconds": (received - outcome.created_at).total_seconds(),
                        "JobSeconds": seconds,
                        "JobsSucceeded": 0 if failed else 1,
                        "JobsFailed": 1 if failed else 0,
                    },
                    job_id=outcome.job_id,
                )
            return
        log.warning(
            "job %s attempt %d of %d failed: %s",
            delivery.job_id,
            delivery.attempt,
            self._queue.max_attempts,
            outcome.reason,
        )
        await self._queue.release(
            delivery,
            reason=outcome.reason,
            delay_seconds=backoff_seconds(delivery.attempt, self._queue.lease_seconds),
        )
        self._metrics.emit({"JobsRetried": 1, "JobSeconds": seconds}, job_id=delivery.job_id)

    async def _take_inbox(self, delivery: Delivery) -> None:
        if self._inbox is None:
            log.error("an inbox event arrived but this worker reads no bucket; left to retry")
            return
        for found in delivery.inbox:
            try:
                upload = await self._inbox.upload(found)
                submission = await self._ingestion.submit(upload)
            except RagError as e:  # the object can never be ingested: say so, and drop it
                log.warning("inbox object s3://%s/%s refused: %s", found.bucket, found.key, e)
                self._metrics.emit({"JobsFailed": 1}, inbox_key=found.key, reason=str(e))
                continue
            log.info(
                "inbox object s3://%s/%s -> document %s (job %s%s)",
                found.bucket,
                found.key,
                submission.document_id,
                submission.job_id,
                ", duplicate" if submission.duplicate else "",
            )
        await self._queue.complete(delivery)

    async def _housekeeping(self) -> None:
        """Dead letters to failed jobs, and queue depth as metrics every ``stats_seconds``.

        Dead letters are waited for like jobs, ``wait_seconds`` at a time (SQS: a long poll
        of the dead-letter queue, one request per 20 s while none arrives, and a dead letter
        is taken as soon as it lands there). A wait that ends early with nothing (an error,
        or no wait at all) is made up, so the queue is asked at most once per
        ``wait_seconds`` (2 s with no wait) while nothing is dead."""
        last_stats = 0.0
        period = self._wait or 2.0
        while not self._stopping.is_set():
            started = time.monotonic()
            found: list[DeadLetter] | None = []
            try:
                found = await self._unless_stopped(
                    self._queue.dead_letters(max_messages=10, wait_seconds=self._wait)
                )
                if found is None:
                    return
                for dead in found:
                    await self._bury(dead)
                if time.monotonic() - last_stats >= self._stats_seconds:
                    last_stats = time.monotonic()
                    depth = await self._queue.depth()
                    values = {
                        "QueueWaiting": float(depth.waiting),
                        "QueueRunning": float(depth.running),
                        "QueueDead": float(depth.dead),
                    }
                    if depth.oldest_age_seconds is not None:
                        values["OldestJobAgeSeconds"] = depth.oldest_age_seconds
                    self._metrics.emit(values)
            except Exception as e:
                log.warning("queue housekeeping failed: %s", e)
                found = []
            if not found:
                rest = max(0.0, period - (time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=rest)

    async def _bury(self, dead: DeadLetter) -> None:
        if dead.job_id is None:
            log.error("dead letter: %s", dead.reason or "a message that names no job")
        else:
            job = await self._catalog.get_job(dead.job_id)
            if job is not None and job.status not in FINISHED:
                last = dead.reason or job.error or "the worker stopped while running it"
                reason = f"gave up after {dead.attempts} attempts; last failure: {last}"
                await self._ingestion.abandon(dead.job_id, reason)
                self._metrics.emit({"JobsFailed": 1}, job_id=dead.job_id, reason=reason)
                log.error("job %s: %s", dead.job_id, reason)
        await self._queue.bury(dead)

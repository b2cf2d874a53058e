"""The job queue interface: at-least-once delivery of job ids to workers, with leases.

A job's *state* lives in the catalog; the queue only decides which worker runs it next and
when a job that failed (or whose worker died) is offered again. Effects of a job are
idempotent (a document's chunks are replaced, never appended), so a second delivery after a
lost lease costs work, not correctness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class InboxObject:
    """An object put under ``inbox/<collection>/`` in the documents bucket (an S3 event)."""

    bucket: str
    key: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One receipt of one message. ``attempt`` counts from 1 and includes this one (SQS:
    ``ApproximateReceiveCount``). Either ``job_id`` is set or ``inbox`` holds the objects
    one S3 event message announced.
    ``receipt`` identifies this receipt to ``extend``/``complete``/``release`` (a lease
    token or a receipt handle): a stale one no longer holds the lease."""

    receipt: str
    attempt: int
    job_id: str | None = None
    inbox: tuple[InboxObject, ...] = ()


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that ran out of attempts (``max_attempts`` receipts without ``complete``).
    ``reason`` is the last failure the queue knows of (None: the worker died each time, or
    the engine does not keep reasons: read the job's own ``error``)."""

    receipt: str
    job_id: str | None
    reason: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """Approximate counts (SQS's are eventually consistent). ``oldest_age_seconds``: age of
    the oldest waiting message, when the engine can tell (SQS reports it only to
    CloudWatch, as ``ApproximateAgeOfOldestMessage``)."""

    waiting: int
    running: int
    dead: int
    oldest_age_seconds: float | None


@runtime_checkable
class JobQueue(Protocol):
    """Leased, at-least-once delivery of ingestion jobs.

    - A received message is invisible to other receivers for ``lease_seconds``; ``extend``
      renews that while the job runs (the heartbeat). A receiver that stops renewing (killed,
      hung) loses the lease and the message is delivered again, its ``attempt`` one higher.
    - After ``max_attempts`` receipts without ``complete``, the message is dead (the
      dead-letter queue, or the ``dead`` state): it is no longer delivered by ``receive`` and
      is offered once by ``dead_letters`` so the job can be marked failed, then ``bury``.
    """

    @property
    def lease_seconds(self) -> float: ...

    @property
    def max_attempts(self) -> int: ...

    async def create(self) -> None:
        """Create what the engine needs (table) or check that the queue exists. Idempotent."""
        ...

    async def send(self, job_id: str) -> None:
        """Offer a job to workers. Sending a job id already waiting or running is harmless
        (PostgreSQL: no-op; SQS: a second message, which the worker skips once the job is
        finished). Sending a job whose earlier message is dead starts it afresh."""
        ...

    async def receive(self, *, max_messages: int, wait_seconds: float) -> list[Delivery]:
        """Up to ``max_messages`` deliveries, each leased to the caller; waits up to
        ``wait_seconds`` (long polling) when none is ready, then returns ``[]``."""
        ...

    async def extend(self, delivery: Delivery) -> bool:
        """Renew the lease for another ``lease_seconds``; ``False`` if it is lost (expired
        and taken by another receiver, completed, or unknown): the caller must stop."""
        ...

    async def complete(self, delivery: Delivery) -> None:
        """Remove the message for good; call only after the job's result is committed.
        A lost lease is not an error (the other receiver's result stands)."""
        ...

    async def release(self, delivery: Delivery, *, reason: str, delay_seconds: float) -> None:
        """Give the message back: offered again after ``delay_seconds`` (0: at once), or dead
        if this was its last attempt. ``reason`` is kept as the last failure where the
        engine can (PostgreSQL)."""
        ...

    async def dead_letters(self, *, max_messages: int, wait_seconds: float) -> list[DeadLetter]:
        """Dead messages not yet buried, each leased like a delivery. Waits up to
        ``wait_seconds`` when there are none and returns as soon as one is dead (SQS: a long
        poll of the dead-letter queue; PostgreSQL: it looks again every 2 s), then returns
        ``[]``. ``wait_seconds=0``: one look, no wait."""
        ...

    async def bury(self, dead: DeadLetter) -> None:
        """Forget a dead message once its job is marked failed."""
        ...

    async def depth(self) -> QueueDepth: ...

    async def check(self) -> None:
        """Raise if the queue cannot be reached now (readiness)."""
        ...

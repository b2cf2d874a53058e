"""One contract suite for every JobQueue engine: PostgreSQL (the embedded cluster) and
Amazon SQS (moto's server through real boto3). Leases are 1-2 s: the clock is real."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rag_app.jobqueue.base import JobQueue
from rag_app.jobqueue.postgres import PostgresJobQueue
from rag_app.jobqueue.sqs import SqsJobQueue
from rag_app.postgres.pool import open_pool
from tests.support.sqs_queues import create_sqs_pair

pytestmark = pytest.mark.anyio

LEASE = 2.0  # SQS visibility timeouts are whole seconds
MAX_ATTEMPTS = 3


@pytest.fixture(params=["postgres", "sqs"])
async def queue(
    request: pytest.FixtureRequest, database_url: str, moto_s3: Any
) -> AsyncIterator[JobQueue]:
    engine: JobQueue
    if request.param == "postgres":
        pool = await open_pool(database_url, max_size=6)
        engine = PostgresJobQueue(
            pool, lease_seconds=LEASE, max_attempts=MAX_ATTEMPTS, poll_seconds=0.05
        )
        await engine.create()
        yield engine
        await pool.close()
    else:
        pair = create_sqs_pair(
            moto_s3.meta.endpoint_url, visibility=int(LEASE), max_receives=MAX_ATTEMPTS
        )
        engine = SqsJobQueue(
            pair.client,
            queue_url=pair.url,
            dead_letter_url=pair.dead_letter_url,
            lease_seconds=LEASE,
            max_attempts=99,  # the redrive policy's maxReceiveCount wins
        )
        await engine.create()
        yield engine


def job_id() -> str:
    return uuid.uuid4().hex


async def test_create_reads_the_attempt_limit_and_is_idempotent(queue: JobQueue) -> None:
    await queue.create()
    assert queue.max_attempts == MAX_ATTEMPTS
    await queue.check()


async def test_a_sent_job_is_delivered_once_and_hidden_while_leased(queue: JobQueue) -> None:
    sent = job_id()
    await queue.send(sent)
    [delivery] = await queue.receive(max_messages=10, wait_seconds=1)
    assert (delivery.job_id, delivery.attempt, delivery.inbox) == (sent, 1, ())
    assert await queue.receive(max_messages=10, wait_seconds=0) == []


async def test_an_empty_queue_waits_then_returns_nothing(queue: JobQueue) -> None:
    started = time.monotonic()
    assert await queue.receive(max_messages=1, wait_seconds=1) == []
    assert time.monotonic() - started >= 0.9


async def _sent_during_a_wait(queue: JobQueue, *, after: float, wait: float) -> float:
    """Seconds a ``receive`` waiting ``wait`` took to get the job sent ``after`` seconds in."""
    sent = job_id()

    async def send_later() -> None:
        await asyncio.sleep(after)
        await queue.send(sent)

    started = time.monotonic()
    task = asyncio.ensure_future(send_later())
    deliveries = await queue.receive(max_messages=1, wait_seconds=wait)
    await task
    assert [d.job_id for d in deliveries] == [sent]
    return time.monotonic() - started


async def test_a_send_during_a_wait_is_received_before_the_wait_ends(queue: JobQueue) -> None:
    assert await _sent_during_a_wait(queue, after=0.5, wait=5) < 4


async def test_a_completed_job_is_never_delivered_again(queue: JobQueue) -> None:
    await queue.send(job_id())
    [delivery] = await queue.receive(max_messages=1, wait_seconds=1)
    await queue.complete(delivery)
    await queue.complete(delivery)  # twice: harmless
    await asyncio.sleep(LEASE + 0.3)
    assert await queue.receive(max_messages=1, wait_seconds=0) == []


async def test_an_expired_lease_delivers_the_job_again_with_the_next_attempt(
    queue: JobQueue,
) -> None:
    sent = job_id()
    await queue.send(sent)
    await queue.receive(max_messages=1, wait_seconds=1)
    await asyncio.sleep(LEASE + 0.3)  # the receiver died: no heartbeat
    [again] = await queue.receive(max_messages=1, wait_seconds=2)
    assert (again.job_id, again.attempt) == (sent, 2)


async def test_a_heartbeat_keeps_the_lease_past_its_expiry(queue: JobQueue) -> None:
    await queue.send(job_id())
    [delivery] = await queue.receive(max_messages=1, wait_seconds=1)
    for _ in range(3):  # 3 s in all, past the 2 s lease
        await asyncio.sleep(LEASE / 2)
        assert await queue.extend(delivery) is True
    assert await queue.receive(max_messages=1, wait_seconds=0) == []


async def test_release_offers_the_job_again_after_the_delay(queue: JobQueue) -> None:
    sent = job_id()
    await queue.send(sent)
    [first] = await queue.receive(max_messages=1, wait_seconds=1)
    await queue.release(first, reason="the reader crashed", delay_seconds=0)
    [second] = await queue.receive(max_messages=1, wait_seconds=1)
    assert (second.job_id, second.attempt) == (sent, 2)
    await queue.release(second, reason="again", delay_seconds=LEASE)
    assert await queue.receive(max_messages=1, wait_seconds=0) == []


async def _dead_letters(queue: JobQueue) -> list[Any]:
    # SQS moves a message to its DLQ on the receive after its last attempt.
    assert await queue.receive(max_messages=1, wait_seconds=0) == []
    return await queue.dead_letters(max_messages=10, wait_seconds=0)


async def test_after_its_last_failed_attempt_a_job_is_dead_and_offered_once(
    queue: JobQueue,
) -> None:
    sent, other = job_id(), job_id()
    await queue.send(sent)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [delivery] = await queue.receive(max_messages=1, wait_seconds=1)
        assert (delivery.job_id, delivery.attempt) == (sent, attempt)
        await queue.release(delivery, reason=f"failure {attempt}", delay_seconds=0)
    [dead] = await _dead_letters(queue)
    assert dead.job_id == sent
    assert dead.reason in (f"failure {MAX_ATTEMPTS}", None)  # SQS keeps no reason
    await queue.send(other)  # the others are unaffected
    [delivery] = await queue.receive(max_messages=1, wait_seconds=1)
    assert delivery.job_id == other
    assert (await queue.depth()).dead == 1
    await queue.bury(dead)
    assert await queue.dead_letters(max_messages=10, wait_seconds=0) == []
    assert (await queue.depth()).dead == 0


async def test_with_nothing_dead_a_dead_letter_wait_ends_empty(queue: JobQueue) -> None:
    await queue.send(job_id())  # waiting, not dead
    started = time.monotonic()
    assert await queue.dead_letters(max_messages=10, wait_seconds=1) == []
    assert time.monotonic() - started >= 0.9


async def test_a_job_that_dies_during_a_dead_letter_wait_is_offered_before_it_ends(
    queue: JobQueue,
) -> None:
    sent = job_id()
    await queue.send(sent)
    for _ in range(MAX_ATTEMPTS - 1):
        [delivery] = await queue.receive(max_messages=1, wait_seconds=1)
        await queue.release(delivery, reason="again", delay_seconds=0)
    [last] = await queue.receive(max_messages=1, wait_seconds=1)

    async def fail_last_attempt_later() -> None:
        await asyncio.sleep(0.5)
        await queue.release(last, reason="the last failure", delay_seconds=0)
        assert await queue.receive(max_messages=1, wait_seconds=0) == []  # SQS: to the DLQ

    started = time.monotonic()
    failing = asyncio.ensure_future(fail_last_attempt_later())
    [dead] = await queue.dead_letters(max_messages=10, wait_seconds=10)
    await failing
    assert dead.job_id == sent
    assert time.monotonic() - started < 4  # PostgreSQL looks every 2 s; SQS at once


@pytest.mark.slow  # three leases run out: 6 s per engine
async def test_a_job_whose_workers_all_died_is_dead_after_the_last_lease(
    queue: JobQueue,
) -> None:
    sent = job_id()
    await queue.send(sent)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [delivery] = await queue.receive(max_messages=1, wait_seconds=LEASE + 1.5)
        assert delivery.attempt == attempt
    await asyncio.sleep(LEASE + 0.3)
    [dead] = await _dead_letters(queue)
    assert dead.job_id == sent


async def test_sending_a_dead_job_again_starts_it_afresh(queue: JobQueue) -> None:
    sent = job_id()
    await queue.send(sent)
    for _ in range(MAX_ATTEMPTS):
        [delivery] = await queue.receive(max_messages=1, wait_seconds=1)
        await queue.release(delivery, reason="x", delay_seconds=0)
    for dead in await _dead_letters(queue):
        await queue.bury(dead)
    await queue.send(sent)
    [delivery] = await queue.receive(max_messages=1, wait_seconds=1)
    assert (delivery.job_id, delivery.attempt) == (sent, 1)


async def test_depth_counts_waiting_and_running_jobs(queue: JobQueue) -> None:
    for _ in range(3):
        await queue.send(job_id())
    await queue.receive(max_messages=1, wait_seconds=1)
    depth = await queue.depth()
    assert (depth.waiting, depth.running, depth.dead) == (2, 1, 0)


async def test_concurrent_receivers_never_get_the_same_job(queue: JobQueue) -> None:
    sent = {job_id() for _ in range(30)}
    for one in sent:
        await queue.send(one)
    received: list[str] = []

    async def receiver() -> None:
        while True:
            deliveries = await queue.receive(max_messages=2, wait_seconds=0)
            if not deliveries:
                return
            for delivery in deliveries:
                assert delivery.job_id is not None
                received.append(delivery.job_id)
                await queue.complete(delivery)

    await asyncio.gather(*(receiver() for _ in range(4)))
    assert sorted(received) == sorted(sent)


async def test_postgres_a_send_wakes_a_waiting_receive_of_the_same_queue_at_once(
    database_url: str,
) -> None:
    """``rag-app serve`` takes the upload and runs its job: the job starts without waiting
    out the poll interval (30 s here)."""
    pool = await open_pool(database_url, max_size=4)
    try:
        engine = PostgresJobQueue(
            pool, lease_seconds=LEASE, max_attempts=MAX_ATTEMPTS, poll_seconds=30
        )
        await engine.create()
        assert await _sent_during_a_wait(engine, after=0.3, wait=20) < 3
    finally:
        await pool.close()

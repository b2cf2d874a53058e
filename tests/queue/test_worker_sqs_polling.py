"""What an idle worker costs on SQS, and that its long polls delay neither dead-letter
handling nor shutdown: a worker in this process on moto's server through real boto3 (every
request counted where botocore makes it), and a `rag-app worker` process stopped by
SIGTERM. The worker keeps the production default, a 20 s wait."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient

from rag_app.cost.requests import SQS_REQUESTS_PER_WORKER_HOUR
from rag_app.domain import JobStatus
from rag_app.embedders.base import Embedder
from rag_app.ingest.service import Upload
from rag_app.jobqueue.worker import Worker
from rag_app.metrics import MetricsLog
from rag_app.services import Services, open_services
from rag_app.settings import Settings
from tests.conftest import CORPUS, _fresh_database
from tests.support.processes import start, stopped_at_exit, wait_until_started
from tests.support.sqs_queues import SqsPair, create_sqs_pair

PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
DEPTH_READS_PER_HOUR = 2 * 60  # two GetQueueAttributes a minute (the worker's stats_seconds)


class SqsRequests:
    """Every SQS request the app's clients make (not the test's own ``ignore``d client):
    its operation, queue URL and ``WaitTimeSeconds``."""

    def __init__(self, ignore: Any) -> None:
        self.made: list[tuple[str, str, int | None]] = []
        self._ignore = id(ignore)

    def wrap(self, make: Callable[..., Any]) -> Callable[..., Any]:
        def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if id(client) != self._ignore and client.meta.service_model.service_name == "sqs":
                self.made.append(
                    (operation, params.get("QueueUrl", ""), params.get("WaitTimeSeconds"))
                )
            return make(client, operation, params)

        return counted

    def receives(self, url: str) -> list[int | None]:
        """The ``WaitTimeSeconds`` of each ``ReceiveMessage`` on ``url``."""
        return [wait for op, on, wait in self.made if op == "ReceiveMessage" and on == url]


def _settings(database_url: str, tmp_path: Path, pair: SqsPair) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        queue="sqs",
        sqs_queue_url=pair.url,
        sqs_dead_letter_queue_url=pair.dead_letter_url,
    )


def _worker(services: Services) -> Worker:
    settings = services.settings
    return Worker(
        services.queue,
        services.ingestion,
        services.catalog,
        concurrency=1,
        metrics=MetricsLog(),
        wait_seconds=settings.queue_wait_seconds,
        shutdown_seconds=settings.worker_shutdown_seconds,
    )


@pytest.mark.anyio
async def test_an_idle_worker_long_polls_the_dead_letter_queue_and_stops_at_once(
    database_url: str,
    tmp_path: Path,
    moto_s3: Any,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair = create_sqs_pair(moto_s3.meta.endpoint_url, visibility=30, max_receives=3)
    requests = SqsRequests(ignore=pair.client)
    monkeypatch.setattr(BaseClient, "_make_api_call", requests.wrap(BaseClient._make_api_call))
    settings = _settings(database_url, tmp_path, pair)
    assert settings.queue_wait_seconds == 20  # the default the stacks run
    async with open_services(settings, run_jobs=False, embedder=embedder) as services:
        worker = _worker(services)
        requests.made.clear()
        worker.start()
        await asyncio.sleep(3)  # the short poll this replaces asked the DLQ at 0 s and 2 s
        started = time.monotonic()
        await worker.stop()
        stopped_in = time.monotonic() - started
    dead_letter_polls = requests.receives(pair.dead_letter_url)
    job_polls = requests.receives(pair.url)
    assert dead_letter_polls == [20]
    assert job_polls == [20]
    assert len(requests.made) == 2  # nothing else in those 3 s (the depth read follows a poll)
    assert stopped_in < 1, "stopping waited for a long poll"
    hourly = sum(3600 // wait for wait in dead_letter_polls + job_polls if wait)
    print(
        f"\nidle worker, one job slot: {hourly + DEPTH_READS_PER_HOUR} SQS requests an hour "
        f"(long polls {job_polls + dead_letter_polls} s, depth read twice a minute); "
        f"stop() returned in {stopped_in:.3f} s"
    )
    assert hourly + DEPTH_READS_PER_HOUR == SQS_REQUESTS_PER_WORKER_HOUR


@pytest.mark.anyio
async def test_a_dead_letter_is_taken_at_once_during_the_long_poll(
    database_url: str, tmp_path: Path, moto_s3: Any, embedder: Embedder
) -> None:
    pair = create_sqs_pair(moto_s3.meta.endpoint_url, visibility=30, max_receives=3)
    settings = _settings(database_url, tmp_path, pair)
    async with open_services(settings, run_jobs=False, embedder=embedder) as services:
        submitted = await services.ingestion.submit(Upload(PDF.name, PDF.read_bytes()))
        # Its job message is taken off the queue: the job only ever reaches the DLQ.
        (message,) = pair.client.receive_message(QueueUrl=pair.url, WaitTimeSeconds=1)["Messages"]
        pair.client.delete_message(QueueUrl=pair.url, ReceiptHandle=message["ReceiptHandle"])
        worker = _worker(services)
        worker.start()
        try:
            await asyncio.sleep(1)  # the worker's DLQ long poll is under way
            pair.client.send_message(
                QueueUrl=pair.dead_letter_url, MessageBody=json.dumps({"job_id": submitted.job_id})
            )
            sent = time.monotonic()
            while (job := await services.catalog.get_job(submitted.job_id)) is None or (
                job.status is not JobStatus.FAILED
            ):
                assert time.monotonic() - sent < 10, "the dead letter was not taken"
                await asyncio.sleep(0.05)
            taken_in = time.monotonic() - sent
        finally:
            await worker.stop()
        depth = await services.queue.depth()
    print(f"\ndead letter taken {taken_in:.2f} s after it reached the DLQ (20 s long polls)")
    assert taken_in < 3
    assert job.error is not None
    assert job.error.startswith("gave up after 3 attempts")
    assert depth.dead == 0  # buried


def test_a_worker_process_exits_at_once_on_sigterm_during_its_long_polls(
    postgres_url: str, moto_s3: Any, tmp_path: Path
) -> None:
    pair = create_sqs_pair(moto_s3.meta.endpoint_url, visibility=30, max_receives=3)
    env = {
        "RAG_DATABASE_URL": _fresh_database(postgres_url),
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_QUEUE": "sqs",
        "RAG_SQS_QUEUE_URL": pair.url,
        "RAG_SQS_DEAD_LETTER_QUEUE_URL": pair.dead_letter_url,
    }
    worker = start(["worker"], env, tmp_path / "worker")
    with stopped_at_exit(worker):
        wait_until_started(worker)
        time.sleep(1.5)  # both long polls (job queue, DLQ) are under way
        started = time.monotonic()
        code = worker.stop(signal.SIGTERM, timeout=30)
        exited_in = time.monotonic() - started
    print(f"\nrag-app worker exited {exited_in:.2f} s after SIGTERM (20 s long polls)")
    assert code == 0, worker.log.read_text()
    assert exited_in < 5, "the process waited for its long polls to end"
    assert "worker: stopping" in worker.log.read_text()

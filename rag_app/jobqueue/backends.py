"""The job queue engines by name (``RAG_QUEUE``), and the workers that take from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rag_app.aws.clients import AwsClients
from rag_app.catalog.base import Catalog
from rag_app.ingest.service import IngestionService
from rag_app.jobqueue.base import JobQueue
from rag_app.jobqueue.inbox import InboxReader
from rag_app.jobqueue.postgres import PostgresJobQueue
from rag_app.jobqueue.sqs import SqsJobQueue
from rag_app.jobqueue.worker import Worker
from rag_app.metrics import MetricsLog
from rag_app.settings import Settings


def _postgres(settings: Settings, aws: AwsClients, pool: Any) -> JobQueue:
    assert pool is not None  # settings.needs_postgres
    return PostgresJobQueue(
        pool,
        lease_seconds=settings.queue_lease_seconds,
        max_attempts=settings.queue_max_attempts,
        poll_seconds=min(0.5, settings.queue_wait_seconds or 0.5),
    )


def _sqs(settings: Settings, aws: AwsClients, pool: Any) -> JobQueue:
    assert settings.sqs_queue_url  # validated with the DLQ's
    assert settings.sqs_dead_letter_queue_url
    return SqsJobQueue(
        aws.client("sqs"),
        queue_url=settings.sqs_queue_url,
        dead_letter_url=settings.sqs_dead_letter_queue_url,
        lease_seconds=settings.queue_lease_seconds,
        max_attempts=settings.queue_max_attempts,
    )


BACKENDS: dict[str, Callable[[Settings, AwsClients, Any], JobQueue]] = {
    "postgres": _postgres,
    "sqs": _sqs,
}


def build(settings: Settings, aws: AwsClients, *, pool: Any) -> JobQueue:
    """The job queue ``settings.queue`` names."""
    return BACKENDS[settings.queue](settings, aws, pool)


def build_worker(
    settings: Settings,
    aws: AwsClients,
    queue: JobQueue,
    ingestion: IngestionService,
    catalog: Catalog,
    *,
    concurrency: int,
    metrics: MetricsLog,
) -> Worker:
    """``concurrency`` job slots on ``queue``; with S3 originals, it also reads the
    bucket's inbox objects (their S3 event notifications arrive on the same queue)."""
    inbox = None
    if settings.blob_store == "s3":
        inbox = InboxReader(
            aws.client("s3"), max_bytes=max(settings.max_upload_bytes, settings.max_media_bytes)
        )
    return Worker(
        queue,
        ingestion,
        catalog,
        concurrency=concurrency,
        metrics=metrics,
        inbox=inbox,
        wait_seconds=settings.queue_wait_seconds,
        shutdown_seconds=settings.worker_shutdown_seconds,
    )

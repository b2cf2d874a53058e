"""The composition root: wires the backends ``Settings`` name (each package's
``backends.build``) into the services, and runs their lifecycle (start, readiness, stop).
Nothing else builds a service."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import psycopg

from rag_app.answerers import backends as answerers
from rag_app.answerers.base import Answerer
from rag_app.answerers.bedrock import BedrockAnswerer
from rag_app.audit import backends as audits
from rag_app.audit.log import AuditWriter
from rag_app.auth import backends as auth
from rag_app.auth.authenticator import Authenticator
from rag_app.aws.clients import AwsClients
from rag_app.blobstores import backends as blobstores
from rag_app.blobstores.base import BlobStore
from rag_app.catalog import backends as catalogs
from rag_app.catalog.base import Catalog
from rag_app.conversations import backends as conversations
from rag_app.conversations.service import ConversationService
from rag_app.documents import DocumentService
from rag_app.embedders import backends as embedders
from rag_app.embedders.base import Embedder
from rag_app.embedders.bedrock_titan import BedrockTitanEmbedder
from rag_app.embedders.metered import MeteredEmbedder
from rag_app.embedders.shared import SharedEmbedderView
from rag_app.errors import ConfigurationError
from rag_app.ingest import backends as extractors
from rag_app.ingest.chunking import ChunkLimits
from rag_app.ingest.jobs import IngestionJobs
from rag_app.ingest.service import IngestionService, IngestLimits
from rag_app.jobqueue import backends as jobqueues
from rag_app.jobqueue.base import JobQueue
from rag_app.jobqueue.worker import Worker
from rag_app.metrics import MetricsLog
from rag_app.model_access import ModelAccess, Probe
from rag_app.postgres.login import database_login
from rag_app.postgres.pool import UNAVAILABLE, Database
from rag_app.rerankers import backends as rerankers
from rag_app.retrieval import QueryService
from rag_app.settings import Settings
from rag_app.vectorstores import backends as vectorstores
from rag_app.vectorstores.base import VectorStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    ready: asyncio.Event  # set once the database is migrated and the stores exist
    authenticator: Authenticator | None  # None: no authentication (loopback only)
    catalog: Catalog
    blobs: BlobStore
    store: VectorStore
    embedder: Embedder
    answerer: Answerer
    ingestion: IngestionService
    documents: DocumentService  # what the API and the CLI call: ingestion under a Principal
    queries: QueryService
    queue: JobQueue
    worker: Worker | None  # None: this process runs no jobs
    conversations: ConversationService  # asks in conversations, turns, feedback, retention
    audit: AuditWriter  # one event per API request, appended in batches
    pool: Any | None = None  # the PostgreSQL pool, when the settings use one (init-db)
    model_access: ModelAccess | None = None  # RAG_BEDROCK_MODEL_CHECK: the models answer us


async def _create_store(store: VectorStore) -> None:
    """Create the vector index, or, for a database role that may not (the app's role from
    ``rag-app init-db``), check that the owner created it."""
    try:
        await store.create()
    except psycopg.errors.InsufficientPrivilege as refused:
        try:
            await store.check()
        except psycopg.Error:
            raise ConfigurationError(
                f"this database role may not create the vector table ({refused}) and it "
                "does not exist: run `rag-app init-db` with the owner's credentials"
            ) from None


async def _sweep_when_ready(
    ready: asyncio.Event, service: ConversationService, interval_seconds: float
) -> None:
    await ready.wait()
    await service.keep_sweeping(interval_seconds)


def _model_access(settings: Settings, embedder: Embedder, answerer: Answerer) -> ModelAccess | None:
    """The start-up check of the Bedrock models in use (RAG_BEDROCK_MODEL_CHECK)."""
    if not settings.bedrock_model_check:
        return None
    probes: dict[str, Probe] = {}
    if isinstance(embedder, BedrockTitanEmbedder):

        async def embed() -> None:
            await embedder.embed_batch(["model access check"])

        probes[embedder.model_id] = embed
    if isinstance(answerer, BedrockAnswerer):
        probes[settings.bedrock_answer_model_id] = answerer.probe
    return ModelAccess(probes) if probes else None


async def _keep_preparing(prepare: Callable[[], Awaitable[None]]) -> None:
    delay = 1.0
    while True:
        await asyncio.sleep(delay)
        try:
            await prepare()
        except UNAVAILABLE as e:
            delay = min(30.0, delay * 2)
            log.warning("the database is still unavailable (%s); next try in %.0f s", e, delay)
        else:
            log.info("the database is available: ready")
            return


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    run_jobs: bool = True,
    workers: int | None = None,
    wait_for_database: bool = True,
    embedder: Embedder | None = None,
    emit_metrics: bool = True,
) -> AsyncIterator[Services]:
    """Start everything ``settings`` asks for and stop it on exit.

    New jobs always go to the job queue (``RAG_QUEUE``). With ``run_jobs``, this process
    also runs ``workers`` of them at once (default ``settings.ingest_workers``; 0: none),
    taken from the queue like any other worker's; without it, jobs wait for another
    process (or ``ingestion.run_job``).
    A database that cannot be reached at start raises, unless ``wait_for_database`` is
    off (the API): then the services start not ready (``Services.ready`` unset), keep
    retrying with backoff, and become ready when the database answers.

    ``emit_metrics`` off: no queue metrics on stdout (one-off CLI commands).
    ``embedder``, when given, replaces the one ``settings`` name (its ``model_id`` and
    ``dimension`` pick the index): the search benchmark serves precomputed query vectors.
    """
    async with AsyncExitStack() as stack:
        aws = AwsClients(settings)
        pool = None
        database: Database | None = None
        if settings.needs_postgres:
            conninfo, credentials = await database_login(settings, aws, stack)
            database = Database(
                conninfo,
                credentials=credentials,
                max_size=settings.db_pool_size or max(4, 4 * (os.cpu_count() or 1)),
            )
            stack.push_async_callback(database.close)
            pool = database.pool

        if embedder is None:
            embedder = await anyio.to_thread.run_sync(embedders.build, settings, aws)
        answerer = answerers.build(settings, aws, embedder)
        store = vectorstores.build(
            settings, aws, pool=pool, model_id=embedder.model_id, dimension=embedder.dimension
        )
        blobs = blobstores.build(settings, aws)
        catalog = catalogs.build(settings, aws, pool=pool)
        metrics = MetricsLog(service="api" if workers is None else "worker", enabled=emit_metrics)
        audit = AuditWriter(
            audits.build(settings, aws, pool=pool), flush_seconds=settings.audit_flush_seconds
        )
        audit.start()
        stack.push_async_callback(audit.close)  # before the pool closes: LIFO
        jobs = IngestionJobs(
            catalog=catalog,
            blobs=blobs,
            store=store,
            # A shared local model: ingestion queues behind queries, never ahead of them.
            # Ingestion's embedder reports what it embeds (TextsEmbedded): with separate
            # workers, the API's count stays 0.
            embedder=MeteredEmbedder(
                embedder.shared.for_ingest()
                if isinstance(embedder, SharedEmbedderView)
                else embedder,
                metrics,
            ),
            extractor=extractors.build(settings, aws, blobs),
            chunking=ChunkLimits(
                max_chars=settings.chunk_size,
                overlap=settings.chunk_overlap,
                max_seconds=settings.media_chunk_seconds,
            ),
            max_chunks=settings.max_chunks_per_document,
            swap_lease_seconds=settings.swap_lease_seconds,
        )
        queue = jobqueues.build(settings, aws, pool=pool)
        ingestion = IngestionService(
            catalog=catalog,
            blobs=blobs,
            store=store,
            jobs=jobs,
            queue=queue,
            limits=IngestLimits(
                max_upload_bytes=settings.max_upload_bytes,
                max_media_bytes=settings.max_media_bytes,
            ),
        )
        concurrency = (settings.ingest_workers if workers is None else workers) if run_jobs else 0
        worker = None
        if concurrency > 0:
            worker = jobqueues.build_worker(
                settings, aws, queue, ingestion, catalog, concurrency=concurrency, metrics=metrics
            )
        ready = asyncio.Event()

        async def prepare() -> None:
            if database is not None:
                await database.prepare()
            await _create_store(store)
            await queue.create()
            if worker is not None:
                worker.start()
            ready.set()

        if worker is not None:
            stack.push_async_callback(worker.stop)
        try:
            await prepare()
        except UNAVAILABLE as e:
            if wait_for_database:
                raise
            log.warning("the database is unavailable (%s); serving not-ready until it is", e)
            retrying = asyncio.create_task(_keep_preparing(prepare), name="prepare-database")
            stack.callback(retrying.cancel)
        queries = QueryService(
            store=store,
            embedder=embedder,
            answerer=answerer,
            max_query_chars=settings.max_query_chars,
            default_mode=settings.search_mode,
            fusion=settings.hybrid_fusion,
            vector_weight=settings.hybrid_vector_weight,
            reranker=rerankers.build(settings, aws),
            rerank_candidates=settings.rerank_candidates,
        )
        conversations_service = conversations.build(
            settings, aws, pool=pool, blobs=blobs, queries=queries
        )
        if run_jobs:  # the serving process sweeps; one-off CLI commands do not
            sweeping = asyncio.create_task(
                _sweep_when_ready(
                    ready, conversations_service, settings.conversation_sweep_seconds
                ),
                name="conversation-retention",
            )
            stack.callback(sweeping.cancel)
        model_access = _model_access(settings, embedder, answerer)
        if model_access is not None:
            await model_access.check()
        yield Services(
            model_access=model_access,
            ready=ready,
            settings=settings,
            authenticator=auth.build(settings, aws),
            catalog=catalog,
            blobs=blobs,
            store=store,
            embedder=embedder,
            answerer=answerer,
            ingestion=ingestion,
            documents=DocumentService(catalog=catalog, ingestion=ingestion),
            queries=queries,
            queue=queue,
            worker=worker,
            conversations=conversations_service,
            audit=audit,
            pool=pool,
        )


@asynccontextmanager
async def open_vector_store(
    settings: Settings, *, model_id: str, dimension: int
) -> AsyncIterator[VectorStore]:
    """The vector store ``settings`` name, for one embedding space, opened to be read from
    (``migrate copy``): nothing is created, no catalog schema, table or index, and
    ``check()`` raises if the index does not exist."""
    async with AsyncExitStack() as stack:
        aws = AwsClients(settings)
        pool = None
        if settings.vector_store == "pgvector":
            conninfo, credentials = await database_login(settings, aws, stack)
            # Not Database.prepare: that runs the catalog schema migration, a write.
            database = Database(conninfo, credentials=credentials, max_size=2)
            await database.pool.open(wait=True, timeout=30)
            stack.push_async_callback(database.close)
            pool = database.pool
        yield vectorstores.build(settings, aws, pool=pool, model_id=model_id, dimension=dimension)

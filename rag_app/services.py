"""The composition root: wires the backends ``Settings`` name (each package's
``backends.build``) into the services, and runs their lifecycle (start, readiness, stop).
Nothing else builds a service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import anyio.to_thread

from rag_app.answerers import backends as answerers
from rag_app.answerers.base import Answerer
from rag_app.auth import backends as auth
from rag_app.auth.authenticator import Authenticator
from rag_app.aws.clients import AwsClients
from rag_app.blobstores import backends as blobstores
from rag_app.blobstores.base import BlobStore
from rag_app.catalog import backends as catalogs
from rag_app.catalog.base import Catalog
from rag_app.documents import DocumentService
from rag_app.embedders import backends as embedders
from rag_app.embedders.base import Embedder
from rag_app.ingest import backends as extractors
from rag_app.ingest.chunking import ChunkLimits
from rag_app.ingest.jobs import IngestionJobs, JobRunner
from rag_app.ingest.service import IngestionService, IngestLimits
from rag_app.postgres.login import database_login
from rag_app.postgres.pool import UNAVAILABLE, Database
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
    runner: JobRunner


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
    wait_for_database: bool = True,
    embedder: Embedder | None = None,
) -> AsyncIterator[Services]:
    """Start everything ``settings`` asks for and stop it on exit.

    With ``run_jobs``, a background runner executes ingestion jobs, starting with any that
    a previous process left unfinished; without it, jobs wait for ``ingestion.run_job``.
    A database that cannot be reached at start raises, unless ``wait_for_database`` is
    off (the API): then the services start not ready (``Services.ready`` unset), keep
    retrying with backoff, and become ready when the database answers.

    ``embedder``, when given, replaces the one ``settings`` name (its ``model_id`` and
    ``dimension`` pick the index): the search benchmark serves precomputed query vectors.
    """
    async with AsyncExitStack() as stack:
        aws = AwsClients(settings)
        pool = None
        database: Database | None = None
        if settings.needs_postgres:
            conninfo, credentials = await database_login(settings, aws, stack)
            database = Database(conninfo, credentials=credentials, max_size=8)
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
        jobs = IngestionJobs(
            catalog=catalog,
            blobs=blobs,
            store=store,
            embedder=embedder,
            extractor=extractors.build(settings, aws, blobs),
            chunking=ChunkLimits(
                max_chars=settings.chunk_size,
                overlap=settings.chunk_overlap,
                max_seconds=settings.media_chunk_seconds,
            ),
            max_chunks=settings.max_chunks_per_document,
            swap_lease_seconds=settings.swap_lease_seconds,
        )
        runner = JobRunner(jobs.run, concurrency=settings.ingest_concurrency)
        ingestion = IngestionService(
            catalog=catalog,
            blobs=blobs,
            store=store,
            jobs=jobs,
            queue=runner if run_jobs else None,
            limits=IngestLimits(
                max_upload_bytes=settings.max_upload_bytes,
                max_media_bytes=settings.max_media_bytes,
            ),
        )
        ready = asyncio.Event()

        async def prepare() -> None:
            if database is not None:
                await database.prepare()
            await store.create()
            if run_jobs:
                runner.start(job.job_id for job in await catalog.unfinished_jobs())
            ready.set()

        stack.push_async_callback(runner.stop)
        try:
            await prepare()
        except UNAVAILABLE as e:
            if wait_for_database:
                raise
            log.warning("the database is unavailable (%s); serving not-ready until it is", e)
            retrying = asyncio.create_task(_keep_preparing(prepare), name="prepare-database")
            stack.callback(retrying.cancel)
        yield Services(
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
            queries=QueryService(
                store=store,
                embedder=embedder,
                answerer=answerer,
                max_query_chars=settings.max_query_chars,
                default_mode=settings.search_mode,
                fusion=settings.hybrid_fusion,
                vector_weight=settings.hybrid_vector_weight,
            ),
            runner=runner,
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

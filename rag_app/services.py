"""The composition root: builds every service from ``Settings``, and nothing else does."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from rag_app.answerers.base import Answerer
from rag_app.answerers.bedrock import BedrockAnswerer
from rag_app.answerers.extractive import ExtractiveAnswerer
from rag_app.blobstores.base import BlobStore
from rag_app.blobstores.local import LocalBlobStore
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.catalog.base import Catalog
from rag_app.catalog.postgres import PostgresCatalog
from rag_app.catalog.s3 import S3Catalog
from rag_app.embedders.base import Embedder
from rag_app.embedders.bedrock_titan import BedrockTitanEmbedder
from rag_app.ingest.jobs import JobRunner
from rag_app.ingest.service import IngestionService, IngestLimits
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.postgres.pool import open_pool
from rag_app.retrieval import QueryService
from rag_app.settings import Settings
from rag_app.vectorstores.base import VectorStore, index_name
from rag_app.vectorstores.pgvector import PgVectorStore
from rag_app.vectorstores.s3vectors import S3VectorsStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    catalog: Catalog
    blobs: BlobStore
    store: VectorStore
    embedder: Embedder
    answerer: Answerer
    ingestion: IngestionService
    queries: QueryService
    runner: JobRunner


def _aws_config(settings: Settings, *, mode: str, pool: int = 10) -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": mode, "total_max_attempts": settings.aws_max_attempts},
        connect_timeout=min(10.0, settings.aws_timeout_seconds),
        read_timeout=settings.aws_timeout_seconds,
        max_pool_connections=pool,
    )


def _aws_client(settings: Settings, service: str, config: Any) -> Any:
    """One client per service per process, from the default credential chain; the standard
    AWS_ENDPOINT_URL_<SERVICE> variables redirect it (to a local double in tests)."""
    import boto3

    return boto3.session.Session().client(service, region_name=settings.aws_region, config=config)


def _build_store(
    settings: Settings, pool: Any, embedder: Embedder
) -> PgVectorStore | S3VectorsStore:
    return _store_for_space(settings, pool, embedder.model_id, embedder.dimension)


def _store_for_space(
    settings: Settings, pool: Any, model_id: str, dimension: int
) -> PgVectorStore | S3VectorsStore:
    name = index_name(model_id, dimension)
    if settings.vector_store == "s3vectors":
        client = _aws_client(settings, "s3vectors", _aws_config(settings, mode="standard"))
        # S3 Vectors index names allow [a-z0-9.-], not underscores.
        return S3VectorsStore(
            client,
            bucket=settings.s3vectors_bucket,
            index=name.replace("_", "-"),
            dimension=dimension,
        )
    return PgVectorStore(pool, table=name, dimension=dimension, ef_search=settings.hnsw_ef_search)


def _build_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_store == "s3":
        client = _aws_client(settings, "s3", _aws_config(settings, mode="standard"))
        return S3BlobStore(
            client, bucket=str(settings.documents_bucket), prefix=settings.documents_prefix
        )
    return LocalBlobStore(settings.data_dir / "blobs")


def _build_models(settings: Settings) -> tuple[Embedder, Answerer]:
    bedrock = None
    if "bedrock" in (settings.embedder, settings.answerer):
        config = _aws_config(
            settings,
            mode=settings.bedrock_retry_mode,
            pool=max(10, 2 * settings.bedrock_embedding_concurrency),
        )
        bedrock = _aws_client(settings, "bedrock-runtime", config)
    embedder: Embedder
    if settings.embedder == "bedrock":
        embedder = BedrockTitanEmbedder(
            bedrock,
            model_id=settings.bedrock_embedding_model_id,
            dimensions=settings.bedrock_embedding_dimensions,
            concurrency=settings.bedrock_embedding_concurrency,
            requests_per_minute=settings.bedrock_embedding_rpm,
        )
    else:
        from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder

        embedder = MiniLmOnnxEmbedder(batch_size=settings.embed_batch_size)
    answerer: Answerer
    if settings.answerer == "bedrock":
        answerer = BedrockAnswerer(
            bedrock,
            model_id=settings.bedrock_answer_model_id,
            max_tokens=settings.bedrock_max_tokens,
            temperature=settings.bedrock_temperature,
        )
    else:
        answerer = ExtractiveAnswerer(
            embedder,
            min_score=settings.answer_min_score,
            max_sentences=settings.answer_max_sentences,
        )
    return embedder, answerer


@asynccontextmanager
async def open_services(settings: Settings, *, run_jobs: bool = True) -> AsyncIterator[Services]:
    """Start everything ``settings`` asks for and stop it on exit.

    With ``run_jobs``, a background runner executes ingestion jobs, starting with any that
    a previous process left unfinished; without it, jobs wait for ``ingestion.run_job``.
    """
    async with AsyncExitStack() as stack:
        pool = None
        if settings.needs_postgres:
            if settings.database_url is None:
                cluster = EmbeddedPostgres(settings.data_dir / "postgres")
                running = await anyio.to_thread.run_sync(cluster.start)
                stack.callback(cluster.stop)
                url = running.url
                log.info("embedded PostgreSQL on 127.0.0.1 (data in %s)", settings.data_dir)
            else:
                url = settings.database_url.get_secret_value()
            pool = await open_pool(url, max_size=8)
            stack.push_async_callback(pool.close)

        embedder, answerer = await anyio.to_thread.run_sync(_build_models, settings)
        store = _build_store(settings, pool, embedder)
        await store.create()
        blobs = _build_blob_store(settings)
        catalog: Catalog
        if settings.catalog == "s3":
            assert isinstance(blobs, S3BlobStore)  # the settings validator guarantees it
            catalog = S3Catalog(blobs)
        else:
            assert pool is not None  # settings.needs_postgres
            catalog = PostgresCatalog(pool)
        ingestion = IngestionService(
            catalog=catalog,
            blobs=blobs,
            store=store,
            embedder=embedder,
            limits=IngestLimits(
                max_upload_bytes=settings.max_upload_bytes,
                max_pages=settings.max_pages,
                chunk_size=settings.chunk_size,
                chunk_overlap=settings.chunk_overlap,
            ),
        )
        runner = JobRunner(ingestion.run_job, concurrency=settings.ingest_concurrency)
        if run_jobs:
            ingestion.on_submit(runner.submit)
            runner.start(job.job_id for job in await catalog.unfinished_jobs())
            stack.push_async_callback(runner.stop)
        yield Services(
            settings=settings,
            catalog=catalog,
            blobs=blobs,
            store=store,
            embedder=embedder,
            answerer=answerer,
            ingestion=ingestion,
            queries=QueryService(
                store=store,
                embedder=embedder,
                answerer=answerer,
                max_query_chars=settings.max_query_chars,
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
        pool = None
        if settings.vector_store == "pgvector":
            if settings.database_url is None:
                cluster = EmbeddedPostgres(settings.data_dir / "postgres")
                url = (await anyio.to_thread.run_sync(cluster.start)).url
                stack.callback(cluster.stop)
            else:
                url = settings.database_url.get_secret_value()
            # Not open_pool: that runs the catalog schema migration, a write.
            pool = AsyncConnectionPool(
                url,
                min_size=1,
                max_size=2,
                configure=register_vector_async,
                open=False,
                kwargs={"connect_timeout": 10},
            )
            await pool.open(wait=True, timeout=30)
            stack.push_async_callback(pool.close)
        yield _store_for_space(settings, pool, model_id, dimension)

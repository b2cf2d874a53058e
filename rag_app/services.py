"""The composition root: builds every service from ``Settings``, and nothing else does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from psycopg.conninfo import make_conninfo

from rag_app.answerers.base import Answerer
from rag_app.answerers.bedrock import BedrockAnswerer
from rag_app.answerers.extractive import ExtractiveAnswerer
from rag_app.auth.api_keys import (
    ApiKeyVerifier,
    FileKeyStore,
    KeyStore,
    SecretsManagerKeyStore,
)
from rag_app.auth.authenticator import Authenticator
from rag_app.auth.oidc import OidcVerifier
from rag_app.blobstores.base import BlobStore
from rag_app.blobstores.local import LocalBlobStore
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.catalog.base import Catalog
from rag_app.catalog.dynamodb import DynamoDbCatalog
from rag_app.catalog.postgres import PostgresCatalog
from rag_app.embedders.base import Embedder
from rag_app.embedders.bedrock_titan import BedrockTitanEmbedder
from rag_app.errors import ConfigurationError
from rag_app.ingest.extraction import ExtractionLimits, Extractor
from rag_app.ingest.isolation import ProcessLimits
from rag_app.ingest.jobs import JobRunner
from rag_app.ingest.ocr import PageOcr
from rag_app.ingest.ocr_local import OcrmypdfOcr
from rag_app.ingest.ocr_textract import TextractOcr
from rag_app.ingest.service import IngestionService, IngestLimits
from rag_app.ingest.transcriber import Transcriber
from rag_app.ingest.transcriber_aws import AmazonTranscribeTranscriber
from rag_app.ingest.transcriber_whisper import WhisperTranscriber
from rag_app.postgres.credentials import SecretsManagerCredentials
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.postgres.pool import UNAVAILABLE, Credentials, Database
from rag_app.retrieval import QueryService
from rag_app.settings import Settings
from rag_app.vectorstores.base import VectorStore, index_name
from rag_app.vectorstores.pgvector import PgVectorStore
from rag_app.vectorstores.s3vectors import S3VectorsStore

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
        index = name.replace("_", "-")
        return S3VectorsStore(
            client, bucket=settings.s3vectors_bucket, index=index, dimension=dimension
        )
    return PgVectorStore(pool, table=name, dimension=dimension, ef_search=settings.hnsw_ef_search)


def build_key_store(settings: Settings) -> KeyStore:
    """Where API keys are kept: the Secrets Manager secret, else the file."""
    if settings.api_keys_secret_id:
        client = _aws_client(settings, "secretsmanager", _aws_config(settings, mode="standard"))
        return SecretsManagerKeyStore(client, settings.api_keys_secret_id)
    if settings.api_keys_file:
        return FileKeyStore(settings.api_keys_file)
    raise ConfigurationError("no key store: set RAG_API_KEYS_FILE or RAG_API_KEYS_SECRET_ID")


def _build_authenticator(settings: Settings) -> Authenticator | None:
    if settings.auth == "none":
        return None
    api_keys = None
    if settings.api_keys_secret_id or settings.api_keys_file:
        api_keys = ApiKeyVerifier(
            build_key_store(settings), refresh_seconds=settings.api_keys_refresh_seconds
        )
    oidc = None
    if settings.oidc_issuer and settings.oidc_audience:
        issuer = settings.oidc_issuer.rstrip("/")
        oidc = OidcVerifier(
            issuer=issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url or f"{issuer}/.well-known/jwks.json",
            collections_claim=settings.oidc_collections_claim,
            timeout_seconds=settings.aws_timeout_seconds,
        )
    return Authenticator(api_keys=api_keys, oidc=oidc)


def _build_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_store == "s3":
        client = _aws_client(settings, "s3", _aws_config(settings, mode="standard"))
        return S3BlobStore(
            client, bucket=str(settings.documents_bucket), prefix=settings.documents_prefix
        )
    return LocalBlobStore(settings.data_dir / "blobs")


def _build_models(settings: Settings, embedder: Embedder | None) -> tuple[Embedder, Answerer]:
    bedrock = None
    wants_bedrock = settings.answerer == "bedrock" or (
        embedder is None and settings.embedder == "bedrock"
    )
    if wants_bedrock:
        config = _aws_config(
            settings,
            mode=settings.bedrock_retry_mode,
            pool=max(10, 2 * settings.bedrock_embedding_concurrency),
        )
        bedrock = _aws_client(settings, "bedrock-runtime", config)
    if embedder is None and settings.embedder == "bedrock":
        embedder = BedrockTitanEmbedder(
            bedrock,
            model_id=settings.bedrock_embedding_model_id,
            dimensions=settings.bedrock_embedding_dimensions,
            concurrency=settings.bedrock_embedding_concurrency,
            requests_per_minute=settings.bedrock_embedding_rpm,
        )
    elif embedder is None:
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


def _build_extractor(settings: Settings, blobs: BlobStore) -> Extractor:
    limits = ExtractionLimits(
        max_pages=settings.max_pages,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        ocr_min_chars=settings.ocr_min_chars_per_page,
        max_media_seconds=settings.max_media_seconds,
        media_chunk_seconds=settings.media_chunk_seconds,
        parser=ProcessLimits(
            memory_mb=settings.parse_memory_mb,
            cpu_seconds=settings.parse_cpu_seconds,
            wall_seconds=settings.parse_timeout_seconds,
        ),
    )
    aws = _aws_config(settings, mode="standard")
    transcriber: Transcriber | None = None
    if settings.transcriber == "whisper":
        transcriber = WhisperTranscriber(model_dir=settings.whisper_model_dir)
    elif settings.transcriber == "transcribe":
        assert isinstance(blobs, S3BlobStore)  # the settings validator guarantees it
        transcriber = AmazonTranscribeTranscriber(
            _aws_client(settings, "transcribe", aws),
            blobs,
            language_code=settings.transcribe_language_code,
            timeout_seconds=settings.aws_job_timeout_seconds,
        )
    ocr: PageOcr | None = None
    if settings.ocr == "ocrmypdf":
        ocr = OcrmypdfOcr(
            language=settings.ocr_language, timeout_seconds=settings.ocr_timeout_seconds
        )
    elif settings.ocr == "textract":
        assert isinstance(blobs, S3BlobStore)  # the settings validator guarantees it
        ocr = TextractOcr(
            _aws_client(settings, "textract", aws),
            blobs,
            timeout_seconds=settings.aws_job_timeout_seconds,
        )
    return Extractor(limits=limits, ocr=ocr, transcriber=transcriber)


async def _database_login(
    settings: Settings, stack: AsyncExitStack
) -> tuple[str, Credentials | None]:
    """Where the database is and how to log in: a Secrets Manager secret (Aurora), a URL,
    or the embedded PostgreSQL (started here, stopped with ``stack``)."""
    if settings.database_secret_arn is not None:
        conninfo = make_conninfo(
            host=settings.database_host,
            port=settings.database_port,
            dbname=settings.database_name,
            sslmode=settings.database_sslmode,
        )
        secrets = _aws_client(settings, "secretsmanager", _aws_config(settings, mode="standard"))
        return conninfo, SecretsManagerCredentials(secrets, settings.database_secret_arn)
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), None
    cluster = EmbeddedPostgres(settings.data_dir / "postgres")
    running = await anyio.to_thread.run_sync(cluster.start)
    stack.callback(cluster.stop)
    log.info("embedded PostgreSQL on 127.0.0.1 (data in %s)", settings.data_dir)
    return running.url, None


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
        pool = None
        database: Database | None = None
        if settings.needs_postgres:
            conninfo, credentials = await _database_login(settings, stack)
            database = Database(conninfo, credentials=credentials, max_size=8)
            stack.push_async_callback(database.close)
            pool = database.pool

        active_embedder, answerer = await anyio.to_thread.run_sync(
            _build_models, settings, embedder
        )
        store = _build_store(settings, pool, active_embedder)
        blobs = _build_blob_store(settings)
        catalog: Catalog
        if settings.catalog == "dynamodb":
            client = _aws_client(settings, "dynamodb", _aws_config(settings, mode="standard"))
            catalog = DynamoDbCatalog(client, table=str(settings.dynamodb_table))
        else:
            assert pool is not None  # settings.needs_postgres
            catalog = PostgresCatalog(pool)
        ingestion = IngestionService(
            catalog=catalog,
            blobs=blobs,
            store=store,
            embedder=active_embedder,
            extractor=_build_extractor(settings, blobs),
            limits=IngestLimits(
                max_upload_bytes=settings.max_upload_bytes,
                max_media_bytes=settings.max_media_bytes,
                max_chunks=settings.max_chunks_per_document,
            ),
            swap_lease_seconds=settings.swap_lease_seconds,
        )
        runner = JobRunner(ingestion.run_job, concurrency=settings.ingest_concurrency)
        ready = asyncio.Event()

        async def prepare() -> None:
            if database is not None:
                await database.prepare()
            await store.create()
            if run_jobs:
                ingestion.on_submit(runner.submit)
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
            authenticator=_build_authenticator(settings),
            catalog=catalog,
            blobs=blobs,
            store=store,
            embedder=active_embedder,
            answerer=answerer,
            ingestion=ingestion,
            queries=QueryService(
                store=store,
                embedder=active_embedder,
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
        pool = None
        if settings.vector_store == "pgvector":
            conninfo, credentials = await _database_login(settings, stack)
            # Not Database.prepare: that runs the catalog schema migration, a write.
            database = Database(conninfo, credentials=credentials, max_size=2)
            await database.pool.open(wait=True, timeout=30)
            stack.push_async_callback(database.close)
            pool = database.pool
        yield _store_for_space(settings, pool, model_id, dimension)

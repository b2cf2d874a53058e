"""The vector stores by name (``RAG_VECTOR_STORE``), one per embedding space."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rag_app.aws.clients import AwsClients
from rag_app.settings import Settings
from rag_app.vectorstores.base import VectorStore, index_name
from rag_app.vectorstores.pgvector import PgVectorStore
from rag_app.vectorstores.s3vectors import S3VectorsStore


def _pgvector(settings: Settings, aws: AwsClients, pool: Any, name: str, dimension: int) -> Any:
    return PgVectorStore(pool, table=name, dimension=dimension, ef_search=settings.hnsw_ef_search)


def _s3vectors(settings: Settings, aws: AwsClients, pool: Any, name: str, dimension: int) -> Any:
    # S3 Vectors index names allow [a-z0-9.-], not underscores.
    return S3VectorsStore(
        aws.client("s3vectors"),
        bucket=settings.s3vectors_bucket,
        index=name.replace("_", "-"),
        dimension=dimension,
    )


BACKENDS: dict[str, Callable[[Settings, AwsClients, Any, str, int], VectorStore]] = {
    "pgvector": _pgvector,
    "s3vectors": _s3vectors,
}


def build(
    settings: Settings, aws: AwsClients, *, pool: Any, model_id: str, dimension: int
) -> VectorStore:
    """The store ``settings.vector_store`` names, for the embedding space of ``model_id``
    and ``dimension`` (which picks the index or table); ``pool``: the PostgreSQL pool
    (pgvector only)."""
    return BACKENDS[settings.vector_store](
        settings, aws, pool, index_name(model_id, dimension), dimension
    )

"""The catalogs by name (``RAG_CATALOG``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rag_app.aws.clients import AwsClients
from rag_app.catalog.base import Catalog
from rag_app.catalog.dynamodb import DynamoDbCatalog
from rag_app.catalog.postgres import PostgresCatalog
from rag_app.settings import Settings


def _postgres(settings: Settings, aws: AwsClients, pool: Any) -> Catalog:
    assert pool is not None  # settings.needs_postgres
    return PostgresCatalog(pool)


def _dynamodb(settings: Settings, aws: AwsClients, pool: Any) -> Catalog:
    return DynamoDbCatalog(aws.client("dynamodb"), table=str(settings.dynamodb_table))


BACKENDS: dict[str, Callable[[Settings, AwsClients, Any], Catalog]] = {
    "postgres": _postgres,
    "dynamodb": _dynamodb,
}


def build(settings: Settings, aws: AwsClients, *, pool: Any) -> Catalog:
    """The catalog ``settings.catalog`` names: in PostgreSQL (``pool``) or in a DynamoDB
    table (Option 1)."""
    return BACKENDS[settings.catalog](settings, aws, pool)

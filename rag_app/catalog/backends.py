"""The catalogs by name (``RAG_CATALOG``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rag_app.blobstores.base import BlobStore
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.catalog.base import Catalog
from rag_app.catalog.postgres import PostgresCatalog
from rag_app.catalog.s3 import S3Catalog
from rag_app.settings import Settings


def _postgres(pool: Any, blobs: BlobStore) -> Catalog:
    assert pool is not None  # settings.needs_postgres
    return PostgresCatalog(pool)


def _s3(pool: Any, blobs: BlobStore) -> Catalog:
    assert isinstance(blobs, S3BlobStore)  # the settings validator guarantees it
    return S3Catalog(blobs)


BACKENDS: dict[str, Callable[[Any, BlobStore], Catalog]] = {"postgres": _postgres, "s3": _s3}


def build(settings: Settings, *, pool: Any, blobs: BlobStore) -> Catalog:
    """The catalog ``settings.catalog`` names: in PostgreSQL (``pool``) or as JSON objects
    beside the originals (``blobs``, an S3 blob store)."""
    return BACKENDS[settings.catalog](pool, blobs)

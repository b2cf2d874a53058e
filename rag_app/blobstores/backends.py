"""The blob stores by name (``RAG_BLOB_STORE``)."""

from __future__ import annotations

from collections.abc import Callable

from rag_app.aws.clients import AwsClients
from rag_app.blobstores.base import BlobStore
from rag_app.blobstores.local import LocalBlobStore
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.settings import Settings


def _local(settings: Settings, aws: AwsClients) -> BlobStore:
    return LocalBlobStore(settings.data_dir / "blobs")


def _s3(settings: Settings, aws: AwsClients) -> BlobStore:
    return S3BlobStore(
        aws.client("s3"), bucket=str(settings.documents_bucket), prefix=settings.documents_prefix
    )


BACKENDS: dict[str, Callable[[Settings, AwsClients], BlobStore]] = {"local": _local, "s3": _s3}


def build(settings: Settings, aws: AwsClients) -> BlobStore:
    """The blob store ``settings.blob_store`` names."""
    return BACKENDS[settings.blob_store](settings, aws)

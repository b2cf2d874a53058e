"""Document storage: where uploaded originals live (a local folder, or S3 in AWS)."""

from rag_app.blobstores.base import BlobStore
from rag_app.blobstores.local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore"]

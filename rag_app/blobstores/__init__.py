"""Document storage: where uploaded originals live (a local folder, or S3 in AWS)."""
# S3BlobStore lives in rag_app.blobstores.s3 (imported where used: it needs boto3).

from rag_app.blobstores.base import BlobStore
from rag_app.blobstores.local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore"]

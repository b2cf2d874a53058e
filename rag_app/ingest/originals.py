"""Where a document's uploaded versions live in the blob store: the original, and a
transcript uploaded with media, keyed by document and content digest."""

from __future__ import annotations

from rag_app.blobstores.base import BlobStore
from rag_app.ingest.files import EXTENSION_OF


def blob_key(document_id: str, sha256: str, media_type: str) -> str:
    return f"documents/{document_id}/{sha256}.{EXTENSION_OF.get(media_type, 'pdf')}"


def transcript_keys(document_id: str, sha256: str) -> dict[str, str]:
    """Where a transcript uploaded next to a media version is kept, by its extension."""
    return {ext: f"documents/{document_id}/{sha256}.transcript.{ext}" for ext in ("vtt", "srt")}


async def delete_version(blobs: BlobStore, document_id: str, sha256: str, media_type: str) -> None:
    """A version's original and any transcript that came with it (missing keys are fine)."""
    await blobs.delete(blob_key(document_id, sha256, media_type))
    for key in transcript_keys(document_id, sha256).values():
        await blobs.delete(key)

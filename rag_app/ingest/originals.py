"""Where a document's uploaded versions live in the blob store: the original, a transcript
uploaded with media, and the text layer or word boxes OCR added to a scanned PDF, keyed by
document and content digest."""

from __future__ import annotations

from rag_app.blobstores.base import BlobStore
from rag_app.ingest.files import EXTENSION_OF


def blob_key(document_id: str, sha256: str, media_type: str) -> str:
    return f"documents/{document_id}/{sha256}.{EXTENSION_OF.get(media_type, 'pdf')}"


def transcript_keys(document_id: str, sha256: str) -> dict[str, str]:
    """Where a transcript uploaded next to a media version is kept, by its extension."""
    return {ext: f"documents/{document_id}/{sha256}.transcript.{ext}" for ext in ("vtt", "srt")}


def ocr_layer_key(original_key: str) -> str:
    """Where the OCR'd copy of the PDF at ``original_key`` is kept: the same pages with the
    recognised words as an invisible text layer, whose character boxes the viewer highlights
    (a scan's original has none)."""
    return original_key.removesuffix(".pdf") + ".ocr-layer.pdf"


def word_layer_key(original_key: str) -> str:
    """Where the words Amazon Textract read on the PDF at ``original_key`` are kept with
    their boxes (``word_layer``), for the viewer's highlight on its scanned pages."""
    return original_key.removesuffix(".pdf") + ".ocr-words.json"


async def delete_version(blobs: BlobStore, document_id: str, sha256: str, media_type: str) -> None:
    """A version's original and any transcript or OCR layer that came with it (missing keys
    are fine)."""
    await blobs.delete(blob_key(document_id, sha256, media_type))
    await blobs.delete(ocr_layer_key(blob_key(document_id, sha256, media_type)))
    await blobs.delete(word_layer_key(blob_key(document_id, sha256, media_type)))
    for key in transcript_keys(document_id, sha256).values():
        await blobs.delete(key)

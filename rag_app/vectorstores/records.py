"""A chunk as one flat metadata record, and the size budgets every store enforces.

The budgets are Amazon S3 Vectors' (2,048 bytes of filterable metadata, 40,960 in all,
measured its way). Both stores refuse a chunk that S3 Vectors would refuse, so a corpus
that ingests locally ingests on AWS too, and the error comes before anything is written.
Filterable: ``document_id``, ``collection``, ``page`` and the user's keys; the rest are
declared non-filterable on an S3 Vectors index. ``ocr`` (scanned pages) and ``start_s`` /
``end_s`` (media) are written only on the chunks they describe, as filterable keys: a few
bytes of the 2 KB budget, and no change to the key layout of indexes that already exist
(S3 Vectors fixes non-filterable keys when an index is created).
"""

from __future__ import annotations

from typing import Any

from rag_app.aws import s3vectors_rules as rules
from rag_app.domain import Chunk
from rag_app.errors import InvalidInputError

FILTERABLE_FIELDS = ("document_id", "collection", "page")
NON_FILTERABLE_FIELDS = ("text", "title", "chunk_no", "char_start", "char_end")
SOURCE_FIELDS = ("ocr", "start_s", "end_s")


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    source: dict[str, Any] = {}
    if chunk.ocr:
        source["ocr"] = True
    if chunk.start_s is not None and chunk.end_s is not None:
        source.update(start_s=chunk.start_s, end_s=chunk.end_s)
    return {
        **chunk.metadata,
        "document_id": chunk.document_id,
        "collection": chunk.collection,
        "page": chunk.page,
        "text": chunk.text,
        "title": chunk.title,
        "chunk_no": chunk.chunk_no,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        **source,
    }


def chunk_from_metadata(metadata: dict[str, Any]) -> Chunk:
    reserved = set(FILTERABLE_FIELDS) | set(NON_FILTERABLE_FIELDS) | set(SOURCE_FIELDS)
    start, end = metadata.get("start_s"), metadata.get("end_s")
    return Chunk(
        document_id=metadata["document_id"],
        chunk_no=int(metadata["chunk_no"]),
        text=metadata["text"],
        page=int(metadata["page"]),
        char_start=int(metadata["char_start"]),
        char_end=int(metadata["char_end"]),
        title=metadata["title"],
        collection=metadata["collection"],
        metadata={k: v for k, v in metadata.items() if k not in reserved},
        ocr=bool(metadata.get("ocr", False)),
        start_s=None if start is None else float(start),
        end_s=None if end is None else float(end),
    )


def check_filterable_budget(filterable: dict[str, Any], what: str) -> None:
    """Raise InvalidInputError naming the largest key when ``filterable`` is over 2 KB."""
    size = rules.metadata_size(filterable)
    if size > rules.MAX_FILTERABLE_BYTES:
        key = max(filterable, key=lambda k: rules.entry_size(k, filterable[k]))
        raise InvalidInputError(
            f"{what}: filterable metadata is {size} bytes, over the S3 Vectors limit of "
            f"{rules.MAX_FILTERABLE_BYTES}; the largest key is {key!r} "
            f"({rules.entry_size(key, filterable[key])} bytes)"
        )


def check_budget(chunk: Chunk) -> None:
    """Raise InvalidInputError naming the key when the chunk's record is over a budget."""
    metadata = chunk_metadata(chunk)
    check_filterable_budget(
        rules.filterable_part(metadata, NON_FILTERABLE_FIELDS), f"chunk {chunk.chunk_id}"
    )
    total = rules.metadata_size(metadata)
    if total > rules.MAX_TOTAL_BYTES:
        raise InvalidInputError(
            f"chunk {chunk.chunk_id}: its record is {total} bytes, over the S3 Vectors limit of "
            f"{rules.MAX_TOTAL_BYTES}; its 'text' is {rules.entry_size('text', chunk.text)} "
            "bytes (a smaller RAG_CHUNK_SIZE keeps chunks within it)"
        )

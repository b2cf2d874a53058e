"""Source rows to chunks, and the reasons a row is refused.

A refused row is skipped with its reason and never stops the migration. The metadata
checks are the ones native ingestion makes (``check_metadata``) and the S3 Vectors budget
both stores enforce (``check_budget``), so a chunk accepted here is accepted by either
store. Accepted rows of a document become chunks ``0..n-1`` in source-id order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from rag_app.domain import Chunk, Metadata
from rag_app.errors import InvalidInputError
from rag_app.ingest.validation import ID_PATTERN, MAX_TITLE, check_metadata
from rag_app.migration.mapping import Mapping
from rag_app.migration.source import SourceRow
from rag_app.vectorstores.records import check_budget


class SkipReason(StrEnum):
    NO_KEY = "document id or id is NULL"
    EMPTY_TEXT = "empty text"
    TOO_LONG = "text over the embedder's limit"
    NO_PAGE = "page missing or not a positive number"
    BAD_METADATA = "metadata not a flat JSON object of usable keys"
    OVER_BUDGET = "metadata over the S3 Vectors budget"


@dataclass(frozen=True, slots=True)
class Rejection:
    source_id: str
    reason: SkipReason
    detail: str


@dataclass(frozen=True, slots=True)
class DocumentRows:
    """One source document: its accepted chunks and its refused rows."""

    document_id: str
    source_document: Any
    chunks: list[Chunk]
    rejections: list[Rejection]
    source_key: str | None


def document_id_for(source_document: Any) -> str:
    """The source's document id when it is a valid id here, else a stable digest of it
    (a path such as ``contracts/lease.pdf`` becomes ``doc-<24 hex>``)."""
    text = str(source_document)
    if ID_PATTERN.match(text):
        return text
    return "doc-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _metadata(raw: Any, keys: tuple[str, ...] | None) -> Metadata:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InvalidInputError(f"metadata is not JSON: {e}") from None
    if keys is not None and isinstance(raw, dict):
        raw = {k: raw[k] for k in keys if k in raw}
    return check_metadata(raw)


def _page(raw: Any, base: int) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal) or raw != int(raw):
        return None
    page = int(raw) + (1 - base)
    return page if page >= 1 else None


def _title(row: SourceRow, document_id: str) -> str:
    for candidate in (row.title, row.source_key):
        if isinstance(candidate, str) and candidate.strip():
            name = candidate if candidate is row.title else PurePosixPath(candidate).name
            return " ".join(name.split())[:MAX_TITLE]
    return document_id


def document_rows(rows: Sequence[SourceRow], mapping: Mapping, *, max_chars: int) -> DocumentRows:
    """Judge the rows of one source document (all of them, in source-id order)."""
    first = rows[0]
    document_id = document_id_for(first.document)
    title = _title(first, document_id)
    chunks: list[Chunk] = []
    rejections: list[Rejection] = []

    def reject(row: SourceRow, reason: SkipReason, detail: str = "") -> None:
        rejections.append(Rejection(str(row.id), reason, detail or reason.value))

    for row in rows:
        text = row.text if isinstance(row.text, str) else ""
        page = _page(row.page, mapping.page_base)
        if not text.strip():
            reject(row, SkipReason.EMPTY_TEXT)
            continue
        if len(text) > max_chars:
            reject(row, SkipReason.TOO_LONG, f"{len(text)} characters, the limit is {max_chars}")
            continue
        if page is None:
            reject(row, SkipReason.NO_PAGE, f"page is {row.page!r}")
            continue
        try:
            metadata = _metadata(row.metadata, mapping.metadata_keys)
        except InvalidInputError as e:
            reject(row, SkipReason.BAD_METADATA, str(e))
            continue
        chunk = Chunk(
            document_id=document_id,
            chunk_no=len(chunks),
            text=text,
            page=page,
            # The source keeps no page text to slice: the chunk is its own span.
            char_start=0,
            char_end=len(text),
            title=title,
            collection=mapping.collection,
            metadata=metadata,
        )
        try:
            check_budget(chunk)
        except InvalidInputError as e:
            reject(row, SkipReason.OVER_BUDGET, str(e))
            continue
        chunks.append(chunk)
    source_key = first.source_key if isinstance(first.source_key, str) else None
    return DocumentRows(document_id, first.document, chunks, rejections, source_key)

"""Source rows to chunks, and the reasons a row is refused.

A refused row is skipped with its reason and never stops the migration. The metadata
checks are the ones native ingestion makes (``check_metadata``) and the S3 Vectors budget
both stores enforce (``check_budget``), so a chunk accepted here is accepted by either
store. Accepted rows of a document become chunks ``0..n-1`` in reading order
(``order_rows``), never in the order of a random id alone.

A row with no page (text loaders, web pages, notes) becomes an unpaged chunk
(``page == UNPAGED``): its citations carry no page and link to the document itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from rag_app.domain import UNPAGED, Chunk, Metadata
from rag_app.errors import InvalidInputError
from rag_app.ingest.validation import (
    COLLECTION_PATTERN,
    ID_PATTERN,
    MAX_TITLE,
    check_metadata,
)
from rag_app.migration.mapping import Mapping
from rag_app.migration.source import SourceRow
from rag_app.vectorstores.records import check_budget

_INTEGER = re.compile(r"^\s*-?[0-9]+(\.0*)?\s*$")
_CTID = re.compile(r"^\((\d+),(\d+)\)$")
HEAD = 20
"""Characters of a passage's head looked for in another passage's tail (overlap order)."""


class SkipReason(StrEnum):
    NO_KEY = "document key or id is NULL"
    EMPTY_TEXT = "empty text"
    TOO_LONG = "text over the embedder's limit"
    BAD_PAGE = "page not a positive number"
    BAD_METADATA = "metadata not a flat JSON object of usable keys"
    OVER_BUDGET = "metadata over the S3 Vectors budget"
    BAD_COLLECTION = "collection name not usable here"


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
    source_collection: str | None
    collection: str
    chunks: list[Chunk]
    rejections: list[Rejection]
    source_key: str | None


def document_id_for(source_document: Any, source_collection: str | None = None) -> str:
    """The source's document id when it is a valid id here, else a stable digest of it
    (a path such as ``contracts/lease.pdf`` becomes ``doc-<24 hex>``). A document read
    through a collection join is keyed by its collection too: the same file in two source
    collections is two documents."""
    text = str(source_document)
    if source_collection is None and ID_PATTERN.match(text):
        return text
    if source_collection is not None:
        text = f"{source_collection}\x1f{text}"
    return "doc-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _integer(raw: Any) -> int | None:
    """An integral number, from a number or (JSON ``->>``) its text; else ``None``."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        return int(float(raw)) if _INTEGER.match(raw) else None
    if isinstance(raw, int | float | Decimal) and raw == int(raw):
        return int(raw)
    return None


def _page(raw: Any, base: int) -> int | None:
    """The 1-based page; ``UNPAGED`` when the row has none; ``None`` when it is unusable."""
    if raw is None:
        return UNPAGED
    number = _integer(raw)
    if number is None:
        return None
    page = number + (1 - base)
    return page if page >= 1 else None


def _offset(raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _keep_one(key: str, value: Any) -> bool:
    try:
        check_metadata({key: value})
    except InvalidInputError:
        return False
    return True


def _metadata(raw: Any, mapping: Mapping, consumed: frozenset[str]) -> Metadata:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InvalidInputError(f"metadata is not JSON: {e}") from None
    if not isinstance(raw, dict):
        if mapping.metadata_policy == "drop":
            return {}
        raise InvalidInputError(f"metadata is a JSON {type(raw).__name__}, not an object")
    raw = {k: v for k, v in raw.items() if k not in consumed}
    if mapping.metadata_keys is not None:
        raw = {k: raw[k] for k in mapping.metadata_keys if k in raw}
    if mapping.metadata_policy == "drop":
        raw = {k: v for k, v in raw.items() if _keep_one(k, v)}
    return check_metadata(raw)


def _consumed_keys(mapping: Mapping) -> frozenset[str]:
    """Keys of the metadata column that the mapping reads as a column of their own."""
    metadata = mapping.columns.metadata
    names = ("document_id", "page", "source_key", "title", "offset")
    refs = [mapping.columns.ref(name) for name in names]
    return frozenset(r.key for r in refs if r and r.key and r.column == metadata)


def _file_name(value: str) -> str:
    return PureWindowsPath(PurePosixPath(value).name).name if value.strip() else ""


def _title(row: SourceRow, document_id: str) -> str:
    for candidate, is_path in ((row.title, False), (row.source_key, True)):
        if isinstance(candidate, str) and candidate.strip():
            name = _file_name(candidate) if is_path else candidate
            if name.strip():
                return " ".join(name.split())[:MAX_TITLE]
    return document_id


@dataclass(frozen=True, slots=True)
class _Accepted:
    row: SourceRow
    page: int
    text: str
    metadata: Metadata


def _position(row: SourceRow) -> tuple[int, int]:
    match = _CTID.match(str(row.position)) if row.position is not None else None
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _overlap(before: str, after: str, positions: Iterable[int]) -> int:
    """The length of ``before``'s tail that ``after`` begins with, trying the places where
    ``after``'s head occurs in ``before``; 0: none."""
    return max((len(before) - p for p in positions if after.startswith(before[p:])), default=0)


def _by_overlap(items: list[_Accepted]) -> list[_Accepted] | None:
    """The one chain in which each passage begins with its predecessor's tail (a splitter's
    overlap), when the passages of a page make exactly one such chain; else ``None``."""
    heads: dict[str, list[int]] = defaultdict(list)
    for j, item in enumerate(items):
        if len(item.text) < HEAD:
            return None  # too short to place by its head
        heads[item.text[:HEAD]].append(j)
    successor: dict[int, int] = {}
    for i, item in enumerate(items):
        text = item.text
        places: dict[int, list[int]] = defaultdict(list)
        for p in range(1, len(text) - HEAD + 1):
            for j in heads.get(text[p : p + HEAD], ()):
                if j != i:
                    places[j].append(p)
        overlaps = sorted(
            ((_overlap(text, items[j].text, ps), j) for j, ps in places.items()), reverse=True
        )
        overlaps = [o for o in overlaps if o[0] > 0]
        if len(overlaps) > 1 and overlaps[0][0] == overlaps[1][0]:
            return None  # two passages continue this one equally well
        if overlaps:
            successor[i] = overlaps[0][1]
    if len(successor) != len(items) - 1 or len(set(successor.values())) != len(successor):
        return None
    starts = set(range(len(items))) - set(successor.values())
    if len(starts) != 1:
        return None
    chain = [starts.pop()]
    while chain[-1] in successor and len(chain) <= len(items):
        chain.append(successor[chain[-1]])
    return [items[i] for i in chain] if len(chain) == len(items) else None


def order_rows(accepted: Sequence[_Accepted], *, id_order: bool) -> list[_Accepted]:
    """Reading order: by page; within a page by the offset key when every passage has one,
    else by id when ids are an order, else by overlap when it gives one chain, else by
    physical order (then id)."""
    pages: dict[int, list[_Accepted]] = defaultdict(list)
    for item in accepted:
        pages[item.page].append(item)
    ordered: list[_Accepted] = []
    for page in sorted(pages):
        items = pages[page]  # in (collection, document, id) order, as read
        if not id_order:
            items = sorted(items, key=lambda a: _position(a.row))
        offsets = [_offset(a.row.offset) for a in items]
        if all(o is not None for o in offsets):
            keyed = zip(offsets, range(len(items)), items, strict=True)
            ordered += [item for *_, item in sorted(keyed)]
        else:
            ordered += items if id_order else (_by_overlap(items) or items)
    return ordered


def document_rows(
    rows: Sequence[SourceRow], mapping: Mapping, *, max_chars: int, page_base: int
) -> DocumentRows:
    """Judge the rows of one source document (all of them, in id order)."""
    first = rows[0]
    source_collection = None if first.collection is None else str(first.collection)
    document_id = document_id_for(first.document, source_collection)
    collection = mapping.target_collection(source_collection)
    title = _title(first, document_id)
    consumed = _consumed_keys(mapping)
    rejections: list[Rejection] = []
    accepted: list[_Accepted] = []

    def reject(row: SourceRow, reason: SkipReason, detail: str = "") -> None:
        rejections.append(Rejection(str(row.id), reason, detail or reason.value))

    for row in rows:
        text = row.text if isinstance(row.text, str) else ""
        page = _page(row.page, page_base)
        if not COLLECTION_PATTERN.match(collection):
            reject(row, SkipReason.BAD_COLLECTION, f"collection {collection[:80]!r}")
            continue
        if not text.strip():
            reject(row, SkipReason.EMPTY_TEXT)
            continue
        if len(text) > max_chars:
            reject(row, SkipReason.TOO_LONG, f"{len(text)} characters, the limit is {max_chars}")
            continue
        if page is None:
            reject(row, SkipReason.BAD_PAGE, f"page is {row.page!r}")
            continue
        try:
            metadata = _metadata(row.metadata, mapping, consumed)
        except InvalidInputError as e:
            reject(row, SkipReason.BAD_METADATA, str(e))
            continue
        accepted.append(_Accepted(row, page, text, metadata))
    chunks: list[Chunk] = []
    for item in order_rows(accepted, id_order=mapping.id_order):
        chunk = Chunk(
            document_id=document_id,
            chunk_no=len(chunks),
            text=item.text,
            page=item.page,
            # The source keeps no page text to slice: the chunk is its own span.
            char_start=0,
            char_end=len(item.text),
            title=title,
            collection=collection,
            metadata=item.metadata,
        )
        try:
            check_budget(chunk)
        except InvalidInputError as e:
            reject(item.row, SkipReason.OVER_BUDGET, str(e))
            continue
        chunks.append(chunk)
    source_key = first.source_key if isinstance(first.source_key, str) else None
    return DocumentRows(
        document_id, first.document, source_collection, collection, chunks, rejections, source_key
    )

"""A BM25 keyword index kept by the service, for a vector store without text search
(S3 Vectors).

Each document's terms are one object, ``{prefix}{document_id}/{version}.json``, in a blob
store (the documents bucket on AWS); every process holds the whole index in memory as flat
numpy arrays (about 10 bytes per distinct term of a chunk: some 40 MB for 46,000 chunks)
and reloads what changed, found by listing the prefix, at most every ``refresh_seconds``.
So a process sees its own writes at once and another process's within ``refresh_seconds``.

Versions sort by time: if a process dies between writing a document's new version and
deleting the old one, the newer one wins and the next write of that document removes the
older.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rag_app.blobstores.base import BlobStore
from rag_app.domain import Chunk
from rag_app.text import bm25, words

LOAD_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class _Document:
    """One document's postings, its terms as ids of the index's vocabulary."""

    version: str
    chunk_nos: list[int]
    filterable: list[dict[str, Any]]
    lengths: NDArray[np.int32]  # distinct terms per chunk
    term_ids: NDArray[np.int32]  # one entry per (chunk, distinct term)
    tfs: NDArray[np.int32]
    owners: NDArray[np.int32]  # the chunk (its position in this document) of each entry


@dataclass(frozen=True, slots=True)
class _Flat:
    """Every document's postings, concatenated: rebuilt when the index changes."""

    keys: list[tuple[str, int]]  # (document_id, chunk_no) per chunk
    filterable: list[dict[str, Any]]
    lengths: NDArray[np.float64]
    term_ids: NDArray[np.int32]
    tfs: NDArray[np.float64]
    owners: NDArray[np.int32]  # the chunk of each entry
    df: NDArray[np.float64]  # chunks per term id

    @property
    def average_length(self) -> float:
        return float(self.lengths.mean()) if len(self.lengths) else 1.0


def _flatten(documents: dict[str, _Document], vocabulary_size: int) -> _Flat:
    ordered = sorted(documents.items())
    keys: list[tuple[str, int]] = []
    filterable: list[dict[str, Any]] = []
    owners: list[NDArray[np.int32]] = []
    for document_id, document in ordered:
        owners.append(document.owners + len(keys))
        keys += [(document_id, chunk_no) for chunk_no in document.chunk_nos]
        filterable += document.filterable

    def joined(arrays: list[NDArray[np.int32]]) -> NDArray[np.int32]:
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int32)

    term_ids = joined([d.term_ids for _, d in ordered])
    return _Flat(
        keys=keys,
        filterable=filterable,
        lengths=joined([d.lengths for _, d in ordered]).astype(np.float64),
        term_ids=term_ids,
        tfs=joined([d.tfs for _, d in ordered]).astype(np.float64),
        owners=joined(owners),
        df=np.bincount(term_ids, minlength=vocabulary_size).astype(np.float64),
    )


def _version() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


def _encode(chunks: Sequence[Chunk], filterable: Callable[[Chunk], dict[str, Any]]) -> bytes:
    records = [
        {"chunk_no": c.chunk_no, "filterable": filterable(c), "terms": dict(words.terms(c.text))}
        for c in chunks
    ]
    return json.dumps({"chunks": records}, separators=(",", ":")).encode()


def _decode(version: str, data: bytes, vocabulary: dict[str, int]) -> _Document:
    """The stored postings, their terms added to ``vocabulary`` (which only grows)."""
    records = json.loads(data)["chunks"]
    term_ids: list[int] = []
    tfs: list[int] = []
    owners: list[int] = []
    for owner, record in enumerate(records):
        for term, tf in record["terms"].items():
            term_ids.append(vocabulary.setdefault(str(term), len(vocabulary)))
            tfs.append(int(tf))
            owners.append(owner)
    return _Document(
        version=version,
        chunk_nos=[int(r["chunk_no"]) for r in records],
        filterable=[dict(r["filterable"]) for r in records],
        lengths=np.array([len(r["terms"]) for r in records], dtype=np.int32),
        term_ids=np.array(term_ids, dtype=np.int32),
        tfs=np.array(tfs, dtype=np.int32),
        owners=np.array(owners, dtype=np.int32),
    )


class Bm25Index:
    """BM25 over the chunks of one vector index; see the module docstring."""

    def __init__(
        self,
        objects: BlobStore,
        *,
        prefix: str,
        filterable: Callable[[Chunk], dict[str, Any]],
        refresh_seconds: float = 10.0,
    ) -> None:
        self._objects = objects
        self._prefix = prefix if prefix.endswith("/") else prefix + "/"
        self._filterable = filterable
        self._refresh_seconds = refresh_seconds
        self._documents: dict[str, _Document] = {}
        self._vocabulary: dict[str, int] = {}
        self._flat: _Flat | None = None
        self._refreshed_at = -float("inf")
        self._lock = asyncio.Lock()

    def _key(self, document_id: str, version: str) -> str:
        return f"{self._prefix}{document_id}/{version}.json"

    async def _versions(self, document_id: str | None = None) -> dict[str, list[str]]:
        """Stored versions per document, oldest first."""
        prefix = self._prefix + (f"{document_id}/" if document_id else "")
        found: dict[str, list[str]] = {}
        for key in await self._objects.list_keys(prefix):
            document, _, name = key[len(self._prefix) :].rpartition("/")
            if name.endswith(".json") and document:
                found.setdefault(document, []).append(name.removesuffix(".json"))
        return {d: sorted(v) for d, v in found.items()}

    async def put_document(self, document_id: str, chunks: Sequence[Chunk]) -> None:
        """Make ``chunks`` the document's whole term set, replacing any earlier one."""
        version = _version()
        data = _encode(chunks, self._filterable)
        await self._objects.put(
            self._key(document_id, version), data, content_type="application/json"
        )
        for old in (await self._versions(document_id)).get(document_id, []):
            if old != version:
                await self._objects.delete(self._key(document_id, old))
        async with self._lock:
            self._documents[document_id] = _decode(version, data, self._vocabulary)
            self._flat = None

    async def delete_document(self, document_id: str) -> None:
        for old in (await self._versions(document_id)).get(document_id, []):
            await self._objects.delete(self._key(document_id, old))
        async with self._lock:
            if self._documents.pop(document_id, None) is not None:
                self._flat = None

    async def refresh(self, *, force: bool = False) -> None:
        """Load what other processes changed (at most every ``refresh_seconds``)."""
        async with self._lock:
            now = time.monotonic()
            if not force and now - self._refreshed_at < self._refresh_seconds:
                return
            stored = {d: versions[-1] for d, versions in (await self._versions()).items()}
            stale = [d for d in self._documents if d not in stored]
            changed = [
                d
                for d, v in stored.items()
                if d not in self._documents or self._documents[d].version != v
            ]
            limit = asyncio.Semaphore(LOAD_CONCURRENCY)

            async def load(document_id: str) -> tuple[str, _Document | None]:
                async with limit:
                    version = stored[document_id]
                    try:
                        data = await self._objects.get(self._key(document_id, version))
                    except KeyError:  # replaced or deleted since the listing
                        return document_id, None
                    return document_id, _decode(version, data, self._vocabulary)

            for document_id, document in await asyncio.gather(*(load(d) for d in changed)):
                if document is not None:
                    self._documents[document_id] = document
            for document_id in stale:
                del self._documents[document_id]
            if stale or changed:
                self._flat = None
            self._refreshed_at = now

    async def search(
        self, text: str, *, top_k: int, matches: Callable[[dict[str, Any]], bool]
    ) -> list[tuple[str, int, float]]:
        """The ``top_k`` best (document_id, chunk_no, BM25 score) whose filterable metadata
        ``matches``, best first; ``[]`` when no query term occurs anywhere."""
        await self.refresh()
        async with self._lock:
            if self._flat is None:
                self._flat = _flatten(self._documents, len(self._vocabulary))
            flat = self._flat
            vocabulary = self._vocabulary
        # A term first seen after the flattening has no entries in it: it matches nothing.
        wanted = [vocabulary[t] for t in bm25.query_terms(text) if t in vocabulary]
        if not wanted:
            return []
        entries = np.isin(flat.term_ids, np.array(wanted, dtype=np.int32))
        owners = flat.owners[entries]
        df = flat.df[flat.term_ids[entries]]
        tf = flat.tfs[entries]
        chunks = len(flat.keys)
        idf = np.log(1 + (chunks - df + 0.5) / (df + 0.5))
        norm = bm25.K1 * (1 - bm25.B + bm25.B * flat.lengths[owners] / flat.average_length)
        scores = np.zeros(chunks)
        np.add.at(scores, owners, idf * tf * (bm25.K1 + 1) / (tf + norm))
        candidates = np.unique(owners)
        # Best first; ties in key order, so results are stable.
        order = sorted(candidates.tolist(), key=lambda i: (-scores[i], flat.keys[i]))
        found: list[tuple[str, int, float]] = []
        for i in order:
            if matches(flat.filterable[i]):
                found.append((*flat.keys[i], float(scores[i])))
                if len(found) == top_k:
                    break
        return found

"""Amazon S3 Vectors: one vector index per embedding space in one vector bucket.

Each chunk is one vector under the key ``{document_id}#{chunk_no}``. Filterable metadata:
``document_id``, ``collection``, ``page`` and the user's keys; the bulky fields (``text``,
``title``, offsets) are non-filterable keys declared when the index is created
(``records.py``). Every chunk is checked against the metadata budgets before anything is
written (``check_upsert``), so a document fails whole with a message naming the key instead
of with a 400 halfway through.

Writes go in batches of at most 500 vectors and under the 20 MiB request limit. botocore's
``standard`` retry mode retries throttling and 5xx answers; on top of that a batch that
still fails with 429/500/503 is retried whole with backoff: puts overwrite and deletes are
idempotent, so a retried batch neither loses nor duplicates a chunk.

S3 Vectors has no transactions: while a document is replaced, a reader may briefly see new
chunks next to old ones that are about to be deleted.

S3 Vectors has no text search either: keyword search runs on a BM25 index the store keeps
beside the vectors (``bm25_index.py``), written after a document's vectors and removed
with them; its hits are then read back from S3 Vectors (text, metadata and vector), so a
chunk whose vector has gone is never returned.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from botocore.exceptions import ClientError
from numpy.typing import NDArray

from rag_app.aws import s3vectors_rules as rules
from rag_app.aws.calls import AwsCalls, error_code
from rag_app.domain import Chunk, Filters, Hit, MetadataValue
from rag_app.vectorstores.base import (
    HybridCandidates,
    check_query_vector,
    check_top_k,
    check_upsert,
    hybrid_by_two_queries,
)
from rag_app.vectorstores.bm25_index import Bm25Index
from rag_app.vectorstores.records import (
    NON_FILTERABLE_FIELDS,
    chunk_from_metadata,
    chunk_metadata,
)

log = logging.getLogger(__name__)

REQUEST_BUDGET = rules.MAX_REQUEST_BYTES - 64 * 1024  # room for the request's envelope


def _filter(filters: Filters, collections: frozenset[str] | None) -> dict[str, Any] | None:
    """Equality AND in the S3 Vectors language: one key per condition object, ``$and``;
    the caller's collections as one ``$in``."""
    conditions: list[dict[str, Any]] = [{key: {"$eq": value}} for key, value in filters.items()]
    if collections is not None:
        conditions.append({"collection": {"$in": sorted(collections)}})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def _equal(stored: Any, wanted: MetadataValue) -> bool:
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return isinstance(stored, bool) and isinstance(wanted, bool) and stored == wanted
    if isinstance(stored, str) or isinstance(wanted, str):
        return isinstance(stored, str) and isinstance(wanted, str) and stored == wanted
    return bool(stored == wanted)


def _matches(
    metadata: dict[str, Any], filters: Filters, collections: frozenset[str] | None
) -> bool:
    """``_filter``'s meaning, evaluated here (for listing and the keyword index)."""
    return all(_equal(metadata.get(k), want) for k, want in filters.items()) and (
        collections is None or metadata.get("collection") in collections
    )


def filterable_metadata(chunk: Chunk) -> dict[str, Any]:
    return rules.filterable_part(chunk_metadata(chunk), NON_FILTERABLE_FIELDS)


def _cosine(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norms if norms else 0.0


class S3VectorsStore:
    def __init__(
        self,
        client: Any,
        *,
        bucket: str,
        index: str,
        dimension: int,
        keywords: Bm25Index,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._index = index
        self._dimension = dimension
        self._keywords = keywords
        self._calls = AwsCalls(client)

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def index_name(self) -> str:
        return self._index

    @property
    def _ids(self) -> dict[str, str]:
        return {"vectorBucketName": self._bucket, "indexName": self._index}

    async def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return await self._calls(operation, **kwargs)

    async def create(self) -> None:
        """Use the index if it exists (the deployed stacks create it, and the service's role
        may not create indexes); otherwise create the bucket (if missing) and the index, a
        lost race (409) being no error. An index of another dimension, metric or key layout
        is refused."""
        try:
            index = (await self._call("get_index", **self._ids))["index"]
        except ClientError as e:
            if error_code(e) != "NotFoundException":
                raise
            index = await self._create_index()
        keys = index.get("metadataConfiguration", {}).get("nonFilterableMetadataKeys", [])
        if (index["dimension"], index["distanceMetric"], sorted(keys)) != (
            self._dimension,
            "cosine",
            sorted(NON_FILTERABLE_FIELDS),
        ):
            raise ValueError(
                f"S3 Vectors index {self._index} has dimension {index['dimension']}, metric "
                f"{index['distanceMetric']} and non-filterable keys {keys}; this service needs "
                f"{self._dimension}, cosine and {list(NON_FILTERABLE_FIELDS)}"
            )

    async def _create_index(self) -> dict[str, Any]:
        try:
            await self._call("get_vector_bucket", vectorBucketName=self._bucket)
        except ClientError as e:
            if error_code(e) != "NotFoundException":
                raise
            try:
                await self._call("create_vector_bucket", vectorBucketName=self._bucket)
            except ClientError as race:
                if error_code(race) != "ConflictException":
                    raise
        try:
            await self._call(
                "create_index",
                **self._ids,
                dataType="float32",
                dimension=self._dimension,
                distanceMetric="cosine",
                metadataConfiguration={"nonFilterableMetadataKeys": list(NON_FILTERABLE_FIELDS)},
            )
        except ClientError as e:
            if error_code(e) != "ConflictException":
                raise
        created: dict[str, Any] = (await self._call("get_index", **self._ids))["index"]
        return created

    def _put_batches(
        self, chunks: Sequence[Chunk], vectors: NDArray[np.float32]
    ) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        size = 0
        for chunk, vector in zip(chunks, vectors, strict=True):
            record = {
                "key": chunk.chunk_id,
                "data": {"float32": vector.tolist()},
                "metadata": chunk_metadata(chunk),
            }
            # botocore sends this JSON; measuring it keeps every request under 20 MiB.
            record_size = len(json.dumps(record).encode()) + 2
            if batch and (len(batch) == rules.MAX_PUT_BATCH or size + record_size > REQUEST_BUDGET):
                yield batch
                batch, size = [], 0
            batch.append(record)
            size += record_size
        if batch:
            yield batch

    async def _vectors_from(
        self, document_id: str, first: int, *, contents: bool
    ) -> list[dict[str, Any]]:
        """Vectors ``document_id#first``, ``#first+1``... that exist, probing 100 keys at a
        time (chunk numbers are contiguous, so the first short probe is the last); with
        ``contents``, their data and metadata too."""
        found: list[dict[str, Any]] = []
        start = first
        extra = {"returnData": True, "returnMetadata": True} if contents else {}
        while True:
            keys = [f"{document_id}#{n}" for n in range(start, start + rules.MAX_GET_BATCH)]
            response = await self._call("get_vectors", **self._ids, keys=keys, **extra)
            present = response.get("vectors", [])
            found.extend(present)
            if len(present) < len(keys):
                return found
            start += rules.MAX_GET_BATCH

    async def _existing_keys_from(self, document_id: str, first: int) -> list[str]:
        return [v["key"] for v in await self._vectors_from(document_id, first, contents=False)]

    async def _delete_keys(self, keys: list[str]) -> None:
        for i in range(0, len(keys), rules.MAX_DELETE_BATCH):
            await self._call(
                "delete_vectors", **self._ids, keys=keys[i : i + rules.MAX_DELETE_BATCH]
            )

    async def upsert_document(
        self, document_id: str, chunks: Sequence[Chunk], vectors: NDArray[np.float32]
    ) -> None:
        check_upsert(document_id, chunks, vectors, self._dimension)
        for batch in self._put_batches(chunks, vectors):
            await self._call("put_vectors", **self._ids, vectors=batch)
        await self._delete_keys(await self._existing_keys_from(document_id, len(chunks)))
        await self._keywords.put_document(document_id, chunks)

    async def read_document(self, document_id: str) -> tuple[list[Chunk], NDArray[np.float32]]:
        found = await self._vectors_from(document_id, 0, contents=True)
        found.sort(key=lambda v: int(v["metadata"]["chunk_no"]))
        vectors = np.array([v["data"]["float32"] for v in found], dtype=np.float32)
        return (
            [chunk_from_metadata(v["metadata"]) for v in found],
            vectors.reshape(len(found), self._dimension),
        )

    async def delete_document(self, document_id: str) -> int:
        keys = await self._existing_keys_from(document_id, 0)
        await self._delete_keys(keys)
        await self._keywords.delete_document(document_id)
        return len(keys)

    async def query(
        self,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> list[Hit]:
        check_top_k(top_k)
        if collections is not None and not collections:
            return []  # no collection granted: nothing to ask S3 Vectors for
        check_query_vector(vector, self._dimension)
        request: dict[str, Any] = {
            **self._ids,
            "topK": top_k,
            "queryVector": {"float32": vector.astype(np.float32).tolist()},
            "returnMetadata": True,
            "returnDistance": True,
        }
        condition = _filter(filters, collections)
        if condition is not None:
            request["filter"] = condition
        response = await self._call("query_vectors", **request)
        return [
            Hit(
                chunk=chunk_from_metadata(item["metadata"]),
                similarity=1.0 - float(item["distance"]),
                score=1.0 - float(item["distance"]),
            )
            for item in response.get("vectors", [])
        ]

    async def query_text(
        self,
        text: str,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> list[Hit]:
        check_top_k(top_k)
        if collections is not None and not collections:
            return []
        check_query_vector(vector, self._dimension)
        found = await self._keywords.search(
            text, top_k=top_k, matches=lambda meta: _matches(meta, filters, collections)
        )
        if not found:
            return []
        keys = [f"{document_id}#{chunk_no}" for document_id, chunk_no, _ in found]
        response = await self._call(
            "get_vectors", **self._ids, keys=keys, returnData=True, returnMetadata=True
        )
        stored = {v["key"]: v for v in response.get("vectors", [])}
        hits = []
        for key, (_, _, rank) in zip(keys, found, strict=True):
            if key in stored:
                item = stored[key]
                data = np.array(item["data"]["float32"], dtype=np.float32)
                hits.append(
                    Hit(
                        chunk=chunk_from_metadata(item["metadata"]),
                        similarity=_cosine(vector, data),
                        text_rank=rank,
                        score=rank,
                    )
                )
        return hits

    async def query_hybrid(
        self,
        text: str,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        filters: Filters,
        collections: frozenset[str] | None = None,
    ) -> HybridCandidates:
        """``query`` and ``query_text`` side by side; the vector hits' BM25 is not returned
        (``vector_hits_scored`` False), as with S3 Vectors' own text search, whose results
        carry BM25 scores only for the keys it matched."""
        return await hybrid_by_two_queries(
            self, text, vector, top_k=top_k, filters=filters, collections=collections
        )

    async def count(self, filters: Filters, collections: frozenset[str] | None = None) -> int:
        """Lists the whole index (S3 Vectors has no count and ListVectors no filter)."""
        total = 0
        token: str | None = None
        while True:
            page = await self._call(
                "list_vectors",
                **self._ids,
                returnMetadata=True,
                maxResults=1000,
                **({"nextToken": token} if token else {}),
            )
            total += sum(
                _matches(v.get("metadata", {}), filters, collections)
                for v in page.get("vectors", [])
            )
            token = page.get("nextToken")
            if not token:
                return total

    async def check(self) -> None:
        await self._call("get_index", **self._ids)

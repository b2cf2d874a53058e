"""The catalog in one Amazon DynamoDB table, for Option 1 (no database server at all).

Items, by their one key ``pk`` (a string):

- ``doc#{document_id}``: a document; ``record`` holds it as JSON, and the index keys
  ``by_collection``/``by_kind`` (= ``document``) with ``order`` (``{created µs}#{id}``)
  list it oldest first;
- ``content#{collection}#{sha256}``: the id of the document with that content. It is
  written with ``attribute_not_exists(pk)``, which is what makes content unique per
  collection. A claim whose document no longer has that content is stale, and is taken over
  with a write conditional on the stale holder;
- ``job#{job_id}``: a job, with ``version`` (= ``updated_at``) and ``status`` for
  conditional replaces, ``stage``, ``job_document`` for its document's jobs, ``collection``,
  and ``by_kind = job#{status}`` with ``order``, so jobs list by status oldest or newest
  first (unfinished ones: the ``queued`` and ``running`` partitions);
- ``swap#{document_id}``: a document's version-swap lease (``holder``, ``expires`` in
  epoch seconds of the writer's clock).

Every conditional method is a single ``PutItem``/``DeleteItem`` with a condition, never
``TransactWriteItems``: single-item conditions are atomic on DynamoDB and on moto, whereas
moto's transactions are not safe under concurrency (the tests would prove nothing).

Listing reads the ``by-collection`` or ``by-kind`` global secondary index: a page costs
O(offset + limit) items read (the HTTP API pages by offset), and the total a COUNT query.
GSIs are eventually consistent on AWS (moto's are not): a document listed right after its
creation may be missing for a moment. Reads by key are strongly consistent.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from rag_app.aws.calls import AwsCalls, error_code
from rag_app.catalog.base import DocumentPage
from rag_app.domain import Document, DocumentStatus, Job, JobStage, JobStatus
from rag_app.errors import ConflictError

BY_COLLECTION = "by-collection"
BY_KIND = "by-kind"
JOBS_BY_DOCUMENT = "jobs-by-document"
CONDITION_FAILED = "ConditionalCheckFailedException"
STAMP_DIGITS = 20

KEY_ATTRIBUTES = ("pk", "by_collection", "by_kind", "job_document", "order")
INDEXES = (  # name, hash key, projection
    (BY_COLLECTION, "by_collection", "ALL"),
    (BY_KIND, "by_kind", "ALL"),
    (JOBS_BY_DOCUMENT, "job_document", "KEYS_ONLY"),
)


def table_definition(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments: on-demand, encrypted with KMS, deletion-protected. The
    Pulumi component declares the same table (and point-in-time recovery)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "S"} for a in KEY_ATTRIBUTES
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": key, "KeyType": "HASH"},
                    {"AttributeName": "order", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": projection},
            }
            for index, key, projection in INDEXES
        ],
        "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
    }


def _json_default(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _encode(record: Document | Job) -> str:
    values = dataclasses.asdict(record)
    values["metadata"] = dict(record.metadata)
    return json.dumps(values, default=_json_default)


def _times(values: dict[str, Any]) -> dict[str, Any]:
    return {
        **values,
        "created_at": datetime.fromisoformat(values["created_at"]),
        "updated_at": datetime.fromisoformat(values["updated_at"]),
    }


def _document(item: dict[str, Any]) -> Document:
    values = _times(json.loads(item["record"]["S"]))
    return Document(**{**values, "status": DocumentStatus(values["status"])})


def _job(item: dict[str, Any]) -> Job:
    values = _times(json.loads(item["record"]["S"]))
    return Job(
        **{**values, "status": JobStatus(values["status"]), "stage": JobStage(values["stage"])}
    )


def _order(moment: datetime, record_id: str) -> str:
    return f"{int(moment.timestamp() * 1_000_000):0{STAMP_DIGITS}d}#{record_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _content_key(collection: str, sha256: str) -> dict[str, Any]:
    return {"pk": _s(f"content#{collection}#{sha256}")}


def _condition_failed(error: ClientError) -> bool:
    return error_code(error) == CONDITION_FAILED


class DynamoDbCatalog:
    def __init__(self, client: Any, *, table: str) -> None:
        self._calls = AwsCalls(client)
        self._table = table

    async def _read(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """A read, or an unconditional write (botocore's retry policy applies)."""
        return await self._calls(operation, TableName=self._table, **kwargs)

    async def _write(self, operation: str, **kwargs: Any) -> bool:
        """A conditional write: ``False`` when its condition failed. (Should botocore retry
        one that landed, after a lost answer, the retry fails its own condition: a caller
        then sees the state it wrote, as if another writer had won with the same value.)"""
        try:
            await self._calls(operation, TableName=self._table, **kwargs)
        except ClientError as e:
            if _condition_failed(e):
                return False
            raise
        return True

    async def _item(self, pk: str) -> dict[str, Any] | None:
        response = await self._read("get_item", Key={"pk": _s(pk)}, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    # Documents

    async def get_document(self, document_id: str) -> Document | None:
        item = await self._item(f"doc#{document_id}")
        return _document(item) if item else None

    async def _content_holder(self, collection: str, sha256: str) -> tuple[str, Document | None]:
        """The claim's holder id ("" for no claim), and its document if it still holds
        this content (else the claim is stale)."""
        item = await self._item(f"content#{collection}#{sha256}")
        if item is None:
            return "", None
        holder_id = str(item["document_id"]["S"])
        document = await self.get_document(holder_id)
        if document is None or (document.collection, document.content_sha256) != (
            collection,
            sha256,
        ):
            return holder_id, None
        return holder_id, document

    async def find_document_by_content(self, collection: str, sha256: str) -> Document | None:
        return (await self._content_holder(collection, sha256))[1]

    async def _claim_content(self, document: Document) -> Document | None:
        """Claim ``document``'s content for its id: ``None`` once the claim is its own,
        else the other document that holds the content."""
        key = _content_key(document.collection, document.content_sha256)
        item = {**key, "document_id": _s(document.document_id)}
        while True:
            if await self._write(
                "put_item", Item=item, ConditionExpression="attribute_not_exists(pk)"
            ):
                return None
            holder_id, holder = await self._content_holder(
                document.collection, document.content_sha256
            )
            if holder is not None:
                return holder if holder.document_id != document.document_id else None
            if holder_id == document.document_id:
                return None  # our own stale claim: ours again
            if holder_id == "":
                continue  # released in between
            if await self._write(  # take over a stale claim, unless someone else did
                "put_item",
                Item=item,
                ConditionExpression="#id = :stale",
                ExpressionAttributeNames={"#id": "document_id"},
                ExpressionAttributeValues={":stale": _s(holder_id)},
            ):
                return None

    async def _drop_claim(self, collection: str, sha256: str, document_id: str) -> None:
        await self._write(
            "delete_item",
            Key=_content_key(collection, sha256),
            ConditionExpression="#id = :id",
            ExpressionAttributeNames={"#id": "document_id"},
            ExpressionAttributeValues={":id": _s(document_id)},
        )

    def _document_item(self, document: Document) -> dict[str, Any]:
        return {
            "pk": _s(f"doc#{document.document_id}"),
            "record": _s(_encode(document)),
            "by_collection": _s(document.collection),
            "by_kind": _s("document"),
            "order": _s(_order(document.created_at, document.document_id)),
        }

    async def create_document(self, document: Document) -> Document | None:
        while True:
            holder = await self._claim_content(document)
            if holder is not None:
                return holder
            if await self._write(
                "put_item",
                Item=self._document_item(document),
                ConditionExpression="attribute_not_exists(pk)",
            ):
                return None
            existing = await self.get_document(document.document_id)
            if existing is None:
                continue  # deleted in between: try again
            if existing.content_sha256 != document.content_sha256:
                await self._drop_claim(
                    document.collection, document.content_sha256, document.document_id
                )
            return existing

    async def save_document(self, document: Document) -> None:
        previous = await self.get_document(document.document_id)
        same_content = previous is not None and (
            previous.collection,
            previous.content_sha256,
        ) == (document.collection, document.content_sha256)
        if not same_content:
            holder = await self._claim_content(document)
            if holder is not None:
                raise ConflictError(
                    f"this content is already document {holder.document_id!r}"
                    f" of collection {document.collection!r}"
                )
        await self._read("put_item", Item=self._document_item(document))
        if previous is not None and not same_content:
            await self._drop_claim(
                previous.collection, previous.content_sha256, previous.document_id
            )

    async def _query(
        self,
        index: str,
        key: str,
        value: str,
        *,
        want: int | None,
        newest_first: bool = False,
        collections: frozenset[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Items of a GSI partition in ``order`` (or its reverse), at most ``want`` (None:
        all); with ``collections``, only items whose ``collection`` is one of them."""
        names = {"#k": key}
        values = {":v": _s(value)}
        extra: dict[str, Any] = {}
        if collections is not None:
            wanted = {f":c{i}": _s(c) for i, c in enumerate(sorted(collections))}
            names["#c"] = "collection"
            values |= wanted
            extra["FilterExpression"] = f"#c IN ({', '.join(wanted)})"
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while want is None or len(items) < want:
            page = await self._read(
                "query",
                IndexName=index,
                KeyConditionExpression="#k = :v",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ScanIndexForward=not newest_first,
                **extra,
                **({"Limit": min(1000, want - len(items))} if want is not None else {}),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            items += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if start is None:
                break
        return items[:want] if want is not None else items

    async def _count(self, index: str, key: str, value: str) -> int:
        total, start = 0, None
        while True:
            page = await self._read(
                "query",
                IndexName=index,
                Select="COUNT",
                KeyConditionExpression="#k = :v",
                ExpressionAttributeNames={"#k": key},
                ExpressionAttributeValues={":v": _s(value)},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            total += int(page["Count"])
            start = page.get("LastEvaluatedKey")
            if start is None:
                return total

    async def list_documents(
        self, *, collections: frozenset[str] | None, limit: int, offset: int
    ) -> DocumentPage:
        partitions = (
            [("by_kind", BY_KIND, "document")]
            if collections is None
            else [("by_collection", BY_COLLECTION, c) for c in sorted(collections)]
        )
        streams = [
            await self._query(index, key, value, want=offset + limit)
            for key, index, value in partitions
        ]
        merged = list(heapq.merge(*streams, key=lambda item: str(item["order"]["S"])))
        total = 0
        for key, index, value in partitions:
            total += await self._count(index, key, value)
        return DocumentPage(
            items=[_document(i) for i in merged[offset : offset + limit]], total=total
        )

    async def delete_document(self, document_id: str) -> bool:
        response = await self._read(
            "delete_item", Key={"pk": _s(f"doc#{document_id}")}, ReturnValues="ALL_OLD"
        )
        old = response.get("Attributes")
        for item in await self._query(JOBS_BY_DOCUMENT, "job_document", document_id, want=None):
            await self._read("delete_item", Key={"pk": item["pk"]})
        await self._read("delete_item", Key={"pk": _s(f"swap#{document_id}")})
        if old is None:
            return False
        document = _document(old)
        await self._drop_claim(document.collection, document.content_sha256, document_id)
        return True

    # Jobs

    async def get_job(self, job_id: str) -> Job | None:
        item = await self._item(f"job#{job_id}")
        return _job(item) if item else None

    @staticmethod
    def _job_item(job: Job) -> dict[str, Any]:
        return {
            "pk": _s(f"job#{job.job_id}"),
            "record": _s(_encode(job)),
            "version": _s(job.updated_at.isoformat()),
            "status": _s(job.status.value),
            "stage": _s(job.stage.value),
            "job_document": _s(job.document_id),
            "collection": _s(job.collection),
            "by_kind": _s(f"job#{job.status.value}"),
            "order": _s(_order(job.created_at, job.job_id)),
        }

    async def save_job(self, job: Job) -> None:
        await self._read("put_item", Item=self._job_item(job))

    async def replace_job(self, job: Job, *, previous: Job) -> bool:
        return await self._write(
            "put_item",
            Item=self._job_item(job),
            ConditionExpression="#version = :v AND #status = :status",
            ExpressionAttributeNames={"#version": "version", "#status": "status"},
            ExpressionAttributeValues={
                ":v": _s(previous.updated_at.isoformat()),
                ":status": _s(previous.status.value),
            },
        )

    async def list_jobs(
        self, *, status: JobStatus | None, collections: frozenset[str] | None, limit: int
    ) -> list[Job]:
        if collections is not None and not collections:
            return []
        streams = [
            await self._query(
                BY_KIND,
                "by_kind",
                f"job#{s.value}",
                want=limit,
                newest_first=True,
                collections=collections,
            )
            for s in (list(JobStatus) if status is None else [status])
        ]
        merged = heapq.merge(*streams, key=lambda item: str(item["order"]["S"]), reverse=True)
        return [_job(i) for i in itertools.islice(merged, limit)]

    async def unfinished_jobs(self) -> list[Job]:
        streams = [
            await self._query(BY_KIND, "by_kind", f"job#{s.value}", want=None)
            for s in (JobStatus.QUEUED, JobStatus.RUNNING)
        ]
        merged = heapq.merge(*streams, key=lambda item: str(item["order"]["S"]))
        return [_job(i) for i in merged]

    # Version-swap leases

    async def acquire_swap(self, document_id: str, holder: str, *, lease_seconds: float) -> bool:
        now = time.time()
        return await self._write(
            "put_item",
            Item={
                "pk": _s(f"swap#{document_id}"),
                "holder": _s(holder),
                "expires": {"N": f"{now + lease_seconds:.3f}"},
            },
            ConditionExpression="attribute_not_exists(pk) OR #holder = :h OR #expires < :now",
            ExpressionAttributeNames={"#holder": "holder", "#expires": "expires"},
            ExpressionAttributeValues={":h": _s(holder), ":now": {"N": f"{now:.3f}"}},
        )

    async def release_swap(self, document_id: str, holder: str) -> None:
        await self._write(
            "delete_item",
            Key={"pk": _s(f"swap#{document_id}")},
            ConditionExpression="#holder = :h",
            ExpressionAttributeNames={"#holder": "holder"},
            ExpressionAttributeValues={":h": _s(holder)},
        )

    async def check(self) -> None:
        await self._item("check#readiness")

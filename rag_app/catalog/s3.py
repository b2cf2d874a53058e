"""The catalog as JSON objects in the documents bucket, for Option 1 (no database at all).

Layout under ``<prefix>catalog/``:

- ``documents/{document_id}.json``, ``jobs/{job_id}.json``: the records;
- ``order/{created}-{document_id}`` and ``collections/{collection}/{created}-{document_id}``:
  empty markers whose keys sort oldest first (S3 lists keys in UTF-8 order), for listing;
- ``content/{collection}/{sha256}``: the id of the document with that content;
- ``document-jobs/{document_id}/{job_id}`` and ``unfinished/{created}-{job_id}``: markers.

S3 is strongly consistent for reads after writes. Writes are last-writer-wins: this is a
catalog for a service with one writer at a time (one ECS task, or a few with few users);
listing reads every marker of the listed prefix, so it is O(documents) per page.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from rag_app.blobstores.s3 import S3BlobStore
from rag_app.catalog.base import DocumentPage
from rag_app.domain import Document, DocumentStatus, Job, JobStage, JobStatus

STAMP_DIGITS = 20


def _stamp(moment: datetime) -> str:
    return f"{int(moment.timestamp() * 1_000_000):0{STAMP_DIGITS}d}"


def _id_of(marker: str) -> str:
    """The id in a ``.../{stamp}-{id}`` marker (ids may contain '-')."""
    return marker.rsplit("/", 1)[-1][STAMP_DIGITS + 1 :]


def _json_default(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _encode(record: Document | Job) -> bytes:
    values = dataclasses.asdict(record)
    values["metadata"] = dict(record.metadata)
    return json.dumps(values, default=_json_default).encode()


def _decode_times(values: dict[str, Any]) -> dict[str, Any]:
    return {
        **values,
        "created_at": datetime.fromisoformat(values["created_at"]),
        "updated_at": datetime.fromisoformat(values["updated_at"]),
    }


class S3Catalog:
    def __init__(self, objects: S3BlobStore) -> None:
        self._objects = objects

    async def _read(self, key: str) -> dict[str, Any] | None:
        try:
            value: dict[str, Any] = json.loads(await self._objects.get(key))
        except KeyError:
            return None
        return value

    async def _mark(self, key: str, body: bytes = b"") -> None:
        await self._objects.put(key, body, content_type="application/octet-stream")

    async def get_document(self, document_id: str) -> Document | None:
        values = await self._read(f"catalog/documents/{document_id}.json")
        if values is None:
            return None
        values = _decode_times(values)
        return Document(**{**values, "status": DocumentStatus(values["status"])})

    async def find_document_by_content(self, collection: str, sha256: str) -> Document | None:
        try:
            document_id = (
                await self._objects.get(f"catalog/content/{collection}/{sha256}")
            ).decode()
        except KeyError:
            return None
        document = await self.get_document(document_id)
        if document is None or (document.collection, document.content_sha256) != (
            collection,
            sha256,
        ):
            return None  # a stale pointer: the document changed or went
        return document

    async def list_documents(
        self, *, collections: frozenset[str] | None, limit: int, offset: int
    ) -> DocumentPage:
        if collections is None:
            markers = await self._objects.list_keys("catalog/order/")
        else:
            markers = []
            for collection in sorted(collections):
                markers += await self._objects.list_keys(f"catalog/collections/{collection}/")
        # Marker names start with the creation stamp: sorting by name is oldest first.
        markers.sort(key=lambda key: key.rsplit("/", 1)[-1])
        page = markers[offset : offset + limit]
        items = []
        for marker in page:
            document = await self.get_document(_id_of(marker))
            if document is not None:
                items.append(document)
        return DocumentPage(items=items, total=len(markers))

    def _order_keys(self, document: Document) -> list[str]:
        suffix = f"{_stamp(document.created_at)}-{document.document_id}"
        return [f"catalog/order/{suffix}", f"catalog/collections/{document.collection}/{suffix}"]

    async def save_document(self, document: Document) -> None:
        previous = await self.get_document(document.document_id)
        await self._objects.put(
            f"catalog/documents/{document.document_id}.json",
            _encode(document),
            content_type="application/json",
        )
        if previous is not None:
            for key in set(self._order_keys(previous)) - set(self._order_keys(document)):
                await self._objects.delete(key)
        for key in self._order_keys(document):
            await self._mark(key)
        await self._mark(
            f"catalog/content/{document.collection}/{document.content_sha256}",
            document.document_id.encode(),
        )

    async def delete_document(self, document_id: str) -> bool:
        document = await self.get_document(document_id)
        if document is None:
            return False
        for key in await self._objects.list_keys(f"catalog/document-jobs/{document_id}/"):
            job = await self.get_job(key.rsplit("/", 1)[-1])
            if job is not None:
                await self._objects.delete(self._unfinished_key(job))
                await self._objects.delete(f"catalog/jobs/{job.job_id}.json")
            await self._objects.delete(key)
        for key in self._order_keys(document):
            await self._objects.delete(key)
        content = f"catalog/content/{document.collection}/{document.content_sha256}"
        if await self.find_document_by_content(document.collection, document.content_sha256):
            await self._objects.delete(content)
        await self._objects.delete(f"catalog/documents/{document_id}.json")
        return True

    async def get_job(self, job_id: str) -> Job | None:
        values = await self._read(f"catalog/jobs/{job_id}.json")
        if values is None:
            return None
        values = _decode_times(values)
        return Job(
            **{**values, "status": JobStatus(values["status"]), "stage": JobStage(values["stage"])}
        )

    @staticmethod
    def _unfinished_key(job: Job) -> str:
        return f"catalog/unfinished/{_stamp(job.created_at)}-{job.job_id}"

    async def save_job(self, job: Job) -> None:
        await self._objects.put(
            f"catalog/jobs/{job.job_id}.json", _encode(job), content_type="application/json"
        )
        await self._mark(f"catalog/document-jobs/{job.document_id}/{job.job_id}")
        if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            await self._mark(self._unfinished_key(job))
        else:
            await self._objects.delete(self._unfinished_key(job))

    async def list_jobs(
        self, *, status: JobStatus | None, collections: frozenset[str] | None, limit: int
    ) -> list[Job]:
        # Reads every job record: O(jobs), like listing documents here (the DynamoDB
        # catalog replaces this one).
        jobs = []
        for key in await self._objects.list_keys("catalog/jobs/"):
            job = await self.get_job(key.rsplit("/", 1)[-1].removesuffix(".json"))
            if job is None or (status is not None and job.status is not status):
                continue
            if collections is None or job.collection in collections:
                jobs.append(job)
        jobs.sort(key=lambda j: (j.created_at, j.job_id), reverse=True)
        return jobs[:limit]

    async def unfinished_jobs(self) -> list[Job]:
        jobs = []
        for key in sorted(await self._objects.list_keys("catalog/unfinished/")):
            job = await self.get_job(_id_of(key))
            if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                jobs.append(job)
        return jobs

    async def check(self) -> None:
        await self._objects.list_keys("catalog/documents/", limit=1)

"""Upgrading Option 1: the catalog it kept as JSON objects in the documents bucket (before
the DynamoDB catalog) copied into the configured catalog, so a running deployment keeps its
documents and jobs across the upgrade.

The source layout (the removed ``rag_app/catalog/s3.py``): ``<prefix>catalog/documents/
{document_id}.json`` and ``<prefix>catalog/jobs/{job_id}.json``, each a record's fields as
JSON (times in ISO 8601); the marker objects beside them (order, collections, content,
unfinished) are derived and not read. The originals stay where they are: the records name
them by key in the same bucket.

Idempotent and safe to re-run: a record the target already holds as new or newer
(``updated_at``) is left alone, so a run after the upgraded service has changed a document
does not undo the change. Documents go first, then jobs. A document whose content another
document of its collection already holds (the old catalog was last-writer-wins, so two
identical uploads could both exist) is not copied and is reported by id, with its jobs; an
unreadable record is reported and skipped. Nothing is deleted from the bucket.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from rag_app.aws.clients import AwsClients
from rag_app.blobstores import backends as blobstores
from rag_app.blobstores.base import BlobStore
from rag_app.catalog import backends as catalogs
from rag_app.catalog.base import Catalog
from rag_app.domain import Document, DocumentStatus, Job, JobStage, JobStatus
from rag_app.errors import ConfigurationError, ConflictError, InvalidInputError
from rag_app.settings import Settings

DOCUMENTS = "catalog/documents/"
JOBS = "catalog/jobs/"

Record = TypeVar("Record", Document, Job)


@dataclass
class CatalogCopy:
    """What a run did (or, with ``dry_run``, would do)."""

    documents_copied: int = 0
    documents_current: int = 0  # already in the target, as new or newer
    jobs_copied: int = 0
    jobs_current: int = 0
    conflicts: list[str] = field(default_factory=list)  # document ids not copied
    unreadable: list[str] = field(default_factory=list)  # object keys and why

    def lines(self, *, dry_run: bool) -> list[str]:
        verb = "would copy" if dry_run else "copied"
        out = [
            f"documents: {verb} {self.documents_copied}, {self.documents_current} already current",
            f"jobs: {verb} {self.jobs_copied}, {self.jobs_current} already current",
        ]
        out += [f"not copied (content held by another document): {c}" for c in self.conflicts]
        out += [f"unreadable, skipped: {u}" for u in self.unreadable]
        return out


def _decode(cls: type[Record], raw: bytes, enums: dict[str, Callable[[Any], Any]]) -> Record:
    """A record from its JSON, as the S3 catalog wrote it. Fields this version added since
    take their defaults; fields it no longer has are dropped."""
    values = json.loads(raw)
    if not isinstance(values, dict):
        raise TypeError("not a JSON object")
    known = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in values.items() if k in known}
    for name in ("created_at", "updated_at"):
        values[name] = datetime.fromisoformat(values[name])
    for name, enum in enums.items():
        values[name] = enum(values[name])
    values["metadata"] = dict(values.get("metadata") or {})
    return cls(**values)


def decode_document(raw: bytes) -> Document:
    return _decode(Document, raw, {"status": DocumentStatus})


def decode_job(raw: bytes) -> Job:
    return _decode(Job, raw, {"status": JobStatus, "stage": JobStage})


async def _records(
    objects: BlobStore, prefix: str, decode: Callable[[bytes], Record], report: CatalogCopy
) -> list[Record]:
    records = []
    for key in sorted(await objects.list_keys(prefix)):
        if not key.endswith(".json"):
            continue
        try:
            records.append(decode(await objects.get(key)))
        except (ValueError, KeyError, TypeError) as e:
            report.unreadable.append(f"{key} ({type(e).__name__}: {e})")
    return records


async def copy_s3_catalog(objects: BlobStore, target: Catalog, *, dry_run: bool) -> CatalogCopy:
    """Copy the S3 JSON catalog under ``objects`` (the documents bucket at the configured
    prefix) into ``target``; see the module docstring."""
    report = CatalogCopy()
    skipped: set[str] = set()
    for document in await _records(objects, DOCUMENTS, decode_document, report):
        held = await target.get_document(document.document_id)
        if held is not None and held.updated_at >= document.updated_at:
            report.documents_current += 1
            continue
        holder = await target.find_document_by_content(document.collection, document.content_sha256)
        if holder is not None and holder.document_id != document.document_id:
            report.conflicts.append(
                f"{document.document_id} (collection {document.collection!r}, same content "
                f"as {holder.document_id})"
            )
            skipped.add(document.document_id)
            continue
        if not dry_run:
            try:
                await target.save_document(document)
            except ConflictError as e:  # taken between the check and the write
                report.conflicts.append(f"{document.document_id} ({e})")
                skipped.add(document.document_id)
                continue
        report.documents_copied += 1
    for job in await _records(objects, JOBS, decode_job, report):
        if job.document_id in skipped:
            continue
        held_job = await target.get_job(job.job_id)
        if held_job is not None and held_job.updated_at >= job.updated_at:
            report.jobs_current += 1
            continue
        if not dry_run:
            await target.save_job(job)
        report.jobs_copied += 1
    return report


async def run_catalog_from_s3(settings: Settings, *, dry_run: bool) -> list[str]:
    """``rag-app migrate catalog-from-s3``: the configured documents bucket's S3 JSON
    catalog into the configured DynamoDB table. Needs ``RAG_BLOB_STORE=s3`` and
    ``RAG_CATALOG=dynamodb`` (the upgraded Option 1 settings)."""
    if settings.blob_store != "s3" or settings.catalog != "dynamodb":
        raise InvalidInputError(
            "migrate catalog-from-s3 copies the S3 JSON catalog of the documents bucket into "
            "DynamoDB: set RAG_BLOB_STORE=s3, RAG_DOCUMENTS_BUCKET (and RAG_DOCUMENTS_PREFIX) "
            "and RAG_CATALOG=dynamodb with RAG_DYNAMODB_TABLE, as the upgraded service has them"
        )
    aws = AwsClients(settings)
    objects = blobstores.build(settings, aws)
    target = catalogs.build(settings, aws, pool=None)
    try:
        await target.check()
    except ClientError as e:
        raise ConfigurationError(
            f"the DynamoDB table {settings.dynamodb_table!r} (RAG_DYNAMODB_TABLE) cannot be "
            f"read: {e}; create it with the stack (pulumi up) first"
        ) from None
    report = await copy_s3_catalog(objects, target, dry_run=dry_run)
    return report.lines(dry_run=dry_run)

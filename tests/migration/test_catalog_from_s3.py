"""``rag-app migrate catalog-from-s3``: an Option 1 deployment's old catalog (JSON objects
in the documents bucket, as the removed ``rag_app/catalog/s3.py`` wrote them) copied into
the DynamoDB catalog, on moto's S3 and DynamoDB servers through real boto3 clients and the
real CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from rag_app.catalog.dynamodb import DynamoDbCatalog
from rag_app.cli import main
from rag_app.domain import Document, DocumentStatus, Job, JobStage, JobStatus
from tests.conftest import dynamodb_table

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _document(document_id: str, n: int, collection: str = "cases") -> Document:
    return Document(
        document_id=document_id,
        title=f"Exhibit {n}",
        collection=collection,
        metadata={"court": "x", "year": 2020 + n},
        filename=f"exhibit-{n}.pdf",
        media_type="application/pdf",
        content_sha256=f"{n:064x}",
        size_bytes=1000 + n,
        status=DocumentStatus.READY,
        pages=3,
        chunks=7,
        error=None,
        latest_job_id=f"job-{document_id}",
        created_at=T0 + timedelta(minutes=n),
        updated_at=T0 + timedelta(minutes=n, seconds=30),
        pages_text=3,
    )


def _job(document: Document, status: JobStatus = JobStatus.SUCCEEDED) -> Job:
    return Job(
        job_id=document.latest_job_id,
        document_id=document.document_id,
        status=status,
        stage=JobStage.DONE if status is JobStatus.SUCCEEDED else JobStage.QUEUED,
        error=None,
        content_sha256=document.content_sha256,
        blob_key=f"documents/{document.document_id}/{document.content_sha256}.pdf",
        filename=document.filename,
        media_type=document.media_type,
        size_bytes=document.size_bytes,
        title=document.title,
        collection=document.collection,
        metadata=dict(document.metadata),
        created_at=document.created_at,
        updated_at=document.updated_at,
    )


def _old_json(record: Document | Job) -> bytes:
    """The record as the S3 catalog encoded it (dataclasses.asdict, ISO times)."""
    values = dataclasses.asdict(record)
    values["metadata"] = dict(record.metadata)
    return json.dumps(
        values, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)
    ).encode()


class OldCatalog:
    """An Option 1 documents bucket holding the old catalog under a fresh prefix."""

    def __init__(self, s3: Any) -> None:
        self.s3, self.prefix = s3, f"{uuid.uuid4().hex}/"

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket="documents", Key=f"{self.prefix}catalog/{key}", Body=body)

    def add(self, document: Document, *jobs: Job) -> None:
        self.put(f"documents/{document.document_id}.json", _old_json(document))
        stamp = f"{int(document.created_at.timestamp() * 1_000_000):020d}"
        self.put(f"order/{stamp}-{document.document_id}", b"")  # markers: not read
        self.put(f"content/{document.collection}/{document.content_sha256}", b"x")
        for job in jobs:
            self.put(f"jobs/{job.job_id}.json", _old_json(job))


def _run(old: OldCatalog, table: str, tmp_path: Path, *args: str, **env: str) -> Result:
    settings = {
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_BLOB_STORE": "s3",
        "RAG_DOCUMENTS_BUCKET": "documents",
        "RAG_DOCUMENTS_PREFIX": old.prefix,
        "RAG_CATALOG": "dynamodb",
        "RAG_DYNAMODB_TABLE": table,
        "RAG_VECTOR_STORE": "s3vectors",
        **env,
    }
    return CliRunner().invoke(main, ["migrate", "catalog-from-s3", *args], env=settings)


def test_an_old_catalog_moves_to_dynamodb_once(moto_s3: Any, tmp_path: Path) -> None:
    old = OldCatalog(moto_s3)
    first, second = _document("d-1", 1), _document("d-2", 2, collection="memos")
    queued = _document("d-3", 3)
    old.add(first, _job(first))
    old.add(second, _job(second))
    old.add(queued, _job(queued, JobStatus.QUEUED))
    # A record from before the fields ingestion reports were added (no pages_text, ...).
    legacy = json.loads(_old_json(_document("d-4", 4)))
    for key in ("pages_text", "pages_ocr", "pages_empty", "duration_s", "transcript_source"):
        del legacy[key]
    old.put("documents/d-4.json", json.dumps(legacy).encode())
    client, table = dynamodb_table(moto_s3)

    dry = _run(old, table, tmp_path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "documents: would copy 4, 0 already current" in dry.output
    catalog = DynamoDbCatalog(client, table=table)
    assert asyncio.run(catalog.get_document("d-1")) is None  # a dry run writes nothing

    done = _run(old, table, tmp_path)
    assert done.exit_code == 0, done.output
    assert "documents: copied 4, 0 already current" in done.output
    assert "jobs: copied 3, 0 already current" in done.output

    async def check() -> None:
        assert await catalog.get_document("d-1") == first
        assert await catalog.get_job(first.latest_job_id) == _job(first)
        page = await catalog.list_documents(collections=None, limit=10, offset=0)
        assert [d.document_id for d in page.items] == ["d-1", "d-2", "d-3", "d-4"]
        assert page.total == 4
        memos = await catalog.list_documents(collections=frozenset({"memos"}), limit=10, offset=0)
        assert [d.document_id for d in memos.items] == ["d-2"]
        held = await catalog.find_document_by_content("memos", second.content_sha256)
        assert held is not None
        assert held.document_id == "d-2"
        assert [j.job_id for j in await catalog.unfinished_jobs()] == [queued.latest_job_id]
        upgraded = await catalog.get_document("d-4")
        assert upgraded is not None
        assert (upgraded.pages_text, upgraded.transcript_source) == (0, None)

    asyncio.run(check())

    again = _run(old, table, tmp_path)
    assert again.exit_code == 0, again.output
    assert "documents: copied 0, 4 already current" in again.output
    assert "jobs: copied 0, 3 already current" in again.output


def test_a_newer_record_in_the_table_is_kept(moto_s3: Any, tmp_path: Path) -> None:
    old = OldCatalog(moto_s3)
    document = _document("d-1", 1)
    old.add(document, _job(document))
    client, table = dynamodb_table(moto_s3)
    catalog = DynamoDbCatalog(client, table=table)
    renamed = dataclasses.replace(
        document, title="Renamed after the upgrade", updated_at=T0 + timedelta(days=1)
    )
    asyncio.run(catalog.save_document(renamed))

    result = _run(old, table, tmp_path)
    assert result.exit_code == 0, result.output
    assert "documents: copied 0, 1 already current" in result.output
    assert asyncio.run(catalog.get_document("d-1")) == renamed


def test_duplicates_and_unreadable_records_are_named_and_the_rest_copied(
    moto_s3: Any, tmp_path: Path
) -> None:
    old = OldCatalog(moto_s3)
    original = _document("d-1", 1)
    # Last writer wins in the old catalog: the same content twice in a collection.
    twin = dataclasses.replace(_document("d-2", 2), content_sha256=original.content_sha256)
    other = _document("d-3", 3)
    old.add(original, _job(original))
    old.add(twin, _job(twin))
    old.add(other)
    old.put("documents/broken.json", b"{not json")
    old.put("documents/list.json", b"[1, 2]")
    old.put("jobs/half.json", json.dumps({"job_id": "half"}).encode())
    client, table = dynamodb_table(moto_s3)

    result = _run(old, table, tmp_path)
    assert result.exit_code == 0, result.output
    assert "documents: copied 2, 0 already current" in result.output
    assert "jobs: copied 1, 0 already current" in result.output  # not the twin's
    assert "not copied (content held by another document): d-2" in result.output
    for key in ("documents/broken.json", "documents/list.json", "jobs/half.json"):
        assert f"unreadable, skipped: catalog/{key}" in result.output  # under the prefix
    catalog = DynamoDbCatalog(client, table=table)
    assert asyncio.run(catalog.get_document("d-2")) is None
    assert asyncio.run(catalog.get_document("d-3")) == other


def test_an_empty_bucket_copies_nothing(moto_s3: Any, tmp_path: Path) -> None:
    _, table = dynamodb_table(moto_s3)
    result = _run(OldCatalog(moto_s3), table, tmp_path)
    assert result.exit_code == 0, result.output
    assert "documents: copied 0, 0 already current" in result.output


def test_the_wrong_settings_or_a_missing_table_are_clear_errors(
    moto_s3: Any, tmp_path: Path
) -> None:
    old = OldCatalog(moto_s3)
    old.add(_document("d-1", 1))
    _, table = dynamodb_table(moto_s3)
    postgres = _run(old, table, tmp_path, RAG_CATALOG="postgres", RAG_VECTOR_STORE="pgvector")
    assert postgres.exit_code != 0
    assert "set RAG_BLOB_STORE=s3" in postgres.output
    assert "RAG_CATALOG=dynamodb" in postgres.output
    missing = _run(old, "no-such-table", tmp_path)
    assert missing.exit_code != 0
    assert "Traceback" not in missing.output
    assert "no-such-table" in missing.output
    listed = moto_s3.list_objects_v2(Bucket="documents", Prefix=f"{old.prefix}catalog/documents/")
    assert listed["KeyCount"] == 1  # nothing is deleted from the bucket

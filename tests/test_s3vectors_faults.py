"""Ingestion through S3 Vectors while the service throttles and fails: 30% of the vector
calls answer 429 or 503, and every chunk still ends up stored exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag_app.domain import JobStatus
from rag_app.ingest.service import Upload
from rag_app.s3vectors_local import LocalS3Vectors
from rag_app.services import open_services
from rag_app.settings import Settings
from rag_app.vectorstores.s3vectors import S3VectorsStore
from tests.conftest import CORPUS, s3vectors_client, unique_bucket

pytestmark = pytest.mark.anyio
FAULTY = ("PutVectors", "GetVectors", "DeleteVectors", "QueryVectors")
FAULTS = ("TooManyRequestsException", "ServiceUnavailableException")


@pytest.fixture
def faulty_server(s3vectors_server: LocalS3Vectors) -> Iterator[LocalS3Vectors]:
    yield s3vectors_server
    s3vectors_server.faults.clear()


def _stored_keys(server: LocalS3Vectors, bucket: str, index: str) -> list[str]:
    client = s3vectors_client(server)
    pages = client.get_paginator("list_vectors").paginate(vectorBucketName=bucket, indexName=index)
    return [v["key"] for page in pages for v in page["vectors"]]


async def test_ingest_under_30_percent_failures_stores_every_chunk_once(
    faulty_server: LocalS3Vectors, database_url: str, tmp_path: Path
) -> None:
    bucket = unique_bucket()
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        vector_store="s3vectors",
        s3vectors_bucket=bucket,
        aws_max_attempts=1,  # no botocore retries: the store's own handling is what is tested
    )
    async with open_services(settings, run_jobs=False) as services:
        for operation in FAULTY:
            faulty_server.faults.fail_randomly(operation, 0.3, FAULTS, seed=len(operation))
        expected: set[str] = set()
        for pdf in sorted((CORPUS / "pdf").glob("*.pdf")):
            submission = await services.ingestion.submit(Upload(pdf.name, pdf.read_bytes()))
            await services.ingestion.run_job(submission.job_id)
            job = await services.catalog.get_job(submission.job_id)
            assert job is not None
            assert job.status is JobStatus.SUCCEEDED, job.error
            document = await services.catalog.get_document(submission.document_id)
            assert document is not None
            expected |= {f"{document.document_id}#{n}" for n in range(document.chunks)}
        # Replace one document with a shorter one, and delete another, still under faults.
        first, second = sorted({key.split("#")[0] for key in expected})[:2]
        short = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
        replaced = await services.ingestion.submit(
            Upload(short.name, short.read_bytes() + b"\n% changed\n", document_id=first)
        )
        await services.ingestion.run_job(replaced.job_id)
        await services.ingestion.delete(second)
        hits = await services.queries.search("Supreme Court", top_k=5, filters={})
        assert hits
        assert isinstance(services.store, S3VectorsStore)
        index = services.store.index_name
        failures = sum(faulty_server.faults.failures.get(op, 0) for op in FAULTY)
        faulty_server.faults.clear()
        document = await services.catalog.get_document(first)
        assert document is not None
        expected = {k for k in expected if not k.startswith((f"{first}#", f"{second}#"))}
        expected |= {f"{first}#{n}" for n in range(document.chunks)}
    keys = _stored_keys(faulty_server, bucket, index)
    assert failures > 5
    assert len(keys) == len(set(keys))
    assert set(keys) == expected

"""Ingestion through S3 Vectors while the service throttles and fails: 30% of the vector
calls answer 429 or 503, and every chunk still ends up stored exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag_app.domain import Chunk
from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings
from rag_app.vectorstores.s3vectors import S3VectorsStore
from rag_app_dev.s3vectors_local import LocalS3Vectors
from tests.conftest import (
    CORPUS,
    ingest_corpus,
    keyword_index,
    s3vectors_client,
    unique_bucket,
)

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


@pytest.mark.slow  # the whole corpus under faults: evidence; the index race below guards
async def test_ingest_under_30_percent_failures_stores_every_chunk_once(
    faulty_server: LocalS3Vectors, database_url: str, tmp_path: Path
) -> None:
    bucket = unique_bucket()
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        vector_store="s3vectors",
        s3vectors_bucket=bucket,
        aws_max_attempts=10,  # botocore's retries are the one retry policy (aws/calls.py)
    )
    async with open_services(settings, run_jobs=False) as services:
        for operation in FAULTY:
            faulty_server.faults.fail_randomly(operation, 0.3, FAULTS, seed=len(operation))
        expected = {
            f"{document.document_id}#{n}"
            for document in await ingest_corpus(services)
            for n in range(document.chunks)
        }
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


async def test_a_lost_index_creation_race_is_not_an_error(
    faulty_server: LocalS3Vectors, tmp_path: Path
) -> None:
    store = S3VectorsStore(
        s3vectors_client(faulty_server),
        bucket=unique_bucket(),
        index="race-test",
        dimension=4,
        keywords=keyword_index(tmp_path),
    )
    faulty_server.faults.lose_create_race()
    await store.create()  # CreateIndex answered 409: another process made the same index
    await store.check()
    assert faulty_server.faults.create_races == 0


async def test_big_vectors_are_split_to_stay_under_20_mib(
    faulty_server: LocalS3Vectors, tmp_path: Path
) -> None:
    # 300 x 4096-d vectors are ~25 MB of JSON: one request would be refused by the service.
    store = S3VectorsStore(
        s3vectors_client(faulty_server),
        bucket=unique_bucket(),
        index="big-vectors",
        dimension=4096,
        keywords=keyword_index(tmp_path),
    )
    await store.create()
    vectors = np.random.default_rng(1).normal(size=(300, 4096)).astype(np.float32)
    chunks = [Chunk("d", i, f"text {i}", 1, 0, 6, "t", "c") for i in range(300)]
    before = faulty_server.faults.calls.get("PutVectors", 0)
    await store.upsert_document("d", chunks, vectors)
    assert faulty_server.faults.calls["PutVectors"] - before == 2
    assert await store.count({"document_id": "d"}) == 300

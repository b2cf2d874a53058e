"""`rag-app migrate copy` between pgvector and S3 Vectors (local server, real boto3): the
same chunks and vectors on the other side, no embedding, resumable, counts checked; and a
clear refusal across embedding spaces."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from rag_app.cli import main
from rag_app.domain import Chunk, SearchMode
from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings
from rag_app_dev.s3vectors_local import LocalS3Vectors
from tests.conftest import CORPUS, s3vectors_client, unique_bucket

SMALL_PDFS = (
    "150109DSP-Milw-505-90D.pdf",
    "la-precinct-bulletin-2014-p1.pdf",
    "nics-background-checks-2015-11.pdf",
    "senate-expenditures.pdf",
)

QUESTION = "how many handgun background checks were there in Alabama"
Snapshot = dict[str, tuple[list[Chunk], np.ndarray]]


async def ingest(settings: Settings, names: tuple[str, ...]) -> None:
    async with open_services(settings, run_jobs=False) as services:
        for name in names:
            pdf = CORPUS / "pdf" / name
            submission = await services.ingestion.submit(Upload(name, pdf.read_bytes()))
            await services.ingestion.run_job(submission.job_id)


async def snapshot(settings: Settings) -> Snapshot:
    async with open_services(settings, run_jobs=False) as services:
        page = await services.catalog.list_documents(collections=None, limit=100, offset=0)
        return {
            d.document_id: await services.store.read_document(d.document_id) for d in page.items
        }


def copy(settings: Settings, *args: str) -> Result:
    assert settings.database_url is not None
    env = {
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_DATABASE_URL": settings.database_url.get_secret_value(),
        "RAG_VECTOR_STORE": settings.vector_store,
        "RAG_S3VECTORS_BUCKET": settings.s3vectors_bucket,
    }
    return CliRunner().invoke(main, ["migrate", "copy", *args], env=env)


def assert_same(copied: Snapshot, original: Snapshot) -> None:
    assert copied.keys() == original.keys()
    for document_id, (chunks, vectors) in original.items():
        assert copied[document_id][0] == chunks
        np.testing.assert_allclose(copied[document_id][1], vectors, atol=1e-6)


def test_copy_pgvector_to_s3vectors_and_back_keeps_every_chunk_and_vector(
    database_url: str, tmp_path: Path
) -> None:
    pg = Settings(database_url=database_url, data_dir=tmp_path / "data")
    s3 = pg.model_copy(update={"vector_store": "s3vectors", "s3vectors_bucket": unique_bucket()})
    asyncio.run(ingest(pg, SMALL_PDFS))
    original = asyncio.run(snapshot(pg))
    total = sum(len(chunks) for chunks, _ in original.values())

    there = copy(s3, "--from", "pgvector")
    assert there.exit_code == 0, there.output
    assert f"copied:  {total:>8,} chunks of 4 documents" in there.stdout
    assert f"count:   source {total:,}, target {total:,}" in there.stdout
    assert_same(asyncio.run(snapshot(s3)), original)

    # The same vectors answer a vector search the same way. (Hybrid rankings may differ
    # further down: each store's keyword list is its own engine's BM25.)
    async def top_pages(settings: Settings) -> list[tuple[str, int]]:
        async with open_services(settings, run_jobs=False) as services:
            hits = await services.queries.search(
                QUESTION, top_k=5, filters={}, mode=SearchMode.VECTOR
            )
            return [(h.chunk.document_id, h.chunk.page) for h in hits]

    assert asyncio.run(top_pages(s3)) == asyncio.run(top_pages(pg))

    # Back: empty the pgvector table, then copy from the S3 Vectors index.
    async def empty_pgvector() -> None:
        async with open_services(pg, run_jobs=False) as services:
            for document_id in original:
                await services.store.delete_document(document_id)
            assert await services.store.count({}) == 0

    asyncio.run(empty_pgvector())
    back = copy(pg, "--from", "s3vectors", "--from-bucket", s3.s3vectors_bucket)
    assert back.exit_code == 0, back.output
    assert f"count:   source {total:,}, target {total:,}" in back.stdout
    assert_same(asyncio.run(snapshot(pg)), original)


@pytest.fixture
def faulty_server(s3vectors_server: LocalS3Vectors) -> Iterator[LocalS3Vectors]:
    yield s3vectors_server
    s3vectors_server.faults.clear()


def test_an_interrupted_copy_resumes_and_stores_every_chunk_once(
    database_url: str, tmp_path: Path, faulty_server: LocalS3Vectors
) -> None:
    pg = Settings(database_url=database_url, data_dir=tmp_path / "data")
    s3 = pg.model_copy(update={"vector_store": "s3vectors", "s3vectors_bucket": unique_bucket()})
    asyncio.run(ingest(pg, SMALL_PDFS))
    original = asyncio.run(snapshot(pg))
    # One PutVectors per document; with this seed the fourth fails, not retryably.
    faulty_server.faults.fail_randomly("PutVectors", 0.25, ("AccessDeniedException",), seed=10)
    failed = copy(s3, "--from", "pgvector")
    assert failed.exit_code == 1
    assert "run the same command again to continue" in failed.output
    (checkpoint,) = (pg.data_dir / "blobs" / "migrations").glob("copy-*.json")
    assert json.loads(checkpoint.read_text())["documents_written"] == 3

    faulty_server.faults.clear()
    puts_before = faulty_server.faults.calls["PutVectors"]
    resumed = copy(s3, "--from", "pgvector")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed from a checkpoint" in resumed.stdout
    assert faulty_server.faults.calls["PutVectors"] - puts_before == 1  # only the 4th document
    copied = asyncio.run(snapshot(s3))
    assert_same(copied, original)
    keys = [
        v["key"]
        for page in s3vectors_client(faulty_server)
        .get_paginator("list_vectors")
        .paginate(vectorBucketName=s3.s3vectors_bucket, indexName=_s3_index())
        for v in page["vectors"]
    ]
    assert len(keys) == len(set(keys)) == sum(len(c) for c, _ in original.values())


def _s3_index() -> str:
    from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
    from rag_app.vectorstores.base import index_name

    return index_name(MiniLmOnnxEmbedder.model_id, MiniLmOnnxEmbedder.dimension).replace("_", "-")


def test_copy_across_embedding_spaces_is_refused_before_anything_is_touched(
    database_url: str, tmp_path: Path, s3vectors_server: LocalS3Vectors
) -> None:
    s3 = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        vector_store="s3vectors",
        s3vectors_bucket=unique_bucket(),
    )
    result = copy(
        s3,
        "--from",
        "pgvector",
        "--from-model",
        "text-embedding-3-small",
        "--from-dimension",
        "1536",
    )
    assert result.exit_code == 1
    assert "cannot copy: the source holds vectors of text-embedding-3-small (1536-d)" in (
        result.output
    )
    assert "re-embed from the chunk text instead" in result.output
    buckets = s3vectors_client(s3vectors_server).list_vector_buckets()["vectorBuckets"]
    assert s3.s3vectors_bucket not in {b["vectorBucketName"] for b in buckets}
    assert not s3.data_dir.exists()

    same = copy(s3, "--from", "s3vectors")
    assert same.exit_code == 1
    assert "the source and the target are the same index" in same.output

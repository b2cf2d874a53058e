"""The BlobStore contract over every backend: a local folder, and S3 through the real boto3
client against moto's S3 server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from rag_app.blobstores.base import BlobStore, SignsUrls
from rag_app.blobstores.local import LocalBlobStore
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import CORPUS

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path, moto_s3: Any) -> BlobStore:
    if request.param == "s3":
        return S3BlobStore(moto_s3, bucket="documents", prefix=f"t/{tmp_path.name}")
    return LocalBlobStore(tmp_path / "blobs")


async def test_put_get_exists_delete(blobs: BlobStore) -> None:
    assert isinstance(blobs, BlobStore)
    await blobs.put("documents/d1/abc.pdf", b"%PDF-1.7 one", content_type="application/pdf")
    assert await blobs.exists("documents/d1/abc.pdf")
    assert await blobs.get("documents/d1/abc.pdf") == b"%PDF-1.7 one"
    await blobs.put("documents/d1/abc.pdf", b"two", content_type="application/pdf")
    assert await blobs.get("documents/d1/abc.pdf") == b"two"
    await blobs.delete("documents/d1/abc.pdf")
    assert not await blobs.exists("documents/d1/abc.pdf")
    await blobs.delete("documents/d1/abc.pdf")  # deleting a missing key is not an error


async def test_missing_key_raises_key_error(blobs: BlobStore) -> None:
    with pytest.raises(KeyError):
        await blobs.get("documents/none/x.pdf")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/../b", "", "a/./b"])
async def test_unsafe_keys_are_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        await blobs.put(key, b"x", content_type="text/plain")


async def test_ingestion_keeps_originals_in_the_documents_bucket(
    moto_s3: Any, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        blob_store="s3",
        documents_bucket="documents",
        documents_prefix="originals",
    )
    pdf = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
    async with open_services(settings, run_jobs=False) as services:
        submission = await services.ingestion.submit(Upload(pdf.name, pdf.read_bytes()))
        await services.ingestion.run_job(submission.job_id)
        document = await services.catalog.get_document(submission.document_id)
        assert document is not None
        assert document.status.value == "ready"
        key = f"originals/documents/{document.document_id}/{document.content_sha256}.pdf"
        assert moto_s3.get_object(Bucket="documents", Key=key)["Body"].read() == pdf.read_bytes()
        await services.ingestion.delete(document.document_id)
    assert "Contents" not in moto_s3.list_objects_v2(Bucket="documents", Prefix="originals/")


def test_s3_blob_store_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="RAG_DOCUMENTS_BUCKET"):
        Settings(blob_store="s3")


async def test_list_keys_gives_the_keys_under_a_prefix_in_order(blobs: BlobStore) -> None:
    for key in ("list/b/2.json", "list/a/1.json", "list/a/0.json", "listed.txt", "other/x"):
        await blobs.put(key, b"x", content_type="text/plain")
    assert await blobs.list_keys("list/") == ["list/a/0.json", "list/a/1.json", "list/b/2.json"]
    assert await blobs.list_keys("list/a/", limit=1) == ["list/a/0.json"]
    assert await blobs.list_keys("list") == [
        "list/a/0.json", "list/a/1.json", "list/b/2.json", "listed.txt",
    ]  # fmt: skip
    assert await blobs.list_keys("nothing/") == []


async def test_signed_urls_where_the_store_signs_them(blobs: BlobStore) -> None:
    """The SignsUrls contract (S3 only; the local store signs nothing)."""
    if not isinstance(blobs, SignsUrls):
        assert isinstance(blobs, LocalBlobStore)
        return
    await blobs.put("documents/d2/abc.pdf", b"%PDF-1.7 signed", content_type="application/pdf")
    url = await blobs.signed_get(
        "documents/d2/abc.pdf",
        seconds=60,
        content_type="application/pdf",
        disposition='inline; filename="a.pdf"',
    )
    assert url.startswith(blobs.origin() + "/")
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
        assert response.content == b"%PDF-1.7 signed"
        assert response.headers["content-disposition"] == 'inline; filename="a.pdf"'
        missing = await blobs.signed_get(
            "documents/none/x.pdf", seconds=60, content_type="a/b", disposition="inline"
        )
        # S3 answers 404, or 403 when the signer may not list the bucket (moto: 403).
        assert (await client.get(missing)).status_code in (403, 404)
    with pytest.raises(ValueError, match="invalid blob key"):
        await blobs.signed_get("../x", seconds=60, content_type="a/b", disposition="inline")

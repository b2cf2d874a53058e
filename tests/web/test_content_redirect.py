"""``RAG_CONTENT_REDIRECT``: on the S3 blob store (moto's server, faithful for S3),
``GET /documents/{id}/content`` answers 307 to a presigned S3 GET URL after the same access
check, and that URL, fetched by a real HTTP client, gives the original's bytes under its own
name and type and honours Range (206). A key without the collection's grant gets a 404 and
no URL; the pages' CSP admits the bucket's origin in ``media-src`` and nowhere else; with
the setting off the route keeps streaming."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar.testing import TestClient
from pydantic import ValidationError

from rag_app.api import create_app
from rag_app.settings import Settings
from tests.conftest import CORPUS, _fresh_database
from tests.web.web_server import Keys, bearer, make_keys, pdf_with_text, upload_and_wait

BULLETIN = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


@pytest.fixture(scope="module")
def bucket(moto_s3: Any) -> str:
    name = f"documents-{uuid.uuid4().hex[:10]}"
    moto_s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("redirect-keys"))


def _settings(database_url: str, root: Path, bucket: str, keys: Keys, redirect: bool) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=root / "data",
        auth="required",
        api_keys_file=keys.file,
        api_keys_refresh_seconds=0,
        blob_store="s3",
        documents_bucket=bucket,
        content_redirect=redirect,
        content_redirect_seconds=120,
    )


@pytest.fixture(scope="module")
def app(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory, bucket: str, keys: Keys
) -> Iterator[dict[str, Any]]:
    database = _fresh_database(postgres_url)
    root = tmp_path_factory.mktemp("redirect")
    settings = _settings(database, root, bucket, keys, redirect=True)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield {
            "client": client,
            "database": database,
            "root": root,
            "faa": upload_and_wait(
                client, keys.writer, 'bulletin é".pdf', BULLETIN.read_bytes(), collection="faa"
            ),
            "court": upload_and_wait(
                client,
                keys.writer,
                "minutes.pdf",
                pdf_with_text("Sealed minutes"),
                collection="court",
            ),
        }


def test_content_redirects_to_a_presigned_url_that_serves_the_file_and_ranges(
    app: dict[str, Any], keys: Keys, moto_s3: Any
) -> None:
    client: TestClient[Any] = app["client"]
    response = client.get(
        f"/documents/{app['faa']}/content", headers=bearer(keys.faa_reader), follow_redirects=False
    )
    assert response.status_code == 307, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.content == b""
    url = response.headers["location"]
    assert url.startswith(moto_s3.meta.endpoint_url)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["120"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]

    original = BULLETIN.read_bytes()
    whole = httpx.get(url)  # a plain client: no credential but the URL's signature
    assert whole.status_code == 200
    assert whole.content == original
    assert whole.headers["content-type"] == "application/pdf"
    assert whole.headers["content-disposition"] == 'inline; filename="bulletin __.pdf"'
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == original[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(original)}"
    tail = httpx.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206
    assert tail.content == original[-10:]

    # A tampered URL (another key) is refused by S3 itself.
    forged = url.replace(app["faa"], app["court"])
    assert httpx.get(forged).status_code == 403

    generic = client.get(
        f"/documents/{app['faa']}/content",
        headers={**bearer(keys.faa_reader), "Accept": "application/octet-stream"},
        follow_redirects=False,
    )
    assert httpx.get(generic.headers["location"]).headers["content-type"] == (
        "application/octet-stream"
    )


@pytest.mark.parametrize(
    ("who", "document", "status"),
    [
        ("reader", "court", 404),  # no grant on the collection: as if it did not exist
        ("nobody", "faa", 401),
        ("reader", "unknown", 404),
        ("forged", "faa", 401),
    ],
)
def test_no_grant_no_url(
    app: dict[str, Any], keys: Keys, who: str, document: str, status: int
) -> None:
    headers = {
        "reader": bearer(keys.faa_reader),
        "nobody": {},
        "forged": bearer("rag_" + "x" * 40),
    }[who]
    document_id = app.get(document, uuid.uuid4().hex)
    response = app["client"].get(
        f"/documents/{document_id}/content", headers=headers, follow_redirects=False
    )
    assert response.status_code == status
    assert "location" not in response.headers
    assert "X-Amz-Signature" not in response.text


def test_pages_admit_the_bucket_origin_for_media_only(app: dict[str, Any], moto_s3: Any) -> None:
    response = app["client"].get("/app/viewer")
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    origin = moto_s3.meta.endpoint_url.rstrip("/")
    assert policy["media-src"] == f"'self' {origin}"
    assert [name for name, value in policy.items() if origin in value] == ["media-src"]


def test_the_schema_declares_the_redirect(app: dict[str, Any], keys: Keys) -> None:
    schema = app["client"].get("/schema/openapi.json", headers=bearer(keys.faa_reader)).json()
    responses = schema["paths"]["/documents/{document_id}/content"]["get"]["responses"]
    assert {"200", "307", "404"} <= responses.keys()


def test_without_the_setting_the_content_is_streamed(
    app: dict[str, Any], bucket: str, keys: Keys
) -> None:
    settings = _settings(app["database"], app["root"], bucket, keys, redirect=False)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        response = client.get(
            f"/documents/{app['faa']}/content",
            headers={**bearer(keys.faa_reader), "Range": "bytes=0-9"},
            follow_redirects=False,
        )
        assert response.status_code == 206
        assert response.content == BULLETIN.read_bytes()[:10]
        page = client.get("/app/viewer")
        assert "media-src 'self';" in page.headers["content-security-policy"]


def test_the_redirect_needs_the_s3_blob_store(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="RAG_CONTENT_REDIRECT needs RAG_BLOB_STORE=s3"):
        Settings(data_dir=tmp_path, content_redirect=True)

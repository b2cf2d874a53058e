"""Path traversal through upload file names and document ids, with the local and the S3
blob stores: nothing is written outside the blob store's root, and every stored key is
derived from the document id and the content digest, never from a name the client sent."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.auth.api_keys import FileKeyStore, new_key
from rag_app.settings import Settings
from tests.conftest import CORPUS, wait_for_job

PDF = (CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf").read_bytes()
KEY = re.compile(r"^documents/[0-9a-f]{32}/[0-9a-f]{64}\.pdf$")

TRAVERSAL_NAMES = [
    "../../etc/passwd",
    "../../../../../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "..\\..\\x.pdf",
    "/etc/passwd",
    "/tmp/rag-traversal-absolute.pdf",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "\\\\server\\share\\x.pdf",
    "file:///etc/passwd",
    "....//....//etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%252f..%252fetc%252fpasswd",
    "..%c0%af..%c0%afetc%c0%afpasswd",
    "..;/x.pdf",
    "a/../../b.pdf",
    "a/b/c/../../../../../d.pdf",
    "./../x.pdf",
    "../" * 40 + "tmp/deep.pdf",
    "..",
    ".",
    "/",
    "\\",
    "~/.ssh/authorized_keys",
    "$HOME/x.pdf",
    "evil.pdf\x00.txt",
    "\x00../../x.pdf",
    "\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fx.pdf",  # fullwidth dots and slash
    "..\u2215..\u2215x.pdf",  # division slash
    "../blobs/../../api-keys.json",
    "../data/blobs/documents/planted.pdf",
    "x" * 5000 + ".pdf",
    "con.pdf",
    "'; DROP TABLE rag_documents; --.pdf",
]


@pytest.fixture(params=["local", "s3"])
def service(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, moto_s3: Any
) -> Iterator[dict[str, Any]]:
    key, record = new_key("writer", read=["*"], write=["*"])
    anyio.run(FileKeyStore(tmp_path / "api-keys.json").save, [record])
    prefix = f"traversal-{uuid.uuid4().hex[:8]}/"
    blobs: dict[str, Any] = (
        {"blob_store": "s3", "documents_bucket": "documents", "documents_prefix": prefix}
        if request.param == "s3"
        else {}
    )
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        auth="required",
        api_keys_file=tmp_path / "api-keys.json",
        rate_limit_per_minute=1_000_000,
        **blobs,
    )
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield {"client": client, "root": tmp_path, "store": request.param, "prefix": prefix}


def multipart(filename: str, fields: dict[str, str]) -> tuple[bytes, str]:
    """A form with the file name sent byte for byte as given (no client-side escaping)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode("utf-8", "surrogateescape")
        + PDF
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def files_beside_the_blobs(root: Path) -> set[str]:
    return {f for f in files_under(root) if not f.startswith("data/blobs/")}


def stored_keys(service: dict[str, Any], moto_s3: Any) -> set[str]:
    if service["store"] == "local":
        return files_under(service["root"] / "data" / "blobs")
    pages = moto_s3.get_paginator("list_objects_v2").paginate(Bucket="documents")
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def outside_targets(root: Path) -> dict[Path, tuple[int, int] | None]:
    """Where each name would land if it were joined to the blob root: size and mtime of the
    file there, None when there is none."""
    blob_root = (root / "data" / "blobs").resolve()
    targets = {}
    for name in TRAVERSAL_NAMES:
        clean = name.replace("\x00", "").replace("\\", "/")
        for candidate in (blob_root / clean, blob_root / "documents" / clean):
            try:
                resolved = candidate.resolve()
                stat = resolved.stat() if resolved.is_file() else None
            except OSError:  # a name too long for the file system lands nowhere
                continue
            if not resolved.is_relative_to(blob_root):
                targets[resolved] = stat and (stat.st_size, stat.st_mtime_ns)
    return targets


# A name can only escape on a file system: the local blob store is the guard, the same run
# on S3 (about a minute, every upload ingested) is slow.
@pytest.mark.parametrize(
    "service", ["local", pytest.param("s3", marks=pytest.mark.slow)], indirect=True
)
def test_upload_file_names_never_choose_where_a_file_is_stored(
    service: dict[str, Any], moto_s3: Any
) -> None:
    client: TestClient[Any] = service["client"]
    root: Path = service["root"]
    other_files = files_beside_the_blobs(root)
    keys_before = stored_keys(service, moto_s3)
    targets = outside_targets(root)
    accepted: dict[str, str] = {}  # document id -> its job
    refused = 0
    for i, name in enumerate(TRAVERSAL_NAMES):
        # One collection per name: the same bytes in one collection would be a duplicate.
        body, content_type = multipart(name, {"collection": f"c{i}"})
        response = client.post("/documents", content=body, headers={"Content-Type": content_type})
        if response.status_code == 400:
            assert response.json()["detail"], name
            refused += 1
            continue
        assert response.status_code == 202, (name, response.text)
        submission = response.json()
        accepted[submission["document_id"]] = submission["job_id"]
    for job_id in accepted.values():
        assert wait_for_job(client, job_id)["status"] == "succeeded"

    digest = hashlib.sha256(PDF).hexdigest()
    prefix = "" if service["store"] == "local" else service["prefix"]
    new_keys = stored_keys(service, moto_s3) - keys_before
    assert new_keys == {f"{prefix}documents/{d}/{digest}.pdf" for d in accepted}
    assert all(KEY.match(k.removeprefix(prefix)) for k in new_keys)
    # Nothing appeared or changed anywhere else: in the service's own folder, or where a
    # name would have pointed outside the blob root.
    assert files_beside_the_blobs(root) == other_files
    assert outside_targets(root) == targets
    print(
        f"\n{len(TRAVERSAL_NAMES)} names on the {service['store']} blob store: "
        f"{len(accepted)} stored under id-derived keys, {refused} refused, no escape"
    )
    assert len(TRAVERSAL_NAMES) >= 30


def test_traversal_document_ids_are_refused_or_not_found(service: dict[str, Any]) -> None:
    """As an upload's ``document_id`` each name is refused, unless it is a plain id; in a
    path it finds nothing (for '.' or '/' the path becomes /documents/: the empty list; for
    '..' it becomes '/': the web app's page)."""
    client: TestClient[Any] = service["client"]
    plain = "con.pdf"  # letters, digits and '.': a legitimate id, stored as documents/con.pdf/
    for name in TRAVERSAL_NAMES:
        body, content_type = multipart("x.pdf", {"document_id": name})
        response = client.post("/documents", content=body, headers={"Content-Type": content_type})
        if name == plain:
            assert response.status_code == 202, response.text
            continue
        assert response.status_code == 400, (name, response.text)
        assert "document_id" in response.json()["detail"]
        for method in ("GET", "DELETE"):
            response = client.request(method, f"/documents/{quote(name, safe='')}")
            if response.status_code == 200:
                if response.headers["content-type"].startswith("text/html"):
                    # '..' collapsed the path to '/': the web app's page, no document.
                    assert method == "GET", name
                    assert name not in response.text, name
                    continue
                assert (method, response.json()["items"]) == ("GET", []), name
                continue
            assert response.status_code in (400, 404, 405), (method, name, response.text)
        response = client.get(f"/jobs/{quote(name, safe='')}")
        if response.headers.get("content-type", "").startswith("text/html"):
            assert response.status_code == 200, name  # '..' collapsed the path to '/'
            continue
        if response.status_code == 200:  # '.' collapsed the path to the job list
            assert response.json()["items"] == [], name
            continue
        assert response.status_code in (400, 404, 405), (name, response.text)

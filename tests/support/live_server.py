"""The real app on a real port (uvicorn in a thread), for clients that speak HTTP only: the
``openai`` SDK, a client generated from the OpenAPI schema, the MCP SDK's HTTP client.

``secured_server`` starts it with authentication required and documents in two collections,
and hands out keys with different grants."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import uvicorn

from rag_app.api import create_app
from rag_app.auth.api_keys import FileKeyStore, new_key
from rag_app.settings import Settings
from tests.conftest import CORPUS, FAA_PDF

BULLETIN_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """``create_app(settings)`` served on a free loopback port until exit; its base URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{config.port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server was not ready in 90 s"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/jobs/{job_id}").json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"job {job_id} did not finish in {timeout} s"
        time.sleep(0.2)
    return dict(job)


def upload_file(
    client: httpx.Client, path: Path, media_type: str = "application/pdf", **fields: str
) -> dict[str, object]:
    """Upload ``path`` and wait for its job to succeed; the submission."""
    response = client.post(
        "/documents", files={"file": (path.name, path.read_bytes(), media_type)}, data=fields
    )
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    job = wait_for_job(client, str(body["job_id"]))
    assert job["status"] == "succeeded", job
    return body


@dataclass(frozen=True)
class SecuredServer:
    url: str
    settings: Settings
    admin_key: str  # reads and writes every collection
    faa_key: str  # reads "faa" only
    bulletins_key: str  # reads "bulletins" only
    faa_document_id: str
    bulletin_document_id: str


@contextlib.contextmanager
def secured_server(root: Path, database_url: str) -> Iterator[SecuredServer]:
    """The service with auth required, the FAA rule in "faa" and a bulletin in
    "bulletins", and a key per grant."""
    admin, admin_record = new_key("admin", read=[], write=["*"])
    faa, faa_record = new_key("faa reader", read=["faa"], write=[])
    bulletins, bulletins_record = new_key("bulletins reader", read=["bulletins"], write=[])
    keys_file = root / "api-keys.json"
    anyio.run(FileKeyStore(keys_file).save, [admin_record, faa_record, bulletins_record])
    settings = Settings(
        database_url=database_url,
        data_dir=root / "data",
        auth="required",
        api_keys_file=keys_file,
        rate_limit_per_minute=100_000,
    )
    with (
        serving(settings) as url,
        httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {admin}"},
            timeout=300,  # a saturated box stalls requests
        ) as client,
    ):
        faa_doc = upload_file(client, FAA_PDF, title="FAA AD 2020-17221", collection="faa")
        bulletin = upload_file(
            client, BULLETIN_PDF, title="Precinct bulletin", collection="bulletins"
        )
        yield SecuredServer(
            url=url,
            settings=settings,
            admin_key=admin,
            faa_key=faa,
            bulletins_key=bulletins,
            faa_document_id=str(faa_doc["document_id"]),
            bulletin_document_id=str(bulletin["document_id"]),
        )

"""Fixtures on real components: one embedded PostgreSQL + pgvector cluster per session, a
fresh database per test, the real MiniLM embedder, the real Litestar app."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config
from litestar.testing import TestClient
from moto.server import ThreadedMotoServer

from rag_app import metrics
from rag_app.api import create_app
from rag_app.domain import Document, JobStatus
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.ingest.service import Upload
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.services import Services
from rag_app.settings import Settings
from rag_app_dev.bedrock_local import LocalBedrock
from rag_app_dev.s3vectors_local import LocalS3Vectors

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
FAA_PDF = CORPUS / "pdf" / "federal-register-2020-17221.pdf"
AOA_QUESTION = "how many work-hours does the AOA sensor system test take"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def s3vectors_server() -> Iterator[LocalS3Vectors]:
    with LocalS3Vectors() as server:
        yield server


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Any]:
    """moto's S3 server (faithful for S3) and a client on it with a 'documents' bucket."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = local_client("s3", f"http://{host}:{port}")
    client.create_bucket(Bucket="documents")
    yield client
    server.stop()


@pytest.fixture(scope="session")
def bedrock_server() -> Iterator[LocalBedrock]:
    with LocalBedrock() as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def _aws_points_at_local_doubles(
    s3vectors_server: LocalS3Vectors, bedrock_server: LocalBedrock, moto_s3: Any
) -> Iterator[None]:
    """Every AWS client the app builds in tests goes to the local S3 Vectors server, the
    standard way a user points tools at a local double (no code path of our own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_S3VECTORS", s3vectors_server.endpoint_url)
        patch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock_server.endpoint_url)
        patch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", bedrock_server.endpoint_url)
        patch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.meta.endpoint_url)
        # moto's server answers every service on one port; Secrets Manager is faithful there.
        patch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_s3.meta.endpoint_url)
        patch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_s3.meta.endpoint_url)
        patch.setenv("AWS_ENDPOINT_URL_SQS", moto_s3.meta.endpoint_url)
        patch.setenv("AWS_ACCESS_KEY_ID", "test")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(scope="session", autouse=True)
def _metrics_to_a_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The EMF lines of in-process services (servers in threads outlive a test's capture)
    go to a file rather than the terminal; a test that reads them redirects them itself.
    Started processes (``rag-app serve``, workers) still print theirs on stdout."""
    path = tmp_path_factory.mktemp("metrics") / "emf.jsonl"
    with path.open("a", encoding="utf-8") as sink, metrics.redirected(sink):
        yield


def local_client(
    service: str, endpoint_url: str, *, max_attempts: int = 3, region: str = "us-east-1"
) -> Any:
    """A real boto3 client on a local double, with test credentials."""
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            max_pool_connections=16,
        ),
    )


def dynamodb_table(moto_s3: Any) -> tuple[Any, str]:
    """A new catalog table on moto's DynamoDB (the server that serves moto_s3) and a client."""
    from rag_app.catalog.dynamodb import table_definition

    client = local_client("dynamodb", moto_s3.meta.endpoint_url)
    name = f"catalog-{uuid.uuid4().hex[:12]}"
    client.create_table(**table_definition(name))
    return client, name


def s3vectors_client(server: LocalS3Vectors, *, max_attempts: int = 3) -> Any:
    return local_client("s3vectors", server.endpoint_url, max_attempts=max_attempts)


def unique_bucket() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def state_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="rag-tests-"))
    # Run as root, the embedded PostgreSQL runs as its own system user, which must reach it.
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(state_root: Path) -> Iterator[str]:
    cluster = EmbeddedPostgres(state_root / "postgres")
    running = cluster.start()
    yield running.url
    cluster.stop(discard=True)  # state_root is deleted next: no shutdown checkpoint


def _fresh_database(server_url: str) -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return _fresh_database(postgres_url)


@pytest.fixture(scope="session")
def embedder() -> MiniLmOnnxEmbedder:
    return MiniLmOnnxEmbedder()


STORES = ["pgvector", "s3vectors"]


def store_settings(vector_store: str) -> dict[str, Any]:
    """Settings that put vectors in ``vector_store``: S3 Vectors means the local server
    (through AWS_ENDPOINT_URL_S3VECTORS) and a bucket of the test's own."""
    if vector_store == "s3vectors":
        return {"vector_store": "s3vectors", "s3vectors_bucket": unique_bucket()}
    return {"vector_store": "pgvector"}


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    """The API tests run once per vector store."""
    return Settings(
        database_url=database_url, data_dir=tmp_path / "data", **store_settings(request.param)
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings)) as c:
        yield c


def wait_for_job(client: TestClient[Any], job_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")


def upload(client: TestClient[Any], path: Path, **fields: str) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/documents",
        files={"file": (path.name, path.read_bytes(), "application/pdf")},
        data=fields,
    )
    return response.status_code, response.json()


@pytest.fixture(scope="module", params=STORES)
def faa_client(
    request: pytest.FixtureRequest, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient[Any], str]]:
    """A service with the FAA rule ingested once, shared by the read-only tests of a module;
    once per vector store."""
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=tmp_path_factory.mktemp("faa") / "data",
        **store_settings(request.param),
    )
    with TestClient(create_app(settings)) as c:
        status, body = upload(c, FAA_PDF, title="FAA AD 2020-17221", collection="faa")
        assert status == 202, body
        job = wait_for_job(c, body["job_id"])
        assert job["status"] == "succeeded", job
        yield c, body["document_id"]


async def ingest_corpus(services: Services) -> list[Document]:
    """Ingest every PDF of ../shared/corpus/pdf through the services, each job to success."""
    documents = []
    for pdf in sorted((CORPUS / "pdf").glob("*.pdf")):
        submission = await services.ingestion.submit(Upload(pdf.name, pdf.read_bytes()))
        await services.ingestion.run_job(submission.job_id)
        job = await services.catalog.get_job(submission.job_id)
        assert job is not None
        assert job.status is JobStatus.SUCCEEDED, job.error
        document = await services.catalog.get_document(submission.document_id)
        assert document is not None
        documents.append(document)
    return documents


# What each needs_tool name comes from, for the skip message (.ci/run installs them all).
TOOL_SOURCES = {
    "tesseract": "Debian tesseract-ocr",
    "ffmpeg": "Debian ffmpeg",
    "espeak-ng": "Debian espeak-ng",
    "checkov": "`make test` installs it and sets CHECKOV",
    "npm": "Debian npm",
}


def _tool_found(name: str) -> bool:
    """On PATH, or named by the variable of its upper-case name (CHECKOV=/path/checkov)."""
    return shutil.which(os.environ.get(name.upper().replace("-", "_"), name)) is not None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The markers' skips in one place: ``aws_live`` without S3VECTORS_LIVE_REGION, and
    ``needs_tool`` without the programs it names."""
    if item.get_closest_marker("aws_live") and not os.environ.get("S3VECTORS_LIVE_REGION"):
        pytest.skip("aws_live: set S3VECTORS_LIVE_REGION (and AWS credentials) to run against AWS")
    for marker in item.iter_markers("needs_tool"):
        missing = [name for name in marker.args if not _tool_found(name)]
        if missing:
            sources = ", ".join(f"{m} ({TOOL_SOURCES.get(m, 'not installed')})" for m in missing)
            pytest.skip(f"needs_tool: missing {sources}; .ci/run installs them")


@pytest.fixture(scope="session")
def secured_live_server(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One real HTTP server with auth required and documents in two collections, shared by
    the modules whose clients speak HTTP only (openai, a generated client, MCP)."""
    from tests.support.live_server import secured_server

    with secured_server(tmp_path_factory.mktemp("live"), _fresh_database(postgres_url)) as s:
        yield s

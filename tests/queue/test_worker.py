"""Workers in this process, on the PostgreSQL queue: a reader that crashes every time ends
in the dead state with its reason while other jobs succeed; SIGTERM past the deadline hands
the running job back; ``GET /jobs?status=`` and ``rag-app jobs``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from numpy.typing import NDArray

from rag_app.api import create_app
from rag_app.cli import main
from rag_app.domain import JobStage, JobStatus
from rag_app.embedders.base import Embedder
from rag_app.ingest import extraction
from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import CORPUS, FAA_PDF, upload, wait_for_job
from tests.support import poison

SMALL_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
OTHER_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


async def _until(predicate: Any, seconds: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.anyio
async def test_a_reader_that_crashes_every_time_ends_dead_with_its_reason(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extraction, "extract_pages", poison.extract_pages_or_crash)
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        queue_max_attempts=3,
        queue_lease_seconds=2,  # also the longest backoff between attempts
        queue_wait_seconds=0.2,
    )
    async with open_services(settings, workers=2) as services:
        bad = await services.ingestion.submit(
            Upload("exhibit.pdf", poison.poisoned(SMALL_PDF.read_bytes()))
        )
        good = await services.ingestion.submit(Upload(OTHER_PDF.name, OTHER_PDF.read_bytes()))

        async def both_ended() -> bool:
            jobs = [await services.catalog.get_job(s.job_id) for s in (bad, good)]
            return all(j and j.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) for j in jobs)

        await _until(both_ended)
        failed = await services.catalog.get_job(bad.job_id)
        succeeded = await services.catalog.get_job(good.job_id)
        document = await services.catalog.get_document(bad.document_id)
        depth = await services.queue.depth()
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.startswith("gave up after 3 attempts; last failure: the file crashed")
    assert "SIGABRT" in failed.error
    assert document is not None
    assert document.status.value == "failed"
    assert succeeded is not None
    assert succeeded.status is JobStatus.SUCCEEDED
    assert (depth.waiting, depth.running, depth.dead) == (0, 0, 0)


class SlowEmbedder:
    """A real embedder that takes ``delay`` seconds longer per batch (a long job)."""

    def __init__(self, inner: Embedder, delay: float) -> None:
        self._inner = inner
        self._delay = delay
        self.model_id = inner.model_id
        self.dimension = inner.dimension

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        await asyncio.sleep(self._delay)
        return await self._inner.embed_batch(texts)


@pytest.mark.anyio
async def test_stopping_past_the_deadline_hands_the_running_job_back_at_once(
    database_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        worker_shutdown_seconds=0.5,
        queue_lease_seconds=60,  # without the hand-back, 60 s until another worker may take it
        queue_wait_seconds=0.2,
    )
    async with open_services(settings, embedder=SlowEmbedder(embedder, 600)) as services:
        submitted = await services.ingestion.submit(Upload(SMALL_PDF.name, SMALL_PDF.read_bytes()))

        async def embedding() -> bool:
            job = await services.catalog.get_job(submitted.job_id)
            return job is not None and job.stage is JobStage.EMBEDDING

        await _until(embedding)
        assert services.worker is not None
        started = asyncio.get_running_loop().time()
        await services.worker.stop()
        stopped_in = asyncio.get_running_loop().time() - started
        depth = await services.queue.depth()
    assert stopped_in < 5
    assert (depth.waiting, depth.running) == (1, 0)
    async with open_services(settings, embedder=embedder) as services:  # the next worker
        assert services.worker is not None
        await services.worker.idle()
        job = await services.catalog.get_job(submitted.job_id)
        assert job is not None
        assert job.status is JobStatus.SUCCEEDED, job


def test_jobs_are_listed_by_status_and_bad_queries_are_refused(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, queue_wait_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        status, body = upload(client, SMALL_PDF, collection="court")
        assert status == 202
        assert wait_for_job(client, body["job_id"])["status"] == "succeeded"
        status, broken = upload(client, CORPUS / "hostile" / "password-example.pdf")
        assert wait_for_job(client, broken["job_id"])["status"] == "failed"
        listed = client.get("/jobs", params={"status": "succeeded"}).json()
        assert [j["job_id"] for j in listed["items"]] == [body["job_id"]]
        every = client.get("/jobs").json()["items"]
        assert {j["job_id"] for j in every} == {body["job_id"], broken["job_id"]}
        court = client.get("/jobs", params={"collection": "court"}).json()["items"]
        assert [j["job_id"] for j in court] == [body["job_id"]]
        assert client.get("/jobs", params={"collection": "nobody"}).json()["items"] == []
        for params in (
            {"status": "exploded"},
            {"limit": "0"},
            {"limit": "501"},
            {"collection": "../etc"},
            {"collection": "x" * 10_000},
        ):
            response = client.get("/jobs", params=params)
            assert response.status_code == 400, (params, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.slow  # each command opens the services (and loads the model): ~45 s here
def test_jobs_cli_lists_cancels_and_retries(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_DATABASE_URL", database_url)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAG_INGEST_WORKERS", "0")  # nobody runs jobs: they stay queued
    settings = Settings()

    async def queue_one() -> str:
        async with open_services(settings) as services:
            return (
                await services.ingestion.submit(Upload(FAA_PDF.name, FAA_PDF.read_bytes()))
            ).job_id

    job_id = asyncio.run(queue_one())
    runner = CliRunner()
    listed = runner.invoke(main, ["jobs", "list", "--status", "queued"])
    assert listed.exit_code == 0, listed.output
    assert job_id in listed.output
    assert "queue: 1 waiting, 0 running, 0 dead" in listed.output
    refused = runner.invoke(main, ["jobs", "retry", job_id])
    assert refused.exit_code != 0
    assert "only a failed job retries" in refused.output
    assert runner.invoke(main, ["jobs", "cancel", job_id]).exit_code == 0
    failed = runner.invoke(main, ["jobs", "list", "--status", "failed"])
    assert job_id in failed.output
    assert "cancelled by an operator" in failed.output
    again = runner.invoke(main, ["jobs", "cancel", job_id])
    assert again.exit_code != 0
    assert "only a queued job" in again.output
    assert runner.invoke(main, ["jobs", "retry", job_id]).exit_code == 0
    assert job_id in runner.invoke(main, ["jobs", "list", "--status", "queued"]).output
    for args in (["jobs", "cancel", "no-such-job"], ["jobs", "list", "--status", "x"]):
        result = runner.invoke(main, args)
        assert result.exit_code != 0, args

    monkeypatch.setenv("RAG_INGEST_WORKERS", "1")  # a worker runs the retried job

    async def run_it() -> JobStatus:
        async with open_services(Settings()) as services:
            assert services.worker is not None
            await services.worker.idle()
            job = await services.catalog.get_job(job_id)
            assert job is not None
            return job.status

    assert asyncio.run(run_it()) is JobStatus.SUCCEEDED

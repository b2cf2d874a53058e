"""Nothing is lost across a restart: a job the previous process queued, or was running when
it stopped, runs when the service starts again."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.domain import JobStage, JobStatus
from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import CORPUS, wait_for_job

pytestmark = pytest.mark.anyio


async def _queue_without_running(settings: Settings, *, mark_running: bool) -> str:
    async with open_services(settings, run_jobs=False) as services:
        pdf = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
        submission = await services.ingestion.submit(Upload(pdf.name, pdf.read_bytes()))
        if mark_running:  # as if the process died in the middle of embedding
            job = await services.catalog.get_job(submission.job_id)
            assert job is not None
            await services.catalog.save_job(
                dataclasses.replace(job, status=JobStatus.RUNNING, stage=JobStage.EMBEDDING)
            )
        return submission.job_id


@pytest.mark.parametrize("mark_running", [False, True])
async def test_unfinished_jobs_run_at_the_next_start(
    database_url: str, tmp_path: Path, mark_running: bool
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    job_id = await _queue_without_running(settings, mark_running=mark_running)

    def restart_and_wait() -> dict[str, Any]:
        with TestClient(create_app(settings)) as client:
            return wait_for_job(client, job_id)

    import anyio.to_thread

    job = await anyio.to_thread.run_sync(restart_and_wait)
    assert job["status"] == "succeeded"

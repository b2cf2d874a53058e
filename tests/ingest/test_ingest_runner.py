"""The in-process worker: ``idle`` returns once every submitted job has run, and each
finished job logs where its time went (what the ingest benchmark reads)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag_app.domain import DocumentStatus
from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import CORPUS

pytestmark = pytest.mark.anyio

PDFS = ["la-precinct-bulletin-2014-p1.pdf", "scotus-transcript-p1.pdf"]


async def test_idle_returns_when_every_submitted_job_has_run_and_each_logs_its_stages(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rag_app.ingest.jobs")
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    async with open_services(settings) as services:
        assert services.worker is not None  # RAG_INGEST_WORKERS defaults to 1
        await services.worker.idle()  # nothing submitted: returns at once
        ids = []
        for name in PDFS:
            pdf = CORPUS / "pdf" / name
            ids.append(
                (await services.ingestion.submit(Upload(name, pdf.read_bytes()))).document_id
            )
        await services.worker.idle()
        documents = [await services.catalog.get_document(i) for i in ids]
    assert [d and d.status for d in documents] == [DocumentStatus.READY] * len(PDFS)
    stages = [r.stage_seconds for r in caplog.records if hasattr(r, "stage_seconds")]
    assert len(stages) == len(PDFS)
    for seconds in stages:
        assert set(seconds) == {"extract", "embed", "index"}
        assert all(s > 0 for s in seconds.values())

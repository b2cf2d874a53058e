"""PostgreSQL killed (SIGKILL to the postmaster) at random moments of ingestion, 20 times,
each followed by a restart of the database and the service: every document ends with
exactly its own chunks or none, never a mixture of two versions, and every job ends
succeeded or failed with a reason (unfinished ones run again at the next start)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path

import pytest

from rag_app.domain import DocumentStatus, JobStatus
from rag_app.errors import ConflictError
from rag_app.ingest.service import Upload
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.postgres.pool import UNAVAILABLE
from rag_app.services import Services, open_services
from rag_app.settings import Settings
from tests.conftest import CORPUS

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

KILLS = 20
PDFS = [CORPUS / "pdf" / n for n in ("scotus-transcript-p1.pdf", "senate-expenditures.pdf")]


def _kill(cluster_root: Path) -> None:
    pid = int((cluster_root / "cluster" / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)


def _restart(cluster: EmbeddedPostgres) -> str:
    """Start again once the killed server's backends are gone (they exit on their own)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return cluster.start().url
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


async def _settle(services: Services, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not await services.catalog.unfinished_jobs():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("jobs did not finish after the restart")


async def _violations(services: Services, document_ids: set[str]) -> list[str]:
    problems = []
    for document_id in sorted(document_ids):
        document = await services.catalog.get_document(document_id)
        stored = await services.store.count({"document_id": document_id})
        if document is None:
            if stored:
                problems.append(f"{document_id}: {stored} chunks without a document")
        elif document.status is DocumentStatus.READY and stored != document.chunks:
            problems.append(f"{document_id}: {stored} chunks stored, {document.chunks} recorded")
        elif document.status is not DocumentStatus.READY and stored not in (0, *known(document_id)):
            problems.append(f"{document_id}: {stored} chunks, a mixture of versions")
    return problems


CHUNKS_OF_VERSION: dict[str, set[int]] = {}


def known(document_id: str) -> set[int]:
    return CHUNKS_OF_VERSION.get(document_id, set())


async def test_twenty_kills_during_ingestion_lose_nothing_and_mix_nothing(
    tmp_path: Path, state_root: Path
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    root = state_root / f"kills-{seed}"  # reachable by the server's own system user
    cluster = EmbeddedPostgres(root)
    url = cluster.start().url
    document_ids: set[str] = set()
    stats = {"killed while submitting": 0, "killed while running": 0, "killed after": 0}
    # Replacing a document with the content of another one in the collection is refused
    # (content is unique per collection): a clear 409, nothing stored, nothing lost.
    stats["refused: content of another document"] = 0
    try:
        for kill in range(KILLS):
            settings = Settings(database_url=url, data_dir=tmp_path / "data")
            async with open_services(settings, run_jobs=True) as services:
                pdf = PDFS[kill % 2]
                replace = rng.choice(sorted(document_ids)) if document_ids and kill % 3 else None
                try:
                    submission = await services.ingestion.submit(
                        Upload(pdf.name, pdf.read_bytes(), document_id=replace)
                    )
                    document_ids.add(submission.document_id)
                    await asyncio.sleep(rng.uniform(0.0, 0.8))
                    job = await services.catalog.get_job(submission.job_id)
                    state = job.status if job else None
                    stats[
                        "killed after" if state is JobStatus.SUCCEEDED else "killed while running"
                    ] += 1
                except UNAVAILABLE:
                    stats["killed while submitting"] += 1
                except ConflictError:
                    stats["refused: content of another document"] += 1
                _kill(root)
                await asyncio.sleep(0.1)
            url = _restart(cluster)
            settings = Settings(database_url=url, data_dir=tmp_path / "data")
            async with open_services(settings, run_jobs=True) as services:
                await _settle(services)
                assert await _violations(services, document_ids) == []
                for document_id in document_ids:
                    document = await services.catalog.get_document(document_id)
                    if document is not None and document.status is DocumentStatus.READY:
                        CHUNKS_OF_VERSION.setdefault(document_id, set()).add(document.chunks)
        async with open_services(settings, run_jobs=False) as services:
            jobs_failed = []
            for document_id in sorted(document_ids):
                document = await services.catalog.get_document(document_id)
                assert document is not None
                if document.status is DocumentStatus.FAILED:
                    jobs_failed.append(document.error)
            assert all(jobs_failed)  # a failed document always says why
        print(
            f"seed {seed}: {KILLS} kills, {stats}, {len(document_ids)} documents, "
            f"{len(jobs_failed)} failed with a reason, 0 consistency violations"
        )
    finally:
        cluster.stop()

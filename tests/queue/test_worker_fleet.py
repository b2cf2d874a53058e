"""Evidence with real processes, on both queue engines: two `rag-app serve` processes that
run no jobs (RAG_INGEST_WORKERS=0) and three `rag-app worker` processes.

- 60 documents uploaded concurrently through both APIs, 10 of them twice: every document
  ends with exactly its chunks, the second uploads are duplicates, and the workers'
  embedder embedded each chunk once (their ``TextsEmbedded`` metric lines) while the APIs'
  embedded none.
- A file that crashes its reader every time ends dead after the queue's attempts, failed
  with its reason; the others are unaffected.
- SIGKILL a worker 5 times at random moments during jobs (and start another): every job
  succeeds and every document holds exactly its chunks.

The workers run as ``python -m tests.support.poison worker``: the real CLI, with a reader that
crashes on marked files (tests/poison.py). Queue timings are short (3 s leases).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag_app.embedders.base import Embedder
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import _fresh_database
from tests.support import poison
from tests.support.processes import Process, start, start_server, wait_until_started
from tests.support.queue_documents import distinct_pdfs, expected_chunks
from tests.support.sqs_queues import create_sqs_pair

pytestmark = pytest.mark.slow

LEASE = 3
MAX_ATTEMPTS = 5
DOCUMENTS = 60
TWICE = 10
KILLED_DOCUMENTS = 18


@dataclass
class Fleet:
    env: dict[str, str]
    root: Path
    database_url: str
    apis: list[Process]
    workers: list[Process] = field(default_factory=list)
    retired: list[Process] = field(default_factory=list)  # killed workers, for their metrics

    def start_worker(self) -> Process:
        n = len(self.workers) + len(self.retired)
        worker = start(
            ["worker"], self.env, self.root / f"worker-{n}", module="tests.support.poison"
        )
        self.workers.append(worker)
        return worker

    def all_workers(self) -> list[Process]:
        return self.workers + self.retired


@pytest.fixture(scope="module", params=["postgres", "sqs"])
def fleet(
    request: pytest.FixtureRequest,
    postgres_url: str,
    moto_s3: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp(f"fleet-{request.param}")
    database_url = _fresh_database(postgres_url)
    env = {
        "RAG_DATABASE_URL": database_url,
        "RAG_DATA_DIR": str(root / "data"),
        "RAG_QUEUE_LEASE_SECONDS": str(LEASE),
        "RAG_QUEUE_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "RAG_QUEUE_WAIT_SECONDS": "1",
        "RAG_WORKER_SHUTDOWN_SECONDS": "20",
        "RAG_RATE_LIMIT_PER_MINUTE": "100000",
    }
    if request.param == "sqs":
        pair = create_sqs_pair(
            moto_s3.meta.endpoint_url, visibility=LEASE, max_receives=MAX_ATTEMPTS
        )
        env |= {
            "RAG_QUEUE": "sqs",
            "RAG_SQS_QUEUE_URL": pair.url,
            "RAG_SQS_DEAD_LETTER_QUEUE_URL": pair.dead_letter_url,
        }
    api_env = {**env, "RAG_INGEST_WORKERS": "0"}
    # The first start migrates the database; the others then start side by side.
    apis = [start_server(api_env, root / "api-0")]
    fleet = Fleet(env=env, root=root, database_url=database_url, apis=apis)
    with ThreadPoolExecutor(4) as pool:
        second = pool.submit(start_server, api_env, root / "api-1")
        for _ in range(3):
            fleet.start_worker()
        apis.append(second.result())
    for worker in fleet.workers:
        wait_until_started(worker)
    try:
        yield fleet
    finally:
        codes = [w.stop() for w in fleet.workers]
        for api in fleet.apis:
            api.stop()
        assert codes == [0] * len(codes), "a worker did not stop cleanly on SIGTERM"


def _upload(url: str, name: str, data: bytes, collection: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/documents",
        files={"file": (name, data, "application/pdf")},
        data={"collection": collection},
        timeout=120,
    )
    assert response.status_code in (200, 202), response.text
    return {**response.json(), "http": response.status_code}


def _wait_for_jobs(url: str, job_ids: set[str], seconds: float = 400) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    ended: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        while job_ids - set(ended):
            assert time.monotonic() < deadline, f"{len(job_ids - set(ended))} jobs unfinished"
            for job_id in job_ids - set(ended):
                job = client.get(f"/jobs/{job_id}").json()
                if job["status"] in ("succeeded", "failed"):
                    ended[job_id] = job
            time.sleep(0.5)
    return ended


def _a_job_running(client: httpx.Client, job_ids: set[str], seconds: float = 120) -> bool:
    """True once some job runs; False when every one of ``job_ids`` has ended first."""
    deadline = time.monotonic() + seconds
    while not client.get("/jobs", params={"status": "running"}).json()["items"]:
        statuses = {client.get(f"/jobs/{job_id}").json()["status"] for job_id in job_ids}
        if statuses <= {"succeeded", "failed"}:
            return False
        assert time.monotonic() < deadline, "no job running to interrupt"
        time.sleep(0.1)
    return True


def _chunks_in_store(database_url: str, embedder: Embedder, ids: list[str]) -> dict[str, int]:
    async def count() -> dict[str, int]:
        settings = Settings(database_url=database_url, data_dir=Path("/nonexistent"))
        async with open_services(settings, run_jobs=False, embedder=embedder) as services:
            return {i: await services.store.count({"document_id": i}) for i in ids}

    return asyncio.run(count())


def test_every_document_gets_exactly_its_chunks_and_each_chunk_is_embedded_once(
    fleet: Fleet, embedder: Embedder
) -> None:
    pdfs = distinct_pdfs(DOCUMENTS)
    urls = [api.url for api in fleet.apis if api.url]
    results: dict[int, dict[str, Any]] = {}
    again: dict[int, dict[str, Any]] = {}

    def first_then_maybe_again(n: int) -> None:
        results[n] = _upload(urls[n % 2], f"exhibit-{n}.pdf", pdfs[n], "bulk")
        if n < TWICE:  # the same file through the other API while jobs are in flight
            again[n] = _upload(urls[(n + 1) % 2], f"copy-{n}.pdf", pdfs[n], "bulk")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(first_then_maybe_again, random.sample(range(DOCUMENTS), DOCUMENTS)))
    jobs = _wait_for_jobs(urls[0], {r["job_id"] for r in results.values()})

    assert {j["status"] for j in jobs.values()} == {"succeeded"}, list(jobs.values())[:3]
    assert len({r["document_id"] for r in results.values()}) == DOCUMENTS
    for n, duplicate in again.items():
        assert duplicate["duplicate"] is True
        assert duplicate["http"] == 200
        assert duplicate["document_id"] == results[n]["document_id"]
    assert httpx.get(f"{urls[1]}/documents", params={"limit": 500}).json()["total"] == DOCUMENTS

    settings = Settings()
    expected = {results[n]["document_id"]: expected_chunks(pdfs[n], settings) for n in results}
    stored = _chunks_in_store(fleet.database_url, embedder, sorted(expected))
    assert stored == expected
    embedded = sum(w.total("TextsEmbedded") for w in fleet.all_workers())
    print(f"\n{sum(expected.values())} chunks expected, {embedded:.0f} embedded by workers")
    assert embedded == sum(expected.values())
    assert all(api.total("TextsEmbedded") == 0 for api in fleet.apis)


def test_a_file_that_crashes_its_reader_ends_dead_and_failed_others_unaffected(
    fleet: Fleet,
) -> None:
    url = fleet.apis[0].url
    assert url is not None
    good = distinct_pdfs(DOCUMENTS + 3)[DOCUMENTS:]
    bad = _upload(url, "exhibit-poison.pdf", poison.poisoned(good[0]), "poison")
    fine = [_upload(url, f"fine-{n}.pdf", pdf, "poison") for n, pdf in enumerate(good)]
    jobs = _wait_for_jobs(url, {bad["job_id"], *(f["job_id"] for f in fine)})
    failed = jobs[bad["job_id"]]
    assert failed["status"] == "failed"
    assert failed["error"].startswith(
        f"gave up after {MAX_ATTEMPTS} attempts; last failure: the file crashed its reader"
    ), failed
    assert "SIGABRT" in failed["error"]
    assert {jobs[f["job_id"]]["status"] for f in fine} == {"succeeded"}
    listed = httpx.get(f"{url}/jobs", params={"status": "failed", "collection": "poison"}).json()
    assert [j["job_id"] for j in listed["items"]] == [bad["job_id"]]
    print(f"\npoison: {failed['error'][:90]}...; {len(fine)} other files succeeded")


def test_workers_killed_at_random_moments_leave_every_document_exactly_once(
    fleet: Fleet, embedder: Embedder
) -> None:
    url = fleet.apis[1].url
    assert url is not None
    pdfs = distinct_pdfs(DOCUMENTS + 3 + KILLED_DOCUMENTS)[-KILLED_DOCUMENTS:]
    submitted = [_upload(url, f"kill-{n}.pdf", pdf, "kills") for n, pdf in enumerate(pdfs)]
    job_ids = {s["job_id"] for s in submitted}
    rng = random.Random()
    kills_during_jobs = 0

    with httpx.Client(base_url=url, timeout=30) as client:
        # Up to five kills while a job runs; a fleet faster than the kills may end every
        # job first, and then there is nothing left to interrupt.
        for _ in range(5):
            if not _a_job_running(client, job_ids):
                break
            time.sleep(rng.uniform(0, 1.5))
            victim = rng.choice(fleet.workers)
            victim.stop(signal.SIGKILL)
            fleet.workers.remove(victim)
            fleet.retired.append(victim)
            kills_during_jobs += 1
            fleet.start_worker()
    jobs = _wait_for_jobs(url, job_ids)
    assert kills_during_jobs >= 1
    assert {j["status"] for j in jobs.values()} == {"succeeded"}, jobs
    settings = Settings()
    expected = {
        s["document_id"]: expected_chunks(pdf, settings)
        for s, pdf in zip(submitted, pdfs, strict=True)
    }
    assert _chunks_in_store(fleet.database_url, embedder, sorted(expected)) == expected
    print(
        f"\n{kills_during_jobs} SIGKILLs during jobs: {len(job_ids)} jobs succeeded, "
        f"{sum(expected.values())} chunks stored exactly once"
    )

"""Two processes replace the same document at once, 50 rounds, on both Option stacks
(pgvector + PostgreSQL catalog; S3 Vectors + DynamoDB catalog): the store never ends a
round holding chunks of two versions, and the catalog describes the version it holds.

Each writer is a real process with its own services (as two API replicas or workers
are); a barrier starts both uploads of a round at the same instant, each runs its job to
the end, then this process inspects the store. On pgvector a swap is one transaction, so
an observer polling during the rounds never sees a mix either; on S3 Vectors (no
multi-item transaction) a reader may see one writer's swap half done, which is why
writers are serialised by the catalog's swap lease: the check there is at rest.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
from pathlib import Path
from typing import Any

import pytest

from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import dynamodb_table, unique_bucket
from tests.support.sqs_queues import create_sqs_pair

pytestmark = pytest.mark.slow

ROUNDS = 50
DOCUMENT = "contract-77"
CUES = (60, 25)  # the writers' versions differ in length: a mix shows in chunk counts
TAG = re.compile(r"round (\d+) writer (\d+)")


def transcript(round_no: int, writer: int) -> bytes:
    cues = [
        f"00:{i // 60:02d}:{i % 60:02d}.000 --> 00:{i // 60:02d}:{i % 60:02d}.900\n"
        f"round {round_no} writer {writer} line {i}: the lessee shall maintain the premises "
        "and return them in the condition received, ordinary wear excepted."
        for i in range(CUES[(writer + round_no) % 2])  # the longer one alternates
    ]
    return ("WEBVTT\n\n" + "\n\n".join(cues) + "\n").encode()


def _writer(settings: dict[str, Any], writer: int, barrier: Any, errors: Any) -> None:
    async def run() -> None:
        async with open_services(Settings(**settings), run_jobs=False) as services:
            for round_no in range(ROUNDS):
                barrier.wait()
                try:
                    submission = await services.ingestion.submit(
                        Upload(
                            filename=f"hearing-{writer}.vtt",
                            data=transcript(round_no, writer),
                            document_id=DOCUMENT,
                        )
                    )
                    await services.ingestion.run_job(submission.job_id)
                    job = await services.catalog.get_job(submission.job_id)
                    if job is None or job.status.value != "succeeded":
                        errors.put(f"round {round_no} writer {writer}: {job}")
                except Exception as e:  # reported to the test, which fails on it
                    errors.put(f"round {round_no} writer {writer}: {e!r}")
                barrier.wait()

    asyncio.run(run())


def _versions(texts: list[str]) -> set[tuple[int, int]]:
    found = set()
    for text in texts:
        match = TAG.search(text)
        assert match, text
        found.add((int(match[1]), int(match[2])))
    return found


@pytest.mark.parametrize("stack", ["pgvector", "s3vectors"])
def test_two_processes_replacing_one_document_never_leave_two_versions(
    stack: str, database_url: str, moto_s3: Any, tmp_path: Path
) -> None:
    settings: dict[str, Any] = {"data_dir": str(tmp_path), "swap_lease_seconds": 60.0}
    if stack == "pgvector":
        settings |= {"database_url": database_url}
    else:
        queues = create_sqs_pair(moto_s3.meta.endpoint_url, visibility=30, max_receives=5)
        settings |= {
            "vector_store": "s3vectors",
            "s3vectors_bucket": unique_bucket(),
            "catalog": "dynamodb",
            "dynamodb_table": dynamodb_table(moto_s3)[1],
            # Option 1's job queue (no database at all); the writers run their jobs inline.
            "queue": "sqs",
            "sqs_queue_url": queues.url,
            "sqs_dead_letter_queue_url": queues.dead_letter_url,
        }
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(3, timeout=300)
    errors = spawn.Queue()
    writers = [spawn.Process(target=_writer, args=(settings, w, barrier, errors)) for w in (0, 1)]
    for process in writers:
        process.start()

    async def inspect() -> list[tuple[int, int]]:
        winners = []
        async with open_services(Settings(**settings), run_jobs=False) as services:
            for round_no in range(ROUNDS):
                await asyncio.to_thread(barrier.wait)  # both writers start this round
                if stack == "pgvector":  # a swap is atomic: watch it while it happens
                    for _ in range(20):
                        chunks, _ = await services.store.read_document(DOCUMENT)
                        assert len(_versions([c.text for c in chunks])) <= 1
                        await asyncio.sleep(0.02)
                await asyncio.to_thread(barrier.wait)  # both writers are done
                chunks, _ = await services.store.read_document(DOCUMENT)
                versions = _versions([c.text for c in chunks])
                assert len(versions) == 1, (round_no, sorted(versions))
                (held,) = versions
                assert held[0] == round_no
                assert [c.chunk_no for c in chunks] == list(range(len(chunks)))
                document = await services.catalog.get_document(DOCUMENT)
                assert document is not None
                assert document.chunks == len(chunks)
                assert document.filename == f"hearing-{held[1]}.vtt"
                page = await services.catalog.list_documents(collections=None, limit=5, offset=0)
                assert page.total == 1
                winners.append(held)
        return winners

    try:
        winners = asyncio.run(inspect())
    finally:
        for process in writers:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    reported = []
    while not errors.empty():
        reported.append(errors.get())
    assert reported == []
    assert [p.exitcode for p in writers] == [0, 0]
    # Both writers won some rounds: the race was real, not one writer always first.
    print(
        f"{stack}: rounds won by writer 0/1:",
        [w for _, w in winners].count(0),
        "/",
        [w for _, w in winners].count(1),
    )

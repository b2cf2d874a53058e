"""`rag-app migrate from-postgres` on a real on-prem-like table (embedded PostgreSQL), into
pgvector and into S3 Vectors (local server, real boto3): what a user gets afterwards is
searchable, citable documents, every good row exactly once, every bad row reported, and
a source left byte-for-byte as it was."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from rag_app.cli import main
from rag_app.domain import DocumentStatus
from rag_app.migration.source import READ_ONLY_OPTIONS
from rag_app.services import open_services
from rag_app.settings import Settings
from rag_app_dev.s3vectors_local import LocalS3Vectors
from tests.conftest import AOA_QUESTION, _fresh_database, store_settings
from tests.support.onprem import (
    BAD_ROWS,
    MAPPING,
    QUESTIONS,
    OnPrem,
    checksum,
    create_onprem,
    write_mapping,
    write_questions,
)


@pytest.fixture
def onprem(postgres_url: str) -> OnPrem:
    return create_onprem(_fresh_database(postgres_url))


@pytest.fixture
def small_onprem(postgres_url: str) -> OnPrem:
    """Without the 75-chunk FAA rule: for tests about mechanics, not retrieval."""
    return create_onprem(_fresh_database(postgres_url), skip=("federal-register-2020-17221.pdf",))


def target_settings(database_url: str, tmp_path: Path, store: str) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data", **store_settings(store))


def environment(settings: Settings, source_url: str) -> dict[str, str]:
    env = {"MIGRATE_SOURCE_URL": source_url, "RAG_DATA_DIR": str(settings.data_dir)}
    env["RAG_VECTOR_STORE"] = settings.vector_store
    env["RAG_S3VECTORS_BUCKET"] = settings.s3vectors_bucket
    assert settings.database_url is not None
    env["RAG_DATABASE_URL"] = settings.database_url.get_secret_value()
    return env


def migrate(settings: Settings, onprem: OnPrem, mapping: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["migrate", "from-postgres", "--mapping", str(mapping), *args],
        env=environment(settings, onprem.url),
    )


def verify_args(mapping: Path, questions: Path) -> list[str]:
    return ["migrate", "verify", "--mapping", str(mapping), "--questions", str(questions)]


async def stored_chunks(settings: Settings) -> dict[str, list[tuple[int, str, int]]]:
    """Every document's chunks as the store returns them: (chunk_no, text, page)."""
    async with open_services(settings, run_jobs=False) as services:
        page = await services.catalog.list_documents(collections=None, limit=100, offset=0)
        found = {}
        for document in page.items:
            chunks, _ = await services.store.read_document(document.document_id)
            found[document.document_id] = [(c.chunk_no, c.text, c.page) for c in chunks]
        return found


# Into S3 Vectors too, slow: migrate copy guards that target in the default suite.
@pytest.mark.parametrize("store", ["pgvector", pytest.param("s3vectors", marks=pytest.mark.slow)])
def test_migrated_documents_answer_with_page_citations_and_the_source_is_untouched(
    store: str, onprem: OnPrem, database_url: str, tmp_path: Path
) -> None:
    before = checksum(onprem.url)
    settings = target_settings(database_url, tmp_path, store)
    result = migrate(settings, onprem, write_mapping(tmp_path), "--batch-size", "16")
    assert result.exit_code == 0, result.output
    assert checksum(onprem.url) == before

    report = result.stdout
    assert f"read:    {onprem.good_rows + onprem.bad_rows:>8,} rows" in report
    assert f"written: {onprem.good_rows:>8,} chunks in 6 documents" in report
    for reason in {reason for reason, *_ in BAD_ROWS}:
        count = sum(r == reason for r, *_ in BAD_ROWS)
        assert f"skipped: {count:>8,}  {reason}" in report
    assert "skipped:        1  document key or id is NULL" in report

    async def check() -> None:
        async with open_services(settings, run_jobs=False) as services:
            faa = onprem.document_of("federal-register-2020-17221.pdf")
            document = await services.catalog.get_document(faa)
            assert document is not None
            assert document.status is DocumentStatus.READY
            assert document.title == "federal-register-2020-17221.pdf"
            assert (document.pages, document.chunks) == (15, len(onprem.chunks[faa]))
            assert document.collection == "onprem"
            assert dict(document.metadata) == {"source": "go-ingest-v1", "lang": "en"}
            job = await services.catalog.get_job(document.latest_job_id)
            assert job is not None
            assert job.status.value == "succeeded"

            hits = await services.queries.search(AOA_QUESTION, top_k=3, filters={})
            assert (faa, 6) in {(h.chunk.document_id, h.chunk.page) for h in hits}
            answer = await services.queries.ask(AOA_QUESTION, top_k=5, filters={})
            assert answer.grounded
            assert (faa, 6) in {(c.document_id, c.page) for c in answer.citations}
            assert await services.store.count({"collection": "onprem"}) == onprem.good_rows

    asyncio.run(check())
    stored = asyncio.run(stored_chunks(settings))
    assert stored == {
        doc: [(n, text, page) for n, (text, page) in enumerate(chunks)]
        for doc, chunks in onprem.chunks.items()
    }

    parity = CliRunner().invoke(
        main,
        verify_args(write_mapping(tmp_path), write_questions(tmp_path, onprem)),
        env=environment(settings, onprem.url),
    )
    assert parity.exit_code == 0, parity.output
    lines = parity.stdout.splitlines()
    assert lines[0] == f"{len(QUESTIONS)} questions"
    source_line = next(x for x in lines if "source (keyword, PostgreSQL)" in x)
    target_line = next(x for x in lines if "target (this service)" in x)
    assert scores(source_line)[1] >= 6
    assert scores(target_line)[0] >= 6
    assert scores(target_line)[1] >= 7
    assert checksum(onprem.url) == before


def scores(line: str) -> tuple[int, int]:
    """(hit@1, hit@5) counts from a verify report line."""
    hit1, hit5 = re.findall(r"hit@\d (\s*\d+)/", line)
    return int(hit1), int(hit5)


def test_dry_run_counts_estimates_and_lists_rejects_and_writes_nothing(
    onprem: OnPrem, database_url: str, tmp_path: Path
) -> None:
    before = checksum(onprem.url)
    settings = target_settings(database_url, tmp_path, "pgvector")
    result = migrate(settings, onprem, write_mapping(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "dry run: nothing was written" in out
    assert f"rows:      {onprem.good_rows + onprem.bad_rows:>8,} in 7 documents" in out
    assert f"to embed:  {onprem.good_rows:>8,} rows" in out
    assert f"embedding: {-(-onprem.good_rows // 32):>8,} calls to sentence-transformers" in out
    assert "skipped:        3  empty text" in out
    assert "3000 characters, the limit is 1000" in out
    assert "metadata key 'page' is reserved" in out
    assert "filterable metadata is" in out
    assert "over the S3 Vectors limit of 2048" in out
    assert checksum(onprem.url) == before
    assert not settings.data_dir.exists()
    with psycopg.connect(database_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)


def test_dry_run_prices_titan_calls(
    small_onprem: OnPrem, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = target_settings(database_url, tmp_path, "s3vectors")
    monkeypatch.setenv("RAG_EMBEDDER", "bedrock")
    result = migrate(settings, small_onprem, write_mapping(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("embedding:"))
    assert f"{small_onprem.good_rows:>8,} calls to amazon.titan-embed-text-v2:0" in line
    assert "estimated cost $0.00" in line


@pytest.fixture
def faulty_server(s3vectors_server: LocalS3Vectors) -> Iterator[LocalS3Vectors]:
    yield s3vectors_server
    s3vectors_server.faults.clear()


def test_a_run_that_fails_midway_resumes_and_stores_every_chunk_once(
    small_onprem: OnPrem, database_url: str, tmp_path: Path, faulty_server: LocalS3Vectors
) -> None:
    settings = target_settings(database_url, tmp_path, "s3vectors")
    mapping = write_mapping(tmp_path)
    # A non-retryable error on a write: with this seed the first three documents' writes
    # (one PutVectors each) succeed and the fourth fails, which stops the run.
    faulty_server.faults.fail_randomly("PutVectors", 0.25, ("AccessDeniedException",), seed=10)
    failed = migrate(settings, small_onprem, mapping, "--batch-size", "4")
    assert failed.exit_code == 1, failed.output
    assert "AccessDeniedException" in failed.output
    assert "run the same command again to continue" in failed.output
    checkpoints = list((settings.data_dir / "blobs" / "migrations").glob("*.json"))
    assert len(checkpoints) == 1
    saved = json.loads(checkpoints[0].read_text())
    assert 0 < saved["rows_written"] < small_onprem.good_rows
    assert not saved["finished"]

    faulty_server.faults.clear()
    resumed = migrate(settings, small_onprem, mapping, "--batch-size", "4")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed from a checkpoint" in resumed.stdout
    assert f"written: {small_onprem.good_rows:>8,} chunks in 5 documents" in resumed.stdout
    stored = asyncio.run(stored_chunks(settings))
    assert sum(len(c) for c in stored.values()) == small_onprem.good_rows
    for doc, chunks in stored.items():
        assert [n for n, *_ in chunks] == list(range(len(small_onprem.chunks[doc])))

    again = migrate(settings, small_onprem, mapping)
    assert "already finished" in again.stdout


def test_bad_mapping_and_unreachable_source_fail_with_a_clear_message(
    small_onprem: OnPrem, database_url: str, tmp_path: Path
) -> None:
    settings = target_settings(database_url, tmp_path, "pgvector")
    cases: list[tuple[str, Any]] = [
        ('table = "onprem.document_chunks"\n', "columns"),
        ("table = [", "mapping file"),
        ("table = 'x'\n[columns]\nid = 'id'\n", "document_id\n  Field required"),
        (
            'table = "x; drop table y"\n[columns]\nid="id"\ndocument_id="d"\ntext="t"\npage="p"\n',
            "not a plain SQL identifier",
        ),
        (
            'table = "onprem.nope"\n[columns]\nid="id"\ndocument_id="d"\ntext="t"\npage="p"\n',
            'relation "onprem.nope" does not exist',
        ),
        (
            'table = "onprem.document_chunks"\n[columns]\nid="id"\ndocument_id="doc_id"\n'
            'text="body"\npage="page_number"\n',
            "column e.body does not exist",
        ),
    ]
    for text, message in cases:
        result = migrate(settings, small_onprem, write_mapping(tmp_path, text))
        assert result.exit_code == 1, result.output
        assert message in result.output
    env = environment(settings, "postgresql://rag@127.0.0.1:1/none")
    result = CliRunner().invoke(
        main, ["migrate", "from-postgres", "--mapping", str(write_mapping(tmp_path))], env=env
    )
    assert result.exit_code == 1
    assert "cannot connect to the source database" in result.output
    assert os.environ.get("MIGRATE_SOURCE_URL") is None


def test_verify_refuses_a_malformed_question_file(
    small_onprem: OnPrem, database_url: str, tmp_path: Path
) -> None:
    settings = target_settings(database_url, tmp_path, "pgvector")
    questions = tmp_path / "q.jsonl"
    for text, message in [
        ("", "holds no questions"),
        ('{"question": "q", "page": 1}\n', "line 1: expected"),
        ('{"question": "q", "document": "d", "page": 1}\nnot json\n', "line 2: expected"),
        ('{"question": "q", "document": "d", "page": "six"}\n', "non-integer page"),
    ]:
        questions.write_text(text)
        result = CliRunner().invoke(
            main,
            verify_args(write_mapping(tmp_path), questions),
            env=environment(settings, small_onprem.url),
        )
        assert result.exit_code == 1
        assert message in result.output


@pytest.mark.slow
def test_a_killed_migration_process_resumes_and_stores_every_chunk_once(
    small_onprem: OnPrem, database_url: str, tmp_path: Path
) -> None:
    """SIGKILL `rag-app migrate from-postgres` once its first checkpoint is saved; the next
    run continues from it and ends with every good row stored once."""
    settings = target_settings(database_url, tmp_path, "pgvector")
    mapping = write_mapping(tmp_path)
    env = {**os.environ, **environment(settings, small_onprem.url)}
    rag_app = str(Path(sys.executable).parent / "rag-app")
    command = [rag_app, "migrate", "from-postgres", "--mapping", str(mapping), "--batch-size", "2"]
    log = tmp_path / "migrate.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    checkpoints = settings.data_dir / "blobs" / "migrations"
    deadline = time.monotonic() + 120
    try:
        while not any(checkpoints.glob("*.json")):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    (checkpoint,) = checkpoints.glob("*.json")
    saved = json.loads(checkpoint.read_text())
    assert not saved["finished"]
    assert 0 < saved["rows_written"] < small_onprem.good_rows

    resumed = migrate(settings, small_onprem, mapping, "--batch-size", "2")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed from a checkpoint" in resumed.stdout
    stored = asyncio.run(stored_chunks(settings))
    assert stored == {
        doc: [(n, text, page) for n, (text, page) in enumerate(chunks)]
        for doc, chunks in small_onprem.chunks.items()
    }


def test_the_source_connection_refuses_writes(small_onprem: OnPrem) -> None:
    with (
        psycopg.connect(small_onprem.url, options=READ_ONLY_OPTIONS) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("DELETE FROM onprem.document_chunks")


def test_the_mapping_can_come_from_the_environment(
    small_onprem: OnPrem, database_url: str, tmp_path: Path
) -> None:
    """A one-off container task has no file to mount: MIGRATE_MAPPING holds the TOML."""
    settings = target_settings(database_url, tmp_path, "pgvector")
    env = {**environment(settings, small_onprem.url), "MIGRATE_MAPPING": MAPPING}
    result = CliRunner().invoke(main, ["migrate", "from-postgres", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert f"to embed:  {small_onprem.good_rows:>8,} rows" in result.stdout

    both = CliRunner().invoke(
        main,
        ["migrate", "from-postgres", "--dry-run", "--mapping", str(write_mapping(tmp_path))],
        env=env,
    )
    assert both.exit_code == 2
    assert "--mapping FILE or --mapping-text TOML" in both.output

"""`rag-app migrate from-postgres --schema langchaingo|langchain`: the tables LangChain's
PGVector stores create (Go's langchaingo, Python's langchain-postgres), read as they are,
with no mapping file and nothing written to the source. Into pgvector and S3 Vectors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rag_app.cli import main
from rag_app.domain import UNPAGED, DocumentStatus
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import AOA_QUESTION, _fresh_database, store_settings
from tests.support.langchain_sources import (
    MIGRATED,
    NOT_MIGRATED,
    NOTE_SOURCE,
    Flavour,
    LangChainSource,
    checksum,
    create_langchain_source,
)

FAA = "federal-register-2020-17221.pdf"
VERIFY = ["migrate", "verify", "--schema", "langchain"]
SMALL = ("scotus-transcript-p1.pdf", "150109DSP-Milw-505-90D.pdf")


def target_settings(database_url: str, tmp_path: Path, store: str) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data", **store_settings(store))


def environment(settings: Settings, source_url: str) -> dict[str, str]:
    assert settings.database_url is not None
    return {
        "MIGRATE_SOURCE_URL": source_url,
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_VECTOR_STORE": settings.vector_store,
        "RAG_S3VECTORS_BUCKET": settings.s3vectors_bucket,
        "RAG_DATABASE_URL": settings.database_url.get_secret_value(),
    }


def migrate(settings: Settings, source: LangChainSource, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["migrate", "from-postgres", "--schema", source.flavour, *args],
        env=environment(settings, source.url),
    )


async def stored(settings: Settings) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """title -> (collection, [(text, page)] in chunk order), for every stored document."""
    async with open_services(settings, run_jobs=False) as services:
        page = await services.catalog.list_documents(collections=None, limit=100, offset=0)
        found = {}
        for document in page.items:
            chunks, _ = await services.store.read_document(document.document_id)
            texts = [(c.text, c.page) for c in sorted(chunks, key=lambda c: c.chunk_no)]
            assert [c.chunk_no for c in sorted(chunks, key=lambda c: c.chunk_no)] == list(
                range(len(chunks))
            )
            found[document.title] = (document.collection, texts)
        return found


def expected(source: LangChainSource) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    return {Path(name).name: (MIGRATED, chunks) for name, chunks in source.chunks.items()}


@pytest.mark.parametrize(
    ("flavour", "store"),
    [
        ("langchaingo", "pgvector"),
        # The S3 Vectors target is guarded by test_migrate_from_postgres and migrate copy.
        pytest.param("langchaingo", "s3vectors", marks=pytest.mark.slow),
        ("langchain", "pgvector"),
    ],
)
def test_a_langchain_store_migrates_by_document_and_page_and_cites_the_right_page(
    flavour: Flavour, store: str, postgres_url: str, database_url: str, tmp_path: Path
) -> None:
    source = create_langchain_source(_fresh_database(postgres_url), flavour)
    before = checksum(source.url)
    settings = target_settings(database_url, tmp_path, store)
    result = migrate(settings, source, "--source-collection", MIGRATED, "--batch-size", "64")
    assert result.exit_code == 0, result.output
    assert checksum(source.url) == before

    report = result.stdout
    documents = len(source.chunks)
    assert f"written: {source.good_rows:>8,} chunks in {documents} documents" in report, report
    assert f"    {MIGRATED}: {documents} documents, {source.good_rows:,} chunks" in report
    assert "skipped:        2  empty text" in report
    assert "skipped:        1  page not a positive number" in report
    # A cmetadata that is not an object has no source: the row has no document to join.
    assert "skipped:        2  document key or id is NULL" in report

    # Every good row is a chunk of its document, on its page, in reading order (pages from
    # 1 whatever the source's base), though the source's ids are random UUIDs.
    assert asyncio.run(stored(settings)) == expected(source)

    async def check() -> None:
        async with open_services(settings, run_jobs=False) as services:
            listed = await services.catalog.list_documents(collections=None, limit=100, offset=0)
            assert {d.collection for d in listed.items} == {MIGRATED}
            assert await services.store.count({"collection": NOT_MIGRATED}) == 0
            faa = next(d for d in listed.items if d.title == FAA)
            assert faa.status is DocumentStatus.READY
            assert faa.pages == 15
            if flavour == "langchain":
                # Library metadata is kept as filterable metadata; what the service cannot
                # keep (a 'title' key: reserved) is left out, not the passage.
                assert dict(faa.metadata) == {"producer": "pdfTeX-1.40", "total_pages": 15}
            answer = await services.queries.ask(AOA_QUESTION, top_k=5, filters={})
            assert answer.grounded
            assert (faa.document_id, 6) in {(c.document_id, c.page) for c in answer.citations}
            note = await services.queries.search(
                "how long does the sensor system test take per aircraft", top_k=10, filters={}
            )
            unpaged = [h for h in note if h.chunk.title == Path(NOTE_SOURCE).name]
            assert unpaged
            assert all(h.chunk.page == UNPAGED for h in unpaged)

    asyncio.run(check())


def test_an_unpaged_passage_is_cited_without_a_page(
    postgres_url: str, database_url: str, tmp_path: Path
) -> None:
    """Through the HTTP API: the citation of a migrated note has ``page: null`` and links to
    the document itself, not to a page of it."""
    from litestar.testing import TestClient

    from rag_app.api import create_app

    source = create_langchain_source(_fresh_database(postgres_url), "langchaingo", pdfs=SMALL)
    settings = target_settings(database_url, tmp_path, "pgvector")
    assert migrate(settings, source).exit_code == 0
    with TestClient(app=create_app(settings)) as client:
        response = client.post(
            "/ask", json={"question": "how long does the sensor system test take per aircraft"}
        )
        assert response.status_code == 200, response.text
        citations = response.json()["citations"]
        note = [c for c in citations if c["title"] == Path(NOTE_SOURCE).name]
        assert note, citations
        assert note[0]["page"] is None
        assert note[0]["link"] == f"/documents/{note[0]['document_id']}/content"


def test_without_a_source_collection_every_collection_is_migrated_into_its_namesake(
    postgres_url: str, database_url: str, tmp_path: Path
) -> None:
    source = create_langchain_source(_fresh_database(postgres_url), "langchaingo", pdfs=SMALL)
    settings = target_settings(database_url, tmp_path, "pgvector")
    dry = migrate(settings, source, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"    {MIGRATED}: {len(source.chunks)} documents" in dry.stdout
    assert f"    {NOT_MIGRATED}: 1 documents, 5 chunks" in dry.stdout
    assert not settings.data_dir.exists()

    into_one = migrate(settings, source, "--collection", "imported")
    assert into_one.exit_code == 0, into_one.output
    found = asyncio.run(stored(settings))
    assert {collection for collection, _ in found.values()} == {"imported"}
    # The same file name in two source collections stays two documents.
    assert len(found) == len(source.chunks) + 1


def test_a_stated_page_base_overrides_detection(
    postgres_url: str, database_url: str, tmp_path: Path
) -> None:
    source = create_langchain_source(_fresh_database(postgres_url), "langchain", pdfs=SMALL)
    settings = target_settings(database_url, tmp_path, "pgvector")
    result = migrate(settings, source, "--source-collection", MIGRATED, "--page-base", "1")
    assert result.exit_code == 0, result.output
    # Read as 1-based, PyPDFLoader's page 0 is not a page: those rows are refused by reason.
    first_pages = sum(1 for chunks in source.chunks.values() for _, p in chunks if p == 1)
    assert f"skipped: {first_pages + 1:>8,}  page not a positive number" in result.stdout


def test_misnamed_or_misshapen_tables_fail_with_a_clear_message(
    postgres_url: str, database_url: str, tmp_path: Path
) -> None:
    source = create_langchain_source(_fresh_database(postgres_url), "langchaingo", pdfs=SMALL)
    settings = target_settings(database_url, tmp_path, "pgvector")
    cases = [
        (["--embedding-table", "vectors"], "no table 'vectors'"),
        (["--collection-table", "public.nope"], "no table 'public.nope'"),
        (["--embedding-table", "x; drop table y"], "no table 'x; drop table y'"),
        (["--document-key", "a'b"], "the JSON key after '.'"),
        (["--collection", "not a name!"], "collection"),
        (["--mapping-text", "table='t'"], "one of --schema"),
    ]
    for args, message in cases:
        result = migrate(settings, source, *args)
        assert result.exit_code != 0, (args, result.output)
        assert message in result.output, (args, result.output)
    assert checksum(source.url)[0] == source.good_rows + source.bad_rows + 5


def test_migrate_verify_ranks_the_source_by_full_text_and_the_target_by_search(
    postgres_url: str, database_url: str, tmp_path: Path
) -> None:
    source = create_langchain_source(_fresh_database(postgres_url), "langchain", pdfs=(FAA,))
    settings = target_settings(database_url, tmp_path, "pgvector")
    assert migrate(settings, source, "--source-collection", MIGRATED).exit_code == 0
    questions = tmp_path / "questions.jsonl"
    # Pages as the source numbers them (PyPDFLoader: from 0): the AOA test is on page 6.
    questions.write_text(
        json.dumps({"question": AOA_QUESTION, "document": source.source_of(FAA), "page": 5}) + "\n"
    )
    result = CliRunner().invoke(
        main,
        [*VERIFY, "--source-collection", MIGRATED, "--questions", str(questions)],
        env=environment(settings, source.url),
    )
    assert result.exit_code == 0, result.output
    target = next(x for x in result.stdout.splitlines() if "target (this service)" in x)
    assert "hit@5   1/1" in target


@pytest.mark.slow
def test_a_killed_langchaingo_migration_resumes_with_no_duplicate_or_missing_chunk(
    postgres_url: str, database_url: str, tmp_path: Path
) -> None:
    source = create_langchain_source(_fresh_database(postgres_url), "langchaingo")
    settings = target_settings(database_url, tmp_path, "pgvector")
    env = {**os.environ, **environment(settings, source.url)}
    rag_app = str(Path(sys.executable).parent / "rag-app")
    command = [rag_app, "migrate", "from-postgres", "--schema", "langchaingo"]
    command += ["--source-collection", MIGRATED, "--batch-size", "8"]
    log = tmp_path / "migrate.log"
    checkpoints = settings.data_dir / "blobs" / "migrations"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 180
    try:
        while not any(checkpoints.glob("*.json")):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        time.sleep(0.5)  # into the middle of the run
    finally:
        process.kill()
        process.wait()
    (checkpoint,) = checkpoints.glob("*.json")
    saved = json.loads(checkpoint.read_text())
    assert not saved["finished"]
    assert 0 < saved["rows_written"] < source.good_rows

    resumed = CliRunner().invoke(main, command[1:], env=environment(settings, source.url))
    assert resumed.exit_code == 0, resumed.output
    assert "resumed from a checkpoint" in resumed.stdout
    assert asyncio.run(stored(settings)) == expected(source)

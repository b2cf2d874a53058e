"""SQL injection through search and ask filters, on both vector stores, with
authentication on: every hostile key or value gets a 400 with a clear message or a normal
answer holding only what the filter legitimately matches (here: nothing, since no document
has such a key or value), and the database and the index are unchanged afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import psycopg
import pytest
from litestar.testing import TestClient
from psycopg import sql

from rag_app.api import create_app
from rag_app.auth.api_keys import FileKeyStore, new_key
from rag_app.settings import Settings
from tests.conftest import CORPUS, STORES, _fresh_database, store_settings, upload, wait_for_job

BULLETIN_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"
COURT_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
QUERY = "who may vote at the precinct"

# Strings an attacker tries where SQL might be assembled from input: quote breaking,
# comments, stacked statements, UNION reads, time-based probes, PostgreSQL specifics
# (dollar quoting, E'' strings, casts, DO blocks, COPY), encodings and look-alike quotes.
SQL_PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "' OR 1=1#",
    "' OR ''='",
    '" OR ""="',
    "') OR ('a'='a",
    '") OR 1=1 --',
    "1 OR 1=1",
    "1) OR (1=1",
    "' OR true --",
    "admin'--",
    "' OR 'x'='x' /*",
    "/**/OR/**/1=1",
    "%' OR '%'='",
    "'; DROP TABLE rag_documents; --",
    "'; DROP TABLE rag_jobs CASCADE; --",
    "1; DROP TABLE rag_jobs",
    "'; DELETE FROM rag_documents; --",
    "'; TRUNCATE rag_jobs; --",
    "'; UPDATE rag_documents SET collection = 'stolen'; --",
    "'; INSERT INTO rag_documents (document_id) VALUES ('pwned'); --",
    "'; CREATE TABLE pwned (x int); --",
    "'; ALTER TABLE rag_documents ADD COLUMN pwned int; --",
    "'; GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC; --",
    "'; SET ROLE postgres; --",
    "'; COPY rag_documents TO '/tmp/pwned.csv'; --",
    "'; DO $$ BEGIN EXECUTE 'DROP TABLE rag_jobs'; END $$; --",
    "$$; DROP TABLE rag_jobs; $$",
    "E'\\x27 OR 1=1 --",
    "\\'; DROP TABLE rag_documents; --",
    "' UNION SELECT NULL, version() --",
    "' UNION ALL SELECT chunk_id, text FROM pg_tables --",
    "' AND 1=CAST((SELECT version()) AS int) --",
    "' AND (SELECT count(*) FROM pg_tables) > 0 --",
    "'||(SELECT current_user)||'",
    "'; SELECT pg_sleep(5); --",
    "' || pg_sleep(5) || '",
    "1' AND SLEEP(5)--",
    "'; VACUUM FULL; --",
    "'; LISTEN x; NOTIFY x; --",
    "' OR collection = ANY(ARRAY['faa','court']) --",
    "')::text[] IS NULL OR TRUE --",
    "' OR metadata @> '{}' --",
    "' OR (embedding <=> embedding) = 0 --",
    "metadata->>'kind' = 'x' OR TRUE",
    '{"$ne": null}',
    '{"$or": [{"kind": "bulletin"}]}',
    "%27%20OR%201%3D1",
    "0x27204f5220313d31",
    "\u02bc OR 1=1 --",  # modifier letter apostrophe
    "\uff07 OR \uff11=\uff11 --",  # fullwidth quote and digits
    "'\x00 OR 1=1 --",
    "\x00",
    "' OR 1=1 --" * 100,
    "';\n DROP TABLE rag_documents;\n--",
    "' OR 'a' LIKE '%",
]
# Structures where a scalar belongs: refused by the request schema.
STRUCTURED_VALUES: list[Any] = [
    {"$ne": "x"},
    {"$in": ["bulletins", "court"]},
    ["bulletins", "court"],
    None,
]


@pytest.fixture(scope="module", params=STORES)
def service(
    request: pytest.FixtureRequest, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient[Any], str]]:
    """Two documents in two collections with metadata, and a key that may read everything."""
    root = tmp_path_factory.mktemp("injection")
    writer, writer_record = new_key("writer", read=["*"], write=["*"])
    anyio.run(FileKeyStore(root / "api-keys.json").save, [writer_record])
    database_url = _fresh_database(postgres_url)
    settings = Settings(
        database_url=database_url,
        data_dir=root / "data",
        auth="required",
        api_keys_file=root / "api-keys.json",
        rate_limit_per_minute=1_000_000,
        **store_settings(request.param),
    )
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {writer}"
        for pdf, collection, kind in (
            (BULLETIN_PDF, "bulletins", "bulletin"),
            (COURT_PDF, "court", "transcript"),
        ):
            status, body = upload(
                client, pdf, collection=collection, metadata=f'{{"kind": "{kind}"}}'
            )
            assert status == 202, body
            assert wait_for_job(client, body["job_id"])["status"] == "succeeded"
        yield client, database_url


def snapshot(client: TestClient[Any], database_url: str) -> dict[str, Any]:
    """Every table with its row count, the store's chunk count and the catalog's documents.
    The audit trail and the conversations are left out: every request adds to them."""
    with psycopg.connect(database_url) as conn:
        tables = [
            (schema, name)
            for schema, name in conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                " AND table_name NOT IN ('rag_audit_events', 'rag_conversations', 'rag_turns')"
                " ORDER BY 1, 2"
            ).fetchall()
        ]
        rows = {
            f"{schema}.{name}": conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))
            ).fetchone()
            for schema, name in tables
        }
    services = client.app.state.services
    chunks = client.blocking_portal.call(services.store.count, {})
    documents = client.get("/documents").json()["items"]
    return {"rows": rows, "chunks": chunks, "documents": documents}


def filter_cases() -> Iterator[dict[str, Any]]:
    for payload in SQL_PAYLOADS:
        yield {payload: "bulletin"}  # as a key
        yield {"kind": payload}  # as a user metadata value
        yield {"document_id": payload}
        yield {"collection": payload}
        yield {"kind": "bulletin", payload: payload}
    for value in STRUCTURED_VALUES:
        yield {"kind": value}
        yield {"collection": value}


def test_the_filters_work_so_the_test_can_see_an_escape(
    service: tuple[TestClient[Any], str],
) -> None:
    client, _ = service
    everything = client.post("/search", json={"query": QUERY, "top_k": 20}).json()["hits"]
    assert {h["collection"] for h in everything} == {"bulletins", "court"}
    bulletins = client.post(
        "/search", json={"query": QUERY, "top_k": 20, "filters": {"kind": "bulletin"}}
    ).json()["hits"]
    assert bulletins
    assert {h["collection"] for h in bulletins} == {"bulletins"}


def test_sql_injection_in_filter_keys_and_values_never_escapes(
    service: tuple[TestClient[Any], str],
) -> None:
    client, database_url = service
    before = snapshot(client, database_url)
    outcomes = {"refused": 0, "empty": 0}
    for filters in filter_cases():
        for path, body in (
            ("/search", {"query": QUERY, "top_k": 20, "filters": filters}),
            ("/ask", {"question": QUERY, "top_k": 20, "filters": filters}),
        ):
            response = client.post(path, json=body)
            if response.status_code == 400:
                detail = response.json()["detail"]
                assert len(str(detail)) > 10, (filters, detail)
                outcomes["refused"] += 1
                continue
            assert response.status_code == 200, (path, filters, response.text)
            # No document has such a key or value: the only legitimate match is nothing.
            found = response.json()
            assert found.get("hits", []) == [], (path, filters, found)
            assert found.get("citations", []) == [], (path, filters, found)
            outcomes["empty"] += 1
    assert snapshot(client, database_url) == before
    total = sum(outcomes.values())
    print(f"\n{len(SQL_PAYLOADS)} payloads, {total} requests: {outcomes}, no escape")
    assert len(SQL_PAYLOADS) >= 50

"""The audit trail's stores: one contract for PostgreSQL and the S3 Object Lock bucket,
and the evidence that the application cannot change what it wrote: as the database role
``rag-app init-db`` creates, UPDATE, DELETE and TRUNCATE fail; in the Object Lock bucket,
no object is replaced and no locked version deleted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.audit.events import AuditEvent, AuditQuery, event_id
from rag_app.audit.log import AuditLog, AuditWriter
from rag_app.audit.objects import ObjectLockAuditLog
from rag_app.audit.postgres import PostgresAuditLog
from rag_app.cli import main
from rag_app.postgres.pool import open_pool
from rag_app.settings import Settings
from tests.conftest import CORPUS, upload, wait_for_job

pytestmark = pytest.mark.anyio
SMALL_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def lock_bucket(s3: Any) -> str:
    """A bucket made as the stack makes the audit bucket: Object Lock, compliance mode."""
    bucket = f"audit-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    return bucket


@pytest.fixture(params=["postgres", "objectlock"])
async def audit_log(
    request: pytest.FixtureRequest, database_url: str, moto_s3: Any
) -> AsyncIterator[AuditLog]:
    if request.param == "postgres":
        pool = await open_pool(database_url, max_size=2)
        yield PostgresAuditLog(pool)
        await pool.close()
    else:
        yield ObjectLockAuditLog(moto_s3, bucket=lock_bucket(moto_s3), prefix="audit/")


def event(n: int, **changes: Any) -> AuditEvent:
    at = START + timedelta(hours=n * 7)  # spread over days, so day prefixes matter
    values: dict[str, Any] = {
        "event_id": event_id(at),
        "at": at,
        "principal": f"key:{n % 3}",
        "action": ("ask", "search", "getDocumentContent")[n % 3],
        "collections": ("faa",),
        "documents": (f"doc-{n % 4}",),
        "request_id": f"req-{n}",
        "status": 200,
        "question": "what does the AD require?" if n % 3 == 0 else None,
        "detail": {"method": "POST", "path": "/ask", "n": n},
    }
    return AuditEvent(**{**values, **changes})


async def test_events_come_back_as_written_oldest_first(audit_log: AuditLog) -> None:
    events = [event(n) for n in range(12)]
    await audit_log.append(events[6:])
    await audit_log.append(events[:6])
    assert await audit_log.query(AuditQuery()) == events


async def test_queries_filter_by_time_principal_action_document_and_page(
    audit_log: AuditLog,
) -> None:
    events = [event(n) for n in range(12)]
    await audit_log.append(events)
    since, until = events[3].at, events[9].at
    assert await audit_log.query(AuditQuery(since=since, until=until)) == events[3:9]
    assert await audit_log.query(AuditQuery(principal="key:1")) == events[1::3]
    assert await audit_log.query(AuditQuery(action="search")) == events[1::3]
    assert await audit_log.query(AuditQuery(document_id="doc-2")) == events[2::4]
    first = await audit_log.query(AuditQuery(limit=5))
    rest = await audit_log.query(AuditQuery(after=first[-1].event_id))
    assert first + rest == events
    assert await audit_log.query(AuditQuery(principal="nobody")) == []


async def test_a_retried_batch_is_not_stored_twice(audit_log: AuditLog) -> None:
    events = [event(n) for n in range(3)]
    await audit_log.append(events[:2])
    await audit_log.append(events)  # the retry of a batch that grew meanwhile
    assert await audit_log.query(AuditQuery()) == events


async def test_the_writer_loses_nothing_on_a_clean_shutdown(audit_log: AuditLog) -> None:
    writer = AuditWriter(audit_log, flush_seconds=3600)
    writer.start()
    events = [event(n) for n in range(40)]
    for e in events:
        writer.record(e)
    assert writer.pending == 40
    await writer.close()
    assert await audit_log.query(AuditQuery()) == events


# -- tamper resistance ------------------------------------------------------------------------


def _as(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
def app_role(database_url: str, tmp_path: Path) -> str:
    """``rag-app init-db`` run with the owner's credentials; the app role's URL."""
    password = uuid.uuid4().hex
    role = f"rag_app_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: one per test
    result = CliRunner().invoke(
        main,
        ["init-db", "--app-password-env", "TEST_APP_PASSWORD"],
        env={
            "RAG_DATABASE_URL": database_url,
            "RAG_DATA_DIR": str(tmp_path / "data"),
            "RAG_DATABASE_USER": role,
            "TEST_APP_PASSWORD": password,
        },
    )
    assert result.exit_code == 0, result.output
    assert f"role {role} created" in result.output
    return _as(database_url, role, password)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE rag_audit_events SET status = 200",
        "DELETE FROM rag_audit_events",
        "TRUNCATE rag_audit_events",
        "DROP TRIGGER rag_audit_events_no_change ON rag_audit_events",
        "ALTER TABLE rag_audit_events DISABLE TRIGGER USER",
        "DROP TABLE rag_audit_events",
        "GRANT UPDATE ON rag_audit_events TO CURRENT_USER; UPDATE rag_audit_events SET status = 1",
        "CREATE TABLE sneaky (x int)",
    ],
)
def test_the_app_role_can_append_and_read_the_audit_table_but_not_change_it(
    app_role: str, statement: str
) -> None:
    with psycopg.connect(app_role, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO rag_audit_events (event_id, at, principal, action, collections,"
            " documents, request_id, status, detail) VALUES"
            " (%s, now(), 'key:x', 'ask', '{}', '{doc}', 'r', 200, '{}')",
            (uuid.uuid4().hex,),
        )
        assert conn.execute("SELECT count(*) FROM rag_audit_events").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        assert conn.execute("SELECT count(*), min(status) FROM rag_audit_events").fetchone() == (
            1,
            200,
        )


def test_even_the_owner_cannot_update_delete_or_truncate_by_accident(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        from rag_app.audit.postgres import SCHEMA

        conn.execute(SCHEMA)
        conn.execute(
            "INSERT INTO rag_audit_events (event_id, at, principal, action, collections,"
            " documents, request_id, status, detail) VALUES"
            " ('e', now(), 'p', 'ask', '{}', '{}', 'r', 200, '{}')"
        )
        for statement in (
            "UPDATE rag_audit_events SET status = 500",
            "DELETE FROM rag_audit_events",
            "TRUNCATE rag_audit_events",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)


@pytest.mark.slow
def test_the_service_runs_as_the_app_role_and_audits(app_role: str, tmp_path: Path) -> None:
    settings = Settings(database_url=app_role, data_dir=tmp_path / "served")
    with TestClient(create_app(settings)) as client:
        status, body = upload(client, SMALL_PDF, collection="bulletins")
        assert status == 202, body
        assert wait_for_job(client, body["job_id"])["status"] == "succeeded"
        answer = client.post("/ask", json={"question": "when is the election?"})
        assert answer.status_code == 200, answer.text
        assert client.delete(f"/documents/{body['document_id']}").status_code == 204
        client.blocking_portal.call(client.app.state.services.audit.flush)
    with psycopg.connect(app_role) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM rag_audit_events WHERE %s = ANY(documents) ORDER BY event_id",
                (body["document_id"],),
            ).fetchall()
        ]
    assert actions[0] == "uploadDocument"
    assert actions[-1] == "deleteDocument"


def test_the_service_refuses_to_start_on_a_schema_init_db_did_not_make(
    database_url: str, tmp_path: Path
) -> None:
    password = uuid.uuid4().hex
    role = f"rag_bare_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    result = CliRunner().invoke(
        main,
        ["init-db"],
        env={"RAG_DATABASE_URL": _as(database_url, role, password), "RAG_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code != 0
    assert "run `rag-app init-db` with the owner's credentials" in result.output


# -- Object Lock ------------------------------------------------------------------------------


async def test_the_object_lock_store_never_replaces_or_loses_an_object(moto_s3: Any) -> None:
    bucket = lock_bucket(moto_s3)
    store = ObjectLockAuditLog(moto_s3, bucket=bucket, prefix="audit/")
    written = event(0)
    await store.append([written])
    [key] = [o["Key"] for o in moto_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    with pytest.raises(ClientError, match="PreconditionFailed"):
        moto_s3.put_object(Bucket=bucket, Key=key, Body=b"forged", IfNoneMatch="*")
    version = moto_s3.head_object(Bucket=bucket, Key=key)["VersionId"]
    with pytest.raises(ClientError, match="AccessDenied"):
        moto_s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
    assert await store.query(AuditQuery()) == [written]


def test_option_1_keeps_conversations_in_the_bucket_and_audits_to_object_lock(
    moto_s3: Any, tmp_path: Path
) -> None:
    from tests.conftest import unique_bucket
    from tests.support.sqs_queues import create_sqs_pair

    bucket = lock_bucket(moto_s3)
    queues = create_sqs_pair(moto_s3.meta.endpoint_url, visibility=30, max_receives=5)
    settings = Settings(
        data_dir=tmp_path / "data",
        vector_store="s3vectors",
        s3vectors_bucket=unique_bucket(),
        blob_store="s3",
        documents_bucket="documents",
        documents_prefix=f"{uuid.uuid4().hex}/",
        catalog="s3",
        audit_bucket=bucket,
        audit_questions="hash",
        queue="sqs",  # Option 1's job queue: no database at all
        sqs_queue_url=queues.url,
        sqs_dead_letter_queue_url=queues.dead_letter_url,
    )
    assert not settings.needs_postgres
    with TestClient(create_app(settings)) as client:
        first = client.post("/ask", json={"question": "what does the AD require?"}).json()
        follow = client.post(
            "/ask",
            json={"question": "and its cost?", "conversation_id": first["conversation_id"]},
        ).json()
        assert follow["conversation_id"] == first["conversation_id"]
        turns = client.get(f"/conversations/{first['conversation_id']}").json()["turns"]
        assert [t["answer_id"] for t in turns] == [first["answer_id"], follow["answer_id"]]
        events = client.get("/audit", params={"action": "ask"}).json()["events"]
    assert len(events) == 2
    assert all(e["question"].startswith("sha256:") for e in events)
    keys = [o["Key"] for o in moto_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys
    assert all(k.startswith("audit/") and k.endswith(".jsonl") for k in keys)

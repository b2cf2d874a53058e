"""The audit trail in PostgreSQL: a table the application's role may only INSERT into and
SELECT from (``rag-app init-db`` grants exactly that), guarded besides by triggers that
refuse UPDATE, DELETE and TRUNCATE for every role, owner included, unless an owner drops
them on purpose."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from rag_app.audit.events import AuditEvent, AuditQuery
from rag_app.audit.formats import event_values

TABLE = "rag_audit_events"

SCHEMA = """
CREATE TABLE IF NOT EXISTS rag_audit_events (
    event_id    text PRIMARY KEY,
    at          timestamptz NOT NULL,
    principal   text NOT NULL,
    action      text NOT NULL,
    collections text[] NOT NULL,
    documents   text[] NOT NULL,
    request_id  text NOT NULL,
    status      integer NOT NULL,
    question    text,
    detail      jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS rag_audit_events_at ON rag_audit_events (at);
CREATE INDEX IF NOT EXISTS rag_audit_events_principal ON rag_audit_events (principal, at);
CREATE INDEX IF NOT EXISTS rag_audit_events_documents ON rag_audit_events USING gin (documents);
CREATE OR REPLACE FUNCTION rag_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE TRIGGER rag_audit_events_no_change BEFORE UPDATE OR DELETE
    ON rag_audit_events FOR EACH ROW EXECUTE FUNCTION rag_audit_refuse();
CREATE OR REPLACE TRIGGER rag_audit_events_no_truncate BEFORE TRUNCATE
    ON rag_audit_events FOR EACH STATEMENT EXECUTE FUNCTION rag_audit_refuse();
"""
# Run at every start: the table is created when missing (by a role that may), and left
# alone otherwise (its indexes and triggers are the owner's, which the app's role is not).
ENSURE = (
    "DO $ensure$ BEGIN IF to_regclass('rag_audit_events') IS NULL THEN EXECUTE "
    + "$ddl$"
    + SCHEMA
    + "$ddl$; END IF; END $ensure$;"
)

INSERT = """
INSERT INTO rag_audit_events
    (event_id, at, principal, action, collections, documents, request_id, status, question,
     detail)
VALUES (%(event_id)s, %(at)s, %(principal)s, %(action)s, %(collections)s, %(documents)s,
        %(request_id)s, %(status)s, %(question)s, %(detail)s)
ON CONFLICT (event_id) DO NOTHING
"""
COLUMNS = (
    "event_id, at, principal, action, collections, documents, request_id, status, question, detail"
)


def _values(event: AuditEvent) -> dict[str, Any]:
    return {**event_values(event), "at": event.at, "detail": Jsonb(dict(event.detail))}


def _event(row: tuple[Any, ...]) -> AuditEvent:
    detail = row[9] if isinstance(row[9], dict) else json.loads(row[9])
    return AuditEvent(
        row[0],
        row[1],
        row[2],
        row[3],
        tuple(row[4]),
        tuple(row[5]),
        row[6],
        row[7],
        row[8],
        detail,
    )


class PostgresAuditLog:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def append(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        async with self._pool.connection() as conn, conn.cursor() as cursor:
            await cursor.executemany(INSERT, [_values(e) for e in events])

    async def query(self, query: AuditQuery) -> list[AuditEvent]:
        conditions: list[sql.Composable] = []
        values: dict[str, Any] = {"limit": query.limit}
        for name, clause in (
            ("since", "at >= %(since)s"),
            ("until", "at < %(until)s"),
            ("principal", "principal = %(principal)s"),
            ("action", "action = %(action)s"),
            ("document_id", "documents @> ARRAY[%(document_id)s]::text[]"),
            ("after", "event_id > %(after)s"),
        ):
            value = getattr(query, name)
            if value is not None:
                conditions.append(sql.SQL(clause))
                values[name] = value
        where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
        statement = sql.SQL(
            "SELECT {columns} FROM rag_audit_events WHERE {where} ORDER BY event_id LIMIT %(limit)s"
        ).format(columns=sql.SQL(COLUMNS), where=where)
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(statement, values)).fetchall()
        return [_event(r) for r in rows]

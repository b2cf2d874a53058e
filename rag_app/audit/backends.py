"""The audit store ``Settings`` name: a table beside a PostgreSQL catalog; on Option 1 (no
database) the Object Lock bucket ``RAG_AUDIT_BUCKET``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rag_app.audit.events import AuditEvent, AuditQuery
from rag_app.audit.log import AuditLog
from rag_app.audit.objects import ObjectLockAuditLog
from rag_app.audit.postgres import PostgresAuditLog
from rag_app.aws.clients import AwsClients
from rag_app.settings import Settings

log = logging.getLogger(__name__)


class UnconfiguredAuditLog:
    """Option 1 without RAG_AUDIT_BUCKET: nowhere append-only to write, so events go to the
    log (at WARNING, with a warning at start) and queries find none. A deployment sets the
    bucket (the ECS stack does)."""

    async def append(self, events: Sequence[AuditEvent]) -> None:
        for e in events:
            log.warning(
                "audit event not stored: %s %s %s %s", e.at, e.principal, e.action, e.status
            )

    async def query(self, query: AuditQuery) -> list[AuditEvent]:
        return []


def build(settings: Settings, aws: AwsClients, *, pool: Any | None) -> AuditLog:
    if settings.catalog == "postgres":
        assert pool is not None  # settings.needs_postgres
        return PostgresAuditLog(pool)
    if settings.audit_bucket:
        return ObjectLockAuditLog(
            aws.client("s3"), bucket=settings.audit_bucket, prefix=settings.audit_prefix
        )
    log.warning("no audit store: set RAG_AUDIT_BUCKET (a bucket created with Object Lock)")
    return UnconfiguredAuditLog()

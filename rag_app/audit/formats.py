"""Audit events as JSON Lines or CSV, for ``GET /audit`` and ``rag-app audit export``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from rag_app.audit.events import AuditEvent

CSV_COLUMNS = (
    "event_id",
    "at",
    "principal",
    "action",
    "status",
    "collections",
    "documents",
    "request_id",
    "question",
    "detail",
)


def event_values(event: AuditEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "at": event.at.isoformat(),
        "principal": event.principal,
        "action": event.action,
        "status": event.status,
        "collections": list(event.collections),
        "documents": list(event.documents),
        "request_id": event.request_id,
        "question": event.question,
        "detail": dict(event.detail),
    }


def to_jsonl(events: Iterable[AuditEvent]) -> str:
    return "".join(json.dumps(event_values(e), ensure_ascii=False) + "\n" for e in events)


def _cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is quoted with a leading apostrophe.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(events: Iterable[AuditEvent], *, header: bool = True) -> str:
    """Lists joined with ``;``, detail as JSON; cells starting like a formula defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.event_id,
                e.at.isoformat(),
                _cell(e.principal),
                e.action,
                e.status,
                _cell(";".join(e.collections)),
                _cell(";".join(e.documents)),
                _cell(e.request_id),
                _cell(e.question or ""),
                json.dumps(dict(e.detail), ensure_ascii=False),
            ]
        )
    return out.getvalue()

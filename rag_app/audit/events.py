"""Audit events and queries over them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Detail = Mapping[str, str | int | float | bool | None]
QuestionPolicy = Literal["full", "hash", "none"]
STAMP_DIGITS = 20


def event_id(at: datetime) -> str:
    """Sorts by time (microseconds since the epoch), then 64 random bits."""
    return f"{int(at.timestamp() * 1_000_000):0{STAMP_DIGITS}d}-{secrets.token_hex(8)}"


def clean(text: str, limit: int = 100_000) -> str:
    """Text fit for any store: NUL (which PostgreSQL text refuses) replaced, length capped."""
    return text[:limit].replace("\x00", "\ufffd")


def recorded_question(question: str | None, policy: QuestionPolicy) -> str | None:
    """The question as the trail keeps it: as asked, as ``sha256:<hex>`` of its
    whitespace-normalised text (an auditor can check whether a given question was asked
    without the trail holding it), or not at all."""
    if question is None or policy == "none":
        return None
    if policy == "hash":
        normalised = " ".join(question.split())
        return "sha256:" + hashlib.sha256(normalised.encode()).hexdigest()
    return clean(question)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What one request did. ``documents``: the ids it returned, cited, read or changed;
    ``collections``: theirs (or the one written to); ``status``: the HTTP status it ended
    with (refusals are events too); ``detail``: the conversation, answer, rating, method
    and path where they apply."""

    event_id: str
    at: datetime
    principal: str  # "key:<id>", "sub:<subject>", "local", or "anonymous" (refused)
    action: str  # the endpoint's operation id, e.g. ask, uploadDocument, replaceDocument
    collections: tuple[str, ...]
    documents: tuple[str, ...]
    request_id: str
    status: int
    question: str | None = None
    detail: Detail = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Events with ``since <= at < until`` (either open), of that principal, action and
    document when given, oldest first, at most ``limit``, after the event ``after`` (its
    id: the cursor for the next page)."""

    since: datetime | None = None
    until: datetime | None = None
    principal: str | None = None
    action: str | None = None
    document_id: str | None = None
    after: str | None = None
    limit: int = 1000

    def matches(self, event: AuditEvent) -> bool:
        return (
            (self.since is None or event.at >= self.since)
            and (self.until is None or event.at < self.until)
            and (self.principal is None or event.principal == self.principal)
            and (self.action is None or event.action == self.action)
            and (self.document_id is None or self.document_id in event.documents)
            and (self.after is None or event.event_id > self.after)
        )

"""The audit trail on Option 1 (no database): JSON Lines objects in an S3 bucket created
with Object Lock.

Why S3 Object Lock rather than DynamoDB: IAM can refuse ``DeleteItem`` and ``UpdateItem``
but not an overwriting ``PutItem`` (no IAM condition can require a ``ConditionExpression``),
so a DynamoDB table writable by the app is editable by it. A bucket with Object Lock in
compliance mode keeps every object version until its retention ends, whoever asks, root
included; versioning (which Object Lock requires) keeps an overwritten key's earlier
version; and the app's IAM policy grants PutObject on the audit prefix but no delete,
retention, legal hold or bypass action. Each batch of events is one new object, written
with ``If-None-Match: *`` so an existing key is never replaced.

Layout: ``{prefix}{yyyy}/{mm}/{dd}/{first event id}-{digest of the ids}.jsonl``; a query
lists the days its time range covers (every day when it has none) and reads their objects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from botocore.exceptions import ClientError

from rag_app.audit.events import AuditEvent, AuditQuery
from rag_app.audit.formats import event_values
from rag_app.aws.calls import error_code

MAX_DAYS_LISTED = 3700  # a query's time range past ten years lists the whole prefix


def _line(event: AuditEvent) -> str:
    return json.dumps(event_values(event), separators=(",", ":"))


def _event(values: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        values["event_id"],
        datetime.fromisoformat(values["at"]),
        values["principal"],
        values["action"],
        tuple(values["collections"]),
        tuple(values["documents"]),
        values["request_id"],
        values["status"],
        values["question"],
        values["detail"],
    )


class ObjectLockAuditLog:
    def __init__(self, client: Any, *, bucket: str, prefix: str = "audit/") -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    def _day(self, moment: datetime) -> str:
        return f"{self._prefix}{moment.astimezone(UTC):%Y/%m/%d}/"

    async def append(self, events: Sequence[AuditEvent]) -> None:
        by_day: dict[str, list[AuditEvent]] = {}
        for event in events:
            by_day.setdefault(self._day(event.at), []).append(event)
        for day, batch in by_day.items():
            # Named by its content: a batch retried after a lost response finds its object.
            digest = hashlib.sha256("".join(e.event_id for e in batch).encode()).hexdigest()
            key = f"{day}{batch[0].event_id}-{digest[:16]}.jsonl"
            await anyio.to_thread.run_sync(self._put, key, batch)

    def _put(self, key: str, batch: list[AuditEvent]) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=("\n".join(_line(e) for e in batch) + "\n").encode(),
                ContentType="application/x-ndjson",
                IfNoneMatch="*",  # never replace an object: a key that exists is refused
                ChecksumAlgorithm="SHA256",  # Object Lock requires a checksum on PUT
            )
        except ClientError as e:
            if error_code(e) != "PreconditionFailed":
                raise
            # The same batch is already stored (an earlier attempt's response was lost).

    def _list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        ):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def _prefixes(self, query: AuditQuery) -> list[str]:
        if query.since is None or query.until is None:
            return [self._prefix]
        first, last = query.since.astimezone(UTC).date(), query.until.astimezone(UTC).date()
        days = (last - first).days + 1
        if days > MAX_DAYS_LISTED:
            return [self._prefix]
        return [
            self._day(datetime.combine(first + timedelta(d), datetime.min.time(), UTC))
            for d in range(days)
        ]

    def _read(self, query: AuditQuery) -> list[AuditEvent]:
        keys = sorted(k for p in self._prefixes(query) for k in self._list(p))
        found: list[AuditEvent] = []
        seen: set[str] = set()  # a batch retried with more events repeats the first ones
        for key in keys:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            for line in body.decode().splitlines():
                if line.strip():
                    event = _event(json.loads(line))
                    if event.event_id not in seen and query.matches(event):
                        seen.add(event.event_id)
                        found.append(event)
        found.sort(key=lambda e: e.event_id)
        return found[: query.limit]

    async def query(self, query: AuditQuery) -> list[AuditEvent]:
        return await anyio.to_thread.run_sync(self._read, query)

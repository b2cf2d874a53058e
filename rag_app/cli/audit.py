"""``audit export``: the audit trail as JSON Lines or CSV."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from rag_app.cli.running import console, load_settings, run
from rag_app.services import Services


@click.group()
def audit() -> None:
    """The audit trail: who asked what, who read or changed which document."""


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit.command("export")
@click.option("--since", default=None, help="ISO 8601 time (UTC when no zone), inclusive.")
@click.option("--until", default=None, help="ISO 8601 time (UTC when no zone), exclusive.")
@click.option("--principal", default=None, help="Only this caller (key:<id>, sub:<subject>).")
@click.option("--action", default=None, help="Only this action (e.g. ask, deleteDocument).")
@click.option("--document", "document_id", default=None, help="Only events naming it.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write here instead of standard output.",
)
def audit_export(
    since: str | None,
    until: str | None,
    principal: str | None,
    action: str | None,
    document_id: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Every matching audit event, oldest first, as JSON Lines or CSV (with feedback
    events: action giveFeedback, rating and comment in ``detail``)."""
    from rag_app.audit.events import AuditQuery
    from rag_app.audit.formats import to_csv, to_jsonl

    start, end = _when(since, "--since"), _when(until, "--until")

    async def action_(services: Services) -> int:
        sink = output.open("w", encoding="utf-8") if output else sys.stdout
        written, after = 0, None
        try:
            while True:
                page = await services.audit.store.query(
                    AuditQuery(
                        since=start,
                        until=end,
                        principal=principal,
                        action=action,
                        document_id=document_id,
                        after=after,
                        limit=5000,
                    )
                )
                if fmt == "csv":
                    sink.write(to_csv(page, header=written == 0 and after is None))
                else:
                    sink.write(to_jsonl(page))
                written += len(page)
                if len(page) < 5000:
                    return written
                after = page[-1].event_id
        finally:
            if output:
                sink.close()

    count = run(load_settings(), action_)
    console.print(f"{count} audit event(s) exported")

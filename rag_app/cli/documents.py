"""``ingest``, ``documents`` and ``jobs``: the document library from the shell, through the
same ``DocumentService`` (and so the same rules) as the API; the shell's caller is the
local operator, who may read and write every collection."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag_app.auth.principal import LOCAL_OPERATOR
from rag_app.catalog.base import DocumentPage
from rag_app.cli.running import console, load_settings, run
from rag_app.domain import Job, JobStatus
from rag_app.errors import RagError
from rag_app.ingest.files import FILE_TYPES
from rag_app.ingest.service import DEFAULT_COLLECTION, Upload
from rag_app.ingest.validation import parse_metadata
from rag_app.jobqueue.base import QueueDepth
from rag_app.services import Services

# What a folder is searched for: every kind of file the API accepts.
INGESTIBLE_SUFFIXES = frozenset(f".{t.extension}" for t in FILE_TYPES)


def _files(paths: tuple[Path, ...]) -> list[Path]:
    """The files named, and the ingestible files under the folders named (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.suffix.lower() in INGESTIBLE_SUFFIXES
                )
            )
        else:
            files.append(path)
    return files


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--collection", default=DEFAULT_COLLECTION, show_default=True)
@click.option("--title", default=None, help="The document's title (one file only).")
@click.option(
    "--metadata",
    default=None,
    metavar="JSON",
    help="A JSON object of filterable metadata, e.g. '{\"year\": 2020}'.",
)
def ingest(
    paths: tuple[Path, ...], collection: str, title: str | None, metadata: str | None
) -> None:
    """Ingest files (PDF; Word .docx; e-mail .eml and Outlook .msg, whose attachments
    become documents of their own; MP4, MOV, M4A, MP3, WAV; WebVTT or SubRip
    transcripts), or every such file under the given folders. The file's type is told by
    its content.

    Jobs go through the job queue: this process runs RAG_INGEST_WORKERS of them at once
    beside any `rag-app worker` (0: the workers alone), and waits until each has ended."""
    files = _files(paths)
    if not files:
        raise click.ClickException(
            "no files to ingest (PDF, Word, e-mail, audio, video or transcripts)"
        )
    if title is not None and len(files) > 1:
        raise click.UsageError(f"--title names one document; {len(files)} files were given")
    try:
        fields = parse_metadata(metadata)
    except RagError as e:
        raise click.BadParameter(str(e), param_hint="--metadata") from None

    async def action(services: Services) -> list[tuple[Path, str, str]]:
        results: list[tuple[Path, str, str]] = []
        waiting: dict[str, tuple[Path, str]] = {}
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("queueing", total=len(files))
            for file in files:
                progress.update(task, description=file.name[:40])
                upload = Upload(
                    filename=file.name,
                    data=file.read_bytes(),
                    title=title,
                    collection=collection,
                    metadata=fields,
                )
                try:
                    submission = await services.documents.submit(LOCAL_OPERATOR, upload)
                except RagError as e:
                    results.append((file, "rejected", str(e)))
                    progress.advance(task)
                    continue
                if submission.duplicate:
                    results.append((file, "unchanged", submission.document_id))
                    progress.advance(task)
                else:
                    waiting[submission.job_id] = (file, submission.document_id)
            progress.update(task, description="ingesting")
            while waiting:
                for job_id, (file, document_id) in list(waiting.items()):
                    job = await services.catalog.get_job(job_id)
                    if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                        ok = job is not None and job.status is JobStatus.SUCCEEDED
                        detail = document_id if ok else (job and job.error) or "deleted"
                        results.append((file, "ingested" if ok else "failed", detail))
                        del waiting[job_id]
                        progress.advance(task)
                if waiting:
                    await asyncio.sleep(0.2)
        return results

    results = run(load_settings(), action, run_jobs=True)
    for file, outcome, detail in results:
        click.echo(f"{outcome:9} {file}  {detail}")
    if any(outcome in ("failed", "rejected") for _, outcome, _ in results):
        sys.exit(1)


@click.group()
def documents() -> None:
    """The indexed documents: list, delete."""


@documents.command("list")
@click.option("--collection", default=None, help="Only this collection.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0, 1_000_000_000), default=0, show_default=True)
def documents_list(collection: str | None, limit: int, offset: int) -> None:
    """Documents, oldest first: id, status, collection, pages, chunks and title."""

    async def action(services: Services) -> DocumentPage:
        return await services.documents.list(
            LOCAL_OPERATOR, collection=collection, limit=limit, offset=offset
        )

    page = run(load_settings(), action)
    for d in page.items:
        click.echo(
            f"{d.document_id}  {d.status.value:10} {d.collection:12} "
            f"{d.pages:5} p {d.chunks:6} ch  {d.title}"
        )
    shown = f"{offset + 1}-{offset + len(page.items)}" if page.items else "none"
    click.echo(f"{shown} of {page.total} document(s)", err=True)


@documents.command("delete")
@click.argument("document_id")
def documents_delete(document_id: str) -> None:
    """Delete a document, its chunks and its file; no search returns it afterwards."""

    async def action(services: Services) -> None:
        await services.documents.delete(LOCAL_OPERATOR, document_id)

    run(load_settings(), action)
    click.echo(f"deleted {document_id}")


@click.group()
def jobs() -> None:
    """Ingestion jobs: list them (with the queue's depth), show one, retry a failed one,
    cancel a queued one."""


def _job_line(job: Job) -> str:
    return (
        f"{job.job_id}  {job.status.value:9} {job.stage.value:11} "
        f"{job.collection:12} {job.filename}"
    )


@jobs.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in JobStatus]),
    default=None,
    help="Jobs in this state, newest first (default: the unfinished ones, oldest first).",
)
@click.option("--collection", default=None, help="Only this collection (with --status).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def jobs_list(status: str | None, collection: str | None, limit: int) -> None:
    """Jobs still queued or running (or in ``--status``), with any error; then the job
    queue's depth."""

    async def action(services: Services) -> tuple[list[Job], QueueDepth]:
        if status is None and collection is None:
            found = await services.documents.unfinished_jobs(LOCAL_OPERATOR)
        else:
            found = await services.documents.jobs(
                LOCAL_OPERATOR,
                status=None if status is None else JobStatus(status),
                collection=collection,
                limit=limit,
            )
        return found, await services.queue.depth()

    found, depth = run(load_settings(), action)
    for job in found:
        click.echo(_job_line(job) + (f"  {job.error}" if job.error else ""))
    what = "unfinished" if status is None and collection is None else "listed"
    click.echo(f"{len(found)} {what} job(s)", err=True)
    oldest = (
        "" if depth.oldest_age_seconds is None else f", oldest {depth.oldest_age_seconds:.0f} s"
    )
    click.echo(
        f"queue: {depth.waiting} waiting, {depth.running} running, {depth.dead} dead{oldest}",
        err=True,
    )


@jobs.command("retry")
@click.argument("job_id")
def jobs_retry(job_id: str) -> None:
    """Queue a failed job again (its document's latest upload)."""
    job = run(load_settings(), lambda services: services.ingestion.retry(job_id))
    click.echo(f"queued {job.job_id} again (document {job.document_id})")


@jobs.command("cancel")
@click.argument("job_id")
def jobs_cancel(job_id: str) -> None:
    """Mark a queued job failed ("cancelled"): no worker runs it. A running job is not
    stopped (delete its document instead)."""

    async def action(services: Services) -> None:
        job = await services.documents.job(LOCAL_OPERATOR, job_id)
        if job.status is not JobStatus.QUEUED:
            raise click.ClickException(
                f"job {job_id} is {job.status.value}; only a queued job can be cancelled"
            )
        await services.ingestion.abandon(job_id, "cancelled by an operator")

    run(load_settings(), action)
    click.echo(f"cancelled {job_id}")


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    """One job: status, stage, document, file, times and the error if it failed."""

    async def action(services: Services) -> Job:
        return await services.documents.job(LOCAL_OPERATOR, job_id)

    job = run(load_settings(), action)
    for name, value in (
        ("job", job.job_id),
        ("status", job.status.value),
        ("stage", job.stage.value),
        ("document", job.document_id),
        ("collection", job.collection),
        ("file", f"{job.filename} ({job.media_type}, {job.size_bytes} bytes)"),
        ("created", job.created_at.isoformat()),
        ("updated", job.updated_at.isoformat()),
        ("error", job.error or "-"),
    ):
        click.echo(f"{name:10} {value}")

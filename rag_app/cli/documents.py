"""``ingest``, ``documents`` and ``jobs``: the document library from the shell, through the
same ``DocumentService`` (and so the same rules) as the API; the shell's caller is the
local operator, who may read and write every collection."""

from __future__ import annotations

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
    """Ingest files (PDF; MP4, MOV, M4A, MP3, WAV; WebVTT or SubRip transcripts), or every
    such file under the given folders. The file's type is told by its content."""
    files = _files(paths)
    if not files:
        raise click.ClickException("no files to ingest (PDF, audio, video or transcripts)")
    if title is not None and len(files) > 1:
        raise click.UsageError(f"--title names one document; {len(files)} files were given")
    try:
        fields = parse_metadata(metadata)
    except RagError as e:
        raise click.BadParameter(str(e), param_hint="--metadata") from None

    async def action(services: Services) -> list[tuple[Path, str, str]]:
        results: list[tuple[Path, str, str]] = []
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("ingesting", total=len(files))
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
                    if submission.duplicate:
                        results.append((file, "unchanged", submission.document_id))
                    else:
                        await services.ingestion.run_job(submission.job_id)
                        job = await services.documents.job(LOCAL_OPERATOR, submission.job_id)
                        ok = job.status is JobStatus.SUCCEEDED
                        detail = submission.document_id if ok else job.error or "?"
                        results.append((file, "ingested" if ok else "failed", detail))
                except RagError as e:
                    results.append((file, "rejected", str(e)))
                progress.advance(task)
        return results

    results = run(load_settings(), action)
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
    """Ingestion jobs: list the unfinished ones, show one."""


def _job_line(job: Job) -> str:
    return (
        f"{job.job_id}  {job.status.value:9} {job.stage.value:11} "
        f"{job.collection:12} {job.filename}"
    )


@jobs.command("list")
def jobs_list() -> None:
    """Jobs still queued or running, oldest first."""

    async def action(services: Services) -> list[Job]:
        return await services.documents.unfinished_jobs(LOCAL_OPERATOR)

    found = run(load_settings(), action)
    for job in found:
        click.echo(_job_line(job))
    click.echo(f"{len(found)} unfinished job(s)", err=True)


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

"""``rag-app``: serve the API, or ingest and query from the shell through the same services."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag_app.auth.api_keys import KeyStore, new_key
from rag_app.domain import Answer, Hit, Job, JobStatus, SearchMode
from rag_app.errors import RagError
from rag_app.evaluation.metrics import CUTOFF
from rag_app.ingest.service import Upload
from rag_app.ingest.validation import check_collection
from rag_app.jobqueue.base import QueueDepth
from rag_app.migration.mapping import Mapping
from rag_app.postgres.index_build import BuildPlan
from rag_app.postgres.pool import UNAVAILABLE
from rag_app.services import Services, build_key_store, open_services
from rag_app.settings import Settings
from rag_app.vectorstores.base import MAX_TOP_K
from rag_app.vectorstores.pgvector import PgVectorStore

T = TypeVar("T")
console = Console(stderr=True)


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        raise click.ClickException(f"invalid settings:\n{e}") from None


def _run(
    settings: Settings, action: Callable[[Services], Awaitable[T]], *, run_jobs: bool = False
) -> T:
    async def main() -> T:
        async with open_services(settings, run_jobs=run_jobs) as services:
            return await action(services)

    try:
        return asyncio.run(main())
    except RagError as e:
        raise click.ClickException(str(e)) from None
    except UNAVAILABLE as e:
        raise click.ClickException(f"the database is unavailable: {e}") from None


def _parse_filters(pairs: tuple[str, ...]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--filter")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if not isinstance(value, str | int | float | bool):
            value = raw
        filters[key] = value
    return filters


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def main(verbose: bool) -> None:
    """A RAG service for legal documents. Settings come from RAG_* environment variables."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the REST API (OpenAPI at /schema)."""
    import uvicorn

    from rag_app.api import create_app

    settings = _settings(host=host, port=port)
    logging.getLogger().setLevel(logging.INFO)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 8),
    default=None,
    help="Jobs at once (default RAG_INGEST_CONCURRENCY).",
)
def worker(concurrency: int | None) -> None:
    """Run ingestion jobs from the job queue (RAG_QUEUE) until SIGTERM or Ctrl-C.

    On SIGTERM it takes no new job, lets running ones finish within
    RAG_WORKER_SHUTDOWN_SECONDS, then stops them and hands them back to the queue.
    Metrics are CloudWatch embedded-metric JSON lines on stdout.
    """
    settings = _settings()
    logging.getLogger().setLevel(logging.INFO)
    workers = concurrency or settings.ingest_concurrency

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop.set)
        async with open_services(settings, workers=workers):
            console.print(f"worker: {workers} job(s) at a time from the {settings.queue} queue")
            await stop.wait()
            console.print("worker: stopping (finishing or handing back running jobs)")

    try:
        asyncio.run(run())
    except RagError as e:
        raise click.ClickException(str(e)) from None
    except UNAVAILABLE as e:
        raise click.ClickException(f"the database is unavailable: {e}") from None


@main.group()
def jobs() -> None:
    """Ingestion jobs: list them (with the queue's depth), retry a failed one, cancel a
    queued one."""


JOB_STATUSES = click.Choice([s.value for s in JobStatus])


@jobs.command("list")
@click.option("--status", type=JOB_STATUSES, default=None, help="Only jobs in this state.")
@click.option("--collection", default=None, help="Only jobs of this collection.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def jobs_list(status: str | None, collection: str | None, limit: int) -> None:
    """Newest first: id, status, stage, document, age and (for failures) why; then the
    queue's depth."""

    async def action(services: Services) -> tuple[list[Job], QueueDepth]:
        wanted = None if collection is None else frozenset({check_collection(collection)})
        found = await services.catalog.list_jobs(
            status=None if status is None else JobStatus(status), collections=wanted, limit=limit
        )
        return found, await services.queue.depth()

    found, depth = _run(_settings(), action)
    now = datetime.now(UTC)
    for job in found:
        age = (now - job.created_at).total_seconds()
        error = f"  {job.error}" if job.error else ""
        click.echo(
            f"{job.job_id}  {job.status.value:9} {job.stage.value:11} {job.document_id}"
            f"  {job.collection}  {age:8.0f} s{error}"
        )
    oldest = (
        "" if depth.oldest_age_seconds is None else f", oldest {depth.oldest_age_seconds:.0f} s"
    )
    console.print(
        f"queue: {depth.waiting} waiting, {depth.running} running, {depth.dead} dead{oldest}"
    )


@jobs.command("retry")
@click.argument("job_id")
def jobs_retry(job_id: str) -> None:
    """Queue a failed job again (its document's latest upload)."""
    job = _run(_settings(), lambda services: services.ingestion.retry(job_id))
    click.echo(f"queued {job.job_id} again (document {job.document_id})")


@jobs.command("cancel")
@click.argument("job_id")
def jobs_cancel(job_id: str) -> None:
    """Mark a queued job failed ("cancelled"): no worker runs it. A running job is not
    stopped (delete its document instead)."""

    async def action(services: Services) -> None:
        job = await services.catalog.get_job(job_id)
        if job is None:
            raise click.ClickException(f"no job {job_id!r}")
        if job.status is not JobStatus.QUEUED:
            raise click.ClickException(
                f"job {job_id} is {job.status.value}; only a queued job can be cancelled"
            )
        await services.ingestion.abandon(job_id, "cancelled by an operator")

    _run(_settings(), action)
    click.echo(f"cancelled {job_id}")


@main.group()
def keys() -> None:
    """API keys (RAG_API_KEYS_FILE or RAG_API_KEYS_SECRET_ID): create, list, revoke."""


def _key_store() -> KeyStore:
    try:
        return build_key_store(_settings())
    except RagError as e:
        raise click.ClickException(str(e)) from None


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--read", "read", multiple=True, metavar="COLLECTION", help="Repeatable; '*': all.")
@click.option("--write", "write", multiple=True, metavar="COLLECTION", help="Repeatable.")
def keys_create(name: str, read: tuple[str, ...], write: tuple[str, ...]) -> None:
    """Create a key and print it: it is shown once and stored only as a hash."""
    store = _key_store()

    async def create() -> str:
        key, record = new_key(name, read=list(read), write=list(write))
        await store.save([*(await store.load()), record])
        return key

    try:
        key = asyncio.run(create())
    except RagError as e:
        raise click.ClickException(str(e)) from None
    click.echo(key)


@keys.command("list")
def keys_list() -> None:
    """Every key's id, name, collections and creation time (never the key)."""
    for r in asyncio.run(_key_store().load()):
        click.echo(
            f"{r.id}  {r.name}  read={','.join(r.read)}  write={','.join(r.write)}  {r.created}"
        )


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Remove a key; a running service refuses it within RAG_API_KEYS_REFRESH_SECONDS."""
    store = _key_store()

    async def revoke() -> bool:
        records = await store.load()
        kept = [r for r in records if r.id != key_id]
        if len(kept) == len(records):
            return False
        await store.save(kept)
        return True

    if not asyncio.run(revoke()):
        raise click.ClickException(f"no key {key_id!r}")
    click.echo(f"revoked {key_id}")


@main.command("init-db")
def init_db() -> None:
    """Create the pgvector extension, the catalog schema and the vector table, then exit.

    Idempotent, and what every start of the service does anyway; a deployment can run it
    once before the pods start (the Helm chart's optional migration Job).
    """

    async def action(services: Services) -> int:
        await services.store.check()
        return await services.store.count({})

    chunks = _run(_settings(), action)
    click.echo(f"database ready ({chunks} chunks indexed)")


@main.command()
def reindex() -> None:
    """Rebuild the pgvector HNSW index online, after a bulk load or many deletes.

    maintenance_work_mem is sized to the graph (up to RAG_INDEX_BUILD_MEMORY_MB) and the
    build uses RAG_INDEX_BUILD_WORKERS parallel workers where pgvector is 0.8.2 or later.
    """
    settings = _settings()

    async def action(services: Services) -> tuple[BuildPlan, float]:
        if not isinstance(services.store, PgVectorStore):
            raise click.UsageError("only pgvector has an index to rebuild (RAG_VECTOR_STORE)")
        started = time.perf_counter()
        plan = await services.store.reindex(
            max_memory_mb=settings.index_build_memory_mb, workers=settings.index_build_workers
        )
        return plan, time.perf_counter() - started

    plan, seconds = _run(settings, action)
    click.echo(
        f"index rebuilt in {seconds:.1f} s with maintenance_work_mem {plan.memory_mb} MB, "
        f"{plan.workers} parallel worker(s) ({plan.note})"
    )


@main.command("s3vectors-local")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9400, show_default=True)
def s3vectors_local(host: str, port: int) -> None:
    """Run the local S3 Vectors server (a test double; data lives in memory).

    Point the service at it with RAG_VECTOR_STORE=s3vectors and
    AWS_ENDPOINT_URL_S3VECTORS=http://HOST:PORT (any credentials and region).
    """
    from rag_app.s3vectors_local import LocalS3Vectors

    server = LocalS3Vectors(host=host, port=port)
    click.echo(f"local S3 Vectors on {server.endpoint_url} (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


def _pdfs(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf"))
        else:
            files.append(path)
    return files


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--collection", default="default", show_default=True)
def ingest(paths: tuple[Path, ...], collection: str) -> None:
    """Ingest PDF files, or every PDF under the given folders, through the job queue.

    This process runs RAG_INGEST_WORKERS jobs at once beside any `rag-app worker`
    (RAG_INGEST_WORKERS=0: the workers alone), and waits until every job has ended.
    """
    files = _pdfs(paths)
    if not files:
        raise click.ClickException("no PDF files found")

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
                try:
                    submission = await services.ingestion.submit(
                        Upload(filename=file.name, data=file.read_bytes(), collection=collection)
                    )
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

    results = _run(_settings(), action, run_jobs=True)
    for file, outcome, detail in results:
        click.echo(f"{outcome:9} {file}  {detail}")
    if any(outcome in ("failed", "rejected") for _, outcome, _ in results):
        sys.exit(1)


top_k_option = click.option("--top-k", type=int, default=5, show_default=True)
filter_option = click.option(
    "--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Equality filter; repeatable."
)


@main.command()
@click.argument("query")
@top_k_option
@filter_option
def search(query: str, top_k: int, filters: tuple[str, ...]) -> None:
    """Print the passages closest to QUERY."""

    async def action(services: Services) -> list[Hit]:
        return await services.queries.search(query, top_k=top_k, filters=_parse_filters(filters))

    for rank, hit in enumerate(_run(_settings(), action), 1):
        text = " ".join(hit.chunk.text.split())
        click.echo(f"{rank}. [{hit.score:.3f}] {hit.chunk.title}, page {hit.chunk.page}")
        click.echo(f"   {text[:300]}")


@main.command()
@click.argument("question")
@top_k_option
@filter_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def ask(question: str, top_k: int, filters: tuple[str, ...], as_json: bool) -> None:
    """Answer QUESTION from the indexed documents, with page citations."""

    async def action(services: Services) -> Answer:
        return await services.queries.ask(question, top_k=top_k, filters=_parse_filters(filters))

    answer = _run(_settings(), action)
    if as_json:
        import msgspec

        from rag_app.api.schemas import AskOut

        click.echo(msgspec.json.encode(AskOut.of(answer)).decode())
        return
    click.echo(answer.text)
    for n, c in enumerate(answer.citations, 1):
        click.echo(f'  [{n}] {c.title}, page {c.page}: "{" ".join(c.quote.split())}"')
    if not answer.grounded:
        sys.exit(2)


@main.command("eval")
@click.option(
    "--questions",
    "questions_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSONL: {"question": "...", "document": "<id, title or filename>", "page": N, '
    '"span": "..."} (page and span optional).',
)
@click.option(
    "--mode",
    type=click.Choice([*(m.value for m in SearchMode), "all"]),
    default="all",
    show_default=True,
    help="The search mode to score, or all three.",
)
@click.option("--top-k", type=click.IntRange(1, MAX_TOP_K), default=CUTOFF, show_default=True)
@click.option("--show-misses", is_flag=True, help="List the questions not answered in the top 10.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write the figures (and every question's rank) to this file.",
)
def eval_command(
    questions_path: Path, mode: str, top_k: int, show_misses: bool, json_path: Path | None
) -> None:
    """Score retrieval on known-item questions: hit@1, hit@5, MRR@10 and nDCG@10 per
    search mode, against the configured store."""
    from rag_app.evaluation.harness import Evaluation, evaluate
    from rag_app.evaluation.questions import load_questions

    try:
        questions = load_questions(questions_path)
    except RagError as e:
        raise click.ClickException(str(e)) from None
    modes = list(SearchMode) if mode == "all" else [SearchMode(mode)]
    settings = _settings()

    async def action(services: Services) -> Evaluation:
        return await evaluate(
            services.queries, services.catalog, questions, modes=modes, top_k=top_k
        )

    result = _run(settings, action)
    click.echo(f"{len(questions)} questions, top {top_k}, store {settings.vector_store}")
    for line in result.table():
        click.echo(line)
    if show_misses:
        for line in result.miss_lines():
            click.echo(line)
    if json_path is not None:
        figures = {"store": settings.vector_store, **result.figures()}
        json_path.write_text(json.dumps(figures, indent=2) + "\n")


@main.command()
@click.option(
    "--inputs",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML file of inputs (sections corpus, indexing, usage, network, ecs, eks, "
    "operations); unset keys keep their defaults, the seed's scenario.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="One input, e.g. corpus.documents=5000 or usage.answer_model=amazon.nova-pro-v1:0; "
    "repeatable, applied after --inputs.",
)
@click.option("--region", default=None, help="An AWS region the price table has.")
@click.option(
    "--prices",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Another price table (default: rag_app/cost/prices.toml).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
)
def cost(
    inputs: Path | None,
    overrides: tuple[str, ...],
    region: str | None,
    prices: Path | None,
    fmt: str,
) -> None:
    """Estimate each option's AWS bill: line items per month, the one-off ingestion, and
    the assumptions, from a dated price table with a source for every price."""
    from rag_app import cost as costs

    try:
        scenario = costs.load_scenario(
            inputs, [*overrides, *([f"region={region}"] if region else [])]
        )
        table = costs.load_prices(prices) if prices else costs.load_prices()
        estimates = costs.estimate(scenario, table)
    except RagError as e:
        raise click.ClickException(str(e)) from None
    render = costs.markdown if fmt == "markdown" else costs.as_json
    click.echo(render(estimates, table, scenario))


@main.group()
def migrate() -> None:
    """Move a corpus in: from an existing pgvector app, or between the two vector stores."""


def _migrate(coroutine: Coroutine[Any, Any, list[str]]) -> None:
    try:
        lines = asyncio.run(coroutine)
    except RagError as e:
        raise click.ClickException(str(e)) from None
    for line in lines:
        click.echo(line)


def source_url_option(command: Callable[..., None]) -> Callable[..., None]:
    """``--source-url`` (or MIGRATE_SOURCE_URL), or ``--source-url-file`` (or
    MIGRATE_SOURCE_URL_FILE: a mounted secret, kept out of the environment), as the
    command's ``source_url``."""

    @functools.wraps(command)
    def with_source(*args: Any, source_url_file: Path | None, **kwargs: Any) -> None:
        if kwargs.get("source_url") is None:
            if source_url_file is None:
                raise click.UsageError("give the source with --source-url or --source-url-file")
            kwargs["source_url"] = source_url_file.read_text().strip()
        command(*args, **kwargs)

    with_source = click.option(
        "--source-url-file",
        envvar="MIGRATE_SOURCE_URL_FILE",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="A file holding the source URL (or MIGRATE_SOURCE_URL_FILE).",
    )(with_source)
    return click.option(
        "--source-url",
        envvar="MIGRATE_SOURCE_URL",
        default=None,
        help="PostgreSQL URL of the source (or MIGRATE_SOURCE_URL, which keeps the password "
        "out of the process list). Opened read-only.",
    )(with_source)


def mapping_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option(
        "--mapping-text",
        envvar="MIGRATE_MAPPING",
        default=None,
        help="The mapping's TOML itself, instead of a file (or MIGRATE_MAPPING: for a "
        "one-off container task with no file to mount).",
    )(command)
    return click.option(
        "--mapping",
        "mapping_path",
        default=None,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="TOML file naming the source table and columns (see the README).",
    )(command)


def _mapping(path: Path | None, text: str | None) -> Mapping:
    from rag_app.migration.mapping import load_mapping, parse_mapping

    if (path is None) == (text is None):
        raise click.UsageError("give the mapping with --mapping FILE or --mapping-text TOML")
    try:
        return load_mapping(path) if path else parse_mapping(str(text), "MIGRATE_MAPPING")
    except RagError as e:
        raise click.ClickException(str(e)) from None


@migrate.command("from-postgres")
@source_url_option
@mapping_options
@click.option("--batch-size", type=click.IntRange(1, 5000), default=256, show_default=True)
@click.option(
    "--max-chars",
    type=click.IntRange(1, 50_000),
    default=None,
    help="Refuse longer texts (default RAG_CHUNK_SIZE, what the embedder is sized for).",
)
@click.option("--dry-run", is_flag=True, help="Count, estimate and list rejects; write nothing.")
@click.option("--restart", is_flag=True, help="Ignore a saved checkpoint and start over.")
def from_postgres(
    source_url: str,
    mapping_path: Path | None,
    mapping_text: str | None,
    batch_size: int,
    max_chars: int | None,
    dry_run: bool,
    restart: bool,
) -> None:
    """Re-embed the chunks of a PostgreSQL table into the configured store and catalog.

    Resumable: run it again after a failure and it continues from its checkpoint.
    """
    from rag_app.migration.commands import run_from_postgres

    _migrate(
        run_from_postgres(
            _settings(),
            source_url=source_url,
            mapping=_mapping(mapping_path, mapping_text),
            batch_size=batch_size,
            max_chars=max_chars,
            dry=dry_run,
            restart=restart,
            console=console,
        )
    )


@migrate.command()
@source_url_option
@mapping_options
@click.option(
    "--questions",
    "questions_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSONL: {"question": "...", "document": "<source document id>", "page": N}.',
)
def verify(
    source_url: str, mapping_path: Path | None, mapping_text: str | None, questions_path: Path
) -> None:
    """Ask the same questions of the source (keyword search) and the target; print
    hit@1 and hit@5 for each, before traffic moves."""
    from rag_app.migration.commands import run_verify

    _migrate(
        run_verify(
            _settings(),
            source_url=source_url,
            mapping=_mapping(mapping_path, mapping_text),
            questions_path=questions_path,
        )
    )


@migrate.command()
@click.option(
    "--from",
    "from_store",
    type=click.Choice(["pgvector", "s3vectors"]),
    required=True,
    help="The store to copy from; the target is the configured one (RAG_VECTOR_STORE).",
)
@click.option(
    "--from-database-url",
    envvar="MIGRATE_FROM_DATABASE_URL",
    default=None,
    help="pgvector source database (default RAG_DATABASE_URL; or MIGRATE_FROM_DATABASE_URL).",
)
@click.option("--from-bucket", default=None, help="S3 Vectors source bucket (default: ours).")
@click.option("--from-model", default=None, help="Model of the source's vectors (default: ours).")
@click.option("--from-dimension", type=int, default=None, help="Their dimension (default: ours).")
@click.option("--restart", is_flag=True, help="Ignore a saved checkpoint and start over.")
def copy(
    from_store: Literal["pgvector", "s3vectors"],
    from_database_url: str | None,
    from_bucket: str | None,
    from_model: str | None,
    from_dimension: int | None,
    restart: bool,
) -> None:
    """Copy chunks and vectors between pgvector and S3 Vectors, without re-embedding.

    Refused when the source's model or dimension differs from the configured embedder's.
    Resumable; the chunk counts of both stores are compared at the end.
    """
    from rag_app.migration.commands import run_copy

    _migrate(
        run_copy(
            _settings(),
            from_store=from_store,
            from_database_url=from_database_url,
            from_bucket=from_bucket,
            from_model=from_model,
            from_dimension=from_dimension,
            restart=restart,
            console=console,
        )
    )

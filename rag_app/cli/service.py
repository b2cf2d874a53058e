"""``serve``, ``worker``, ``init-db`` and ``reindex``: running the service and its ingestion
workers, and looking after its database."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

import click

from rag_app.audit.postgres import SCHEMA as AUDIT_SCHEMA
from rag_app.cli.running import console, load_settings, run
from rag_app.errors import RagError
from rag_app.postgres.app_role import AppRole, ensure_app_role
from rag_app.postgres.index_build import BuildPlan
from rag_app.postgres.pool import UNAVAILABLE
from rag_app.services import Services, open_services
from rag_app.vectorstores.pgvector import PgVectorStore


@click.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the REST API (OpenAPI at /schema)."""
    import uvicorn

    from rag_app.api import create_app

    settings = load_settings(host=host, port=port)
    logging.getLogger().setLevel(logging.INFO)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@click.command()
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
    settings = load_settings()
    logging.getLogger().setLevel(logging.INFO)
    workers = concurrency or settings.ingest_concurrency

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop.set)
        async with open_services(settings, workers=workers):
            console.print(f"worker: {workers} job(s) at a time from the {settings.queue} queue")
            await stop.wait()
            console.print("worker: stopping (finishing or handing back running jobs)")

    try:
        asyncio.run(work())
    except RagError as e:
        raise click.ClickException(str(e)) from None
    except UNAVAILABLE as e:
        raise click.ClickException(f"the database is unavailable: {e}") from None


@click.command("init-db")
@click.option(
    "--app-role/--no-app-role",
    default=True,
    show_default=True,
    help="Create (or renew the grants of) the application's role, RAG_DATABASE_USER.",
)
@click.option(
    "--app-password-env",
    metavar="VARIABLE",
    default=None,
    help="Environment variable holding the app role's password (omit with --iam).",
)
@click.option("--iam", is_flag=True, help="GRANT rds_iam: the app logs in with IAM tokens.")
def init_db(app_role: bool, app_password_env: str | None, iam: bool) -> None:
    """Create the pgvector extension, the schema (catalog, conversations, audit trail) and
    the vector table, then the application's least-privilege role, and exit.

    Run it with the owner's (master user's) credentials, before the service starts and
    after every upgrade (the Helm chart's optional migration Job). The app role gets DML on
    the service's tables and only INSERT and SELECT on the audit table; point the service
    at it (RAG_DATABASE_URL, or IAM auth). Idempotent.
    """
    settings = load_settings()
    password = None
    if app_password_env is not None:
        password = os.environ.get(app_password_env)
        if not password:
            raise click.UsageError(f"{app_password_env} is not set or empty")

    async def action(services: Services) -> tuple[int, AppRole | None]:
        await services.store.check()
        chunks = await services.store.count({})
        if not app_role or services.pool is None:
            return chunks, None
        async with services.pool.connection() as conn:
            await conn.execute(AUDIT_SCHEMA)  # as the owner: the triggers and indexes too
            role = await ensure_app_role(
                conn, name=settings.database_user, password=password, iam=iam
            )
        return chunks, role

    chunks, role = run(settings, action)
    click.echo(f"database ready ({chunks} chunks indexed)")
    if role is not None:
        click.echo(
            f"role {role.name} {'created' if role.created else 'updated'}: DML on "
            f"{role.tables} tables, INSERT and SELECT only on the audit trail"
            + (", rds_iam granted" if iam else "")
        )


@click.command()
def reindex() -> None:
    """Rebuild the pgvector HNSW index online, after a bulk load or many deletes.

    maintenance_work_mem is sized to the graph (up to RAG_INDEX_BUILD_MEMORY_MB) and the
    build uses RAG_INDEX_BUILD_WORKERS parallel workers where pgvector is 0.8.2 or later.
    """
    settings = load_settings()

    async def action(services: Services) -> tuple[BuildPlan, float]:
        if not isinstance(services.store, PgVectorStore):
            raise click.UsageError("only pgvector has an index to rebuild (RAG_VECTOR_STORE)")
        started = time.perf_counter()
        plan = await services.store.reindex(
            max_memory_mb=settings.index_build_memory_mb, workers=settings.index_build_workers
        )
        return plan, time.perf_counter() - started

    plan, seconds = run(settings, action)
    click.echo(
        f"index rebuilt in {seconds:.1f} s with maintenance_work_mem {plan.memory_mb} MB, "
        f"{plan.workers} parallel worker(s) ({plan.note})"
    )

"""``serve``, ``init-db`` and ``reindex``: running the service and looking after its database."""

from __future__ import annotations

import logging
import time

import click

from rag_app.cli.running import load_settings, run
from rag_app.postgres.index_build import BuildPlan
from rag_app.services import Services
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


@click.command("init-db")
def init_db() -> None:
    """Create the pgvector extension, the catalog schema and the vector table, then exit.

    Idempotent, and what every start of the service does anyway; a deployment can run it
    once before the pods start (the Helm chart's optional migration Job).
    """

    async def action(services: Services) -> int:
        await services.store.check()
        return await services.store.count({})

    chunks = run(load_settings(), action)
    click.echo(f"database ready ({chunks} chunks indexed)")


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

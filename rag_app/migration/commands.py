"""The ``rag-app migrate`` commands as async functions over ``Settings``: they open the
source and the target, run the migration with a progress bar and return report lines."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr
from rich.console import Console

from rag_app.errors import ConfigurationError, RagError
from rag_app.evaluation.questions import load_questions
from rag_app.migration.checkpoint import Checkpoint, CheckpointStore, run_name
from rag_app.migration.copy import Space, check_same_space, copy_store
from rag_app.migration.known_schemas import MappingSource, known_mapping
from rag_app.migration.mapping import Mapping
from rag_app.migration.progress import progress_bar
from rag_app.migration.report import dry_run_lines, estimate
from rag_app.migration.runner import Options, Target, dry_run, from_postgres
from rag_app.migration.source import open_source
from rag_app.migration.verify import verify
from rag_app.services import open_services, open_vector_store
from rag_app.settings import Settings
from rag_app.vectorstores.base import index_name

log = logging.getLogger(__name__)


def stopped(error: Exception, run: str) -> RagError:
    """What to tell the operator when a run stops: the cause, and that it can continue."""
    log.debug("migration %s stopped", run, exc_info=error)
    return RagError(
        f"the migration stopped: {type(error).__name__}: {error}\n"
        f"Everything up to the last checkpoint is saved ({run}); run the same command "
        "again to continue from there."
    )


def source_identity(url: str, table: str) -> str:
    """host:port/dbname/table, never the credentials."""
    info = conninfo_to_dict(url)
    host = info.get("host") or "localhost"
    where = f"{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"
    return f"{where}/{table}" if table else where


def target_identity(settings: Settings, model_id: str, dimension: int) -> str:
    """Which index of which store: the bucket, or the database (never its credentials)."""
    if settings.vector_store == "s3vectors":
        where = f"s3vectors:{settings.s3vectors_bucket}"
    elif settings.database_url is None:
        where = f"pgvector:embedded:{settings.data_dir}"
    else:
        where = "pgvector:" + source_identity(settings.database_url.get_secret_value(), "")
    return f"{where}/{index_name(model_id, dimension)}"


def embedder_model_id(settings: Settings) -> str:
    if settings.embedder == "bedrock":
        return settings.bedrock_embedding_model_id
    from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder

    return MiniLmOnnxEmbedder.model_id


async def resolve_mapping(source_url: str, mapping: MappingSource) -> Mapping:
    if isinstance(mapping, Mapping):
        return mapping
    return await known_mapping(source_url, mapping)


async def run_from_postgres(
    settings: Settings,
    *,
    source_url: str,
    mapping_source: MappingSource,
    batch_size: int,
    max_chars: int | None,
    dry: bool,
    restart: bool,
    console: Console,
) -> list[str]:
    options = Options(batch_size=batch_size, max_chars=max_chars or settings.chunk_size)
    mapping = await resolve_mapping(source_url, mapping_source)
    async with open_source(source_url, mapping) as source:
        if dry:
            # Only the source is opened: the target is not touched, not even created.
            with progress_bar("reading", "rows", console) as bar:
                tally = await dry_run(
                    source, mapping, options, on_start=bar.start, on_progress=bar.advance
                )
            est = estimate(
                tally, titan=settings.embedder == "bedrock", batch_size=settings.embed_batch_size
            )
            return dry_run_lines(tally, est, model_id=embedder_model_id(settings))
        async with open_services(settings, run_jobs=False) as services:
            embedder = services.embedder
            target = target_identity(settings, embedder.model_id, embedder.dimension)
            identity = source_identity(source_url, mapping.table)
            run = run_name("from-postgres", identity, mapping.model_dump_json(), target)
            fresh = Checkpoint(run=run, description=f"{identity} -> {target}")
            try:
                with progress_bar("migrating", "rows", console) as bar:
                    report = await from_postgres(
                        source,
                        mapping,
                        Target(services.store, services.catalog, embedder),
                        CheckpointStore(services.blobs, run),
                        fresh=fresh,
                        options=options,
                        restart=restart,
                        on_start=bar.start,
                        on_progress=bar.advance,
                    )
            except Exception as e:
                raise stopped(e, run) from e
            return [*report.lines(), f"  checkpoint: {run} ({fresh.description})"]


async def run_verify(
    settings: Settings, *, source_url: str, mapping_source: MappingSource, questions_path: Path
) -> list[str]:
    questions = load_questions(questions_path)
    mapping = await resolve_mapping(source_url, mapping_source)
    async with (
        open_source(source_url, mapping) as source,
        open_services(settings, run_jobs=False) as services,
    ):
        return await verify(source, services.queries, mapping, questions)


def configured_space(settings: Settings) -> Space:
    """The embedding space the settings' embedder produces, known without loading it."""
    if settings.embedder == "bedrock":
        return Space(settings.bedrock_embedding_model_id, settings.bedrock_embedding_dimensions)
    from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder

    return Space(MiniLmOnnxEmbedder.model_id, MiniLmOnnxEmbedder.dimension)


async def run_copy(
    settings: Settings,
    *,
    from_store: Literal["pgvector", "s3vectors"],
    from_database_url: str | None,
    from_bucket: str | None,
    from_model: str | None,
    from_dimension: int | None,
    restart: bool,
    console: Console,
) -> list[str]:
    """Copy from ``from_store`` into the configured store; the catalog is the configured one."""
    target_space = configured_space(settings)
    space = Space(from_model or target_space.model_id, from_dimension or target_space.dimension)
    check_same_space(space, target_space)
    updates: dict[str, object] = {"vector_store": from_store}
    if from_database_url:
        updates["database_url"] = SecretStr(from_database_url)
    if from_bucket:
        updates["s3vectors_bucket"] = from_bucket
    source_settings = settings.model_copy(update=updates)
    source_id = target_identity(source_settings, space.model_id, space.dimension)
    target_id = target_identity(settings, target_space.model_id, target_space.dimension)
    if source_id == target_id:
        raise ConfigurationError(f"the source and the target are the same index ({target_id})")
    run = run_name("copy", source_id, target_id)
    fresh = Checkpoint(run=run, description=f"{source_id} -> {target_id}")
    async with (
        open_vector_store(
            source_settings, model_id=space.model_id, dimension=space.dimension
        ) as source,
        open_services(settings, run_jobs=False) as services,
    ):
        try:
            with progress_bar("copying", "documents", console) as bar:
                report = await copy_store(
                    source,
                    services.store,
                    services.catalog,
                    CheckpointStore(services.blobs, run),
                    fresh=fresh,
                    restart=restart,
                    on_start=bar.start,
                    on_progress=bar.advance,
                )
        except RagError:
            raise
        except Exception as e:
            raise stopped(e, run) from e
    return [*report.lines(), f"  checkpoint: {run} ({fresh.description})"]

"""``migrate``: move a corpus in, from an existing pgvector app or between the two stores."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

import click

from rag_app.cli.migrate_options import mapping_options
from rag_app.cli.running import console, load_settings
from rag_app.errors import RagError
from rag_app.migration.known_schemas import MappingSource


@click.group()
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
    mapping_source: MappingSource,
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
            load_settings(),
            source_url=source_url,
            mapping_source=mapping_source,
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
def verify(source_url: str, mapping_source: MappingSource, questions_path: Path) -> None:
    """Ask the same questions of the source (keyword search) and the target; print
    hit@1 and hit@5 for each, before traffic moves."""
    from rag_app.migration.commands import run_verify

    _migrate(
        run_verify(
            load_settings(),
            source_url=source_url,
            mapping_source=mapping_source,
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
            load_settings(),
            from_store=from_store,
            from_database_url=from_database_url,
            from_bucket=from_bucket,
            from_model=from_model,
            from_dimension=from_dimension,
            restart=restart,
            console=console,
        )
    )


@migrate.command("catalog-from-s3")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; write nothing.")
def catalog_from_s3(dry_run: bool) -> None:
    """Copy Option 1's old catalog (JSON objects under catalog/ in the documents bucket)
    into the DynamoDB catalog, for an upgrade.

    Idempotent: records the table holds as new or newer are left; re-run it freely. Reads
    RAG_DOCUMENTS_BUCKET/RAG_DOCUMENTS_PREFIX and writes RAG_DYNAMODB_TABLE; nothing is
    deleted from the bucket.
    """
    from rag_app.migration.s3_catalog import run_catalog_from_s3

    _migrate(run_catalog_from_s3(load_settings(), dry_run=dry_run))

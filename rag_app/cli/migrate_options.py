"""The options that say where the chunks are, shared by ``migrate from-postgres`` and
``migrate verify``: a mapping (``--mapping FILE`` or ``--mapping-text TOML``), or a known
schema (``--schema langchaingo|langchain`` and its table, collection and key options)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import click

from rag_app.errors import RagError
from rag_app.migration.known_schemas import (
    COLLECTION_TABLE,
    EMBEDDING_TABLE,
    KNOWN_SCHEMAS,
    KnownSchema,
    KnownSchemaOptions,
    MappingSource,
)
from rag_app.migration.mapping import load_mapping, parse_mapping

PageBase = Literal[0, 1, "auto"]


def _page_base(value: str | None) -> PageBase | None:
    return None if value is None else cast(PageBase, value if value == "auto" else int(value))


def mapping_source(
    *,
    mapping_path: Path | None,
    mapping_text: str | None,
    schema: str | None,
    source_collections: tuple[str, ...],
    embedding_table: str,
    collection_table: str,
    collection: str | None,
    document_key: str,
    page_key: str,
    page_base: str | None,
) -> MappingSource:
    """Exactly one of a mapping file, a mapping text or a known schema."""
    given = [x for x in (mapping_path, mapping_text, schema) if x is not None]
    if len(given) != 1:
        raise click.UsageError(
            "say where the chunks are with one of --schema langchaingo|langchain, "
            "--mapping FILE or --mapping-text TOML"
        )
    if schema is None:
        if source_collections or collection or page_base is not None:
            raise click.UsageError(
                "--source-collection, --collection and --page-base go with --schema; "
                "a mapping file states them itself"
            )
        try:
            if mapping_path is not None:
                return load_mapping(mapping_path)
            return parse_mapping(str(mapping_text), "MIGRATE_MAPPING")
        except RagError as e:
            raise click.ClickException(str(e)) from None
    return KnownSchemaOptions(
        schema=cast(KnownSchema, schema),
        embedding_table=embedding_table,
        collection_table=collection_table,
        source_collections=source_collections,
        collection=collection,
        document_key=document_key,
        page_key=page_key or None,
        page_base=_page_base(page_base) or "auto",
    )


def mapping_options(command: Callable[..., None]) -> Callable[..., None]:
    """Adds the options above and hands the command one ``mapping_source`` argument."""

    @functools.wraps(command)
    def with_mapping(*args: Any, **kwargs: Any) -> None:
        names = (
            "mapping_path", "mapping_text", "schema", "source_collections", "embedding_table",
            "collection_table", "collection", "document_key", "page_key", "page_base",
        )  # fmt: skip
        kwargs["mapping_source"] = mapping_source(**{name: kwargs.pop(name) for name in names})
        command(*args, **kwargs)

    options = [
        click.option(
            "--mapping",
            "mapping_path",
            default=None,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="TOML file naming the source table and columns (docs/migration.md).",
        ),
        click.option(
            "--mapping-text",
            envvar="MIGRATE_MAPPING",
            default=None,
            help="The mapping's TOML itself, instead of a file (or MIGRATE_MAPPING: for a "
            "one-off container task with no file to mount).",
        ),
        click.option(
            "--schema",
            envvar="MIGRATE_SCHEMA",
            type=click.Choice(KNOWN_SCHEMAS),
            default=None,
            help="The source is a LangChain PGVector store (langchaingo for Go apps, "
            "langchain for Python's langchain-postgres/-community): no mapping needed "
            "(or MIGRATE_SCHEMA).",
        ),
        click.option(
            "--source-collection",
            "source_collections",
            envvar="MIGRATE_SOURCE_COLLECTIONS",
            multiple=True,
            help="With --schema: migrate only this source collection (repeatable; default "
            "all; or MIGRATE_SOURCE_COLLECTIONS, space-separated).",
        ),
        click.option("--embedding-table", default=EMBEDDING_TABLE, show_default=True),
        click.option("--collection-table", default=COLLECTION_TABLE, show_default=True),
        click.option(
            "--collection",
            default=None,
            help="With --schema: put every document in this collection (default: a "
            "collection named like its source collection).",
        ),
        click.option(
            "--document-key",
            default="source",
            show_default=True,
            help="With --schema: the cmetadata key that names a row's document.",
        ),
        click.option(
            "--page-key",
            default="page",
            show_default=True,
            help="With --schema: the cmetadata key holding the page ('' for none).",
        ),
        click.option(
            "--page-base",
            type=click.Choice(["0", "1", "auto"]),
            default=None,
            help="With --schema: how the source numbers pages (default auto: 0-based when "
            "every document has a page 0).",
        ),
    ]
    for option in reversed(options):
        with_mapping = option(with_mapping)
    return with_mapping

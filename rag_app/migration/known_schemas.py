"""Mappings for the tables that LangChain's PGVector stores create, so the usual on-prem
source needs no mapping file (``migrate from-postgres --schema langchaingo|langchain``).

Both libraries keep two tables (table names as their defaults; langchaingo lets an app
rename them with ``WithEmbeddingTableName``/``WithCollectionTableName``)::

    langchain_pg_collection (name varchar UNIQUE, cmetadata json, uuid uuid PRIMARY KEY)
    langchain_pg_embedding  (collection_id uuid REFERENCES langchain_pg_collection(uuid),
                             embedding vector, document varchar, cmetadata json[b],
                             uuid uuid PRIMARY KEY)       -- langchaingo, langchain-community
                             -- langchain-postgres: id varchar PRIMARY KEY instead of uuid

A row's file and page live inside ``cmetadata`` (``source`` and ``page`` by default; 0-based
from PyPDFLoader, so the page base is detected from the data unless stated), the passage's
offset in ``start_index`` when the splitter recorded it, and its collection is reached by
joining the collection table by name. The id column is found from the catalog
(``information_schema``), read-only like everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from pydantic import ValidationError

from rag_app.errors import InvalidInputError
from rag_app.migration.mapping import CollectionJoin, Columns, Mapping
from rag_app.migration.source import connect_read_only

KnownSchema = Literal["langchaingo", "langchain"]
KNOWN_SCHEMAS: tuple[KnownSchema, ...] = ("langchaingo", "langchain")
EMBEDDING_TABLE = "langchain_pg_embedding"
COLLECTION_TABLE = "langchain_pg_collection"

COLUMNS = """
SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = %(schema)s AND table_name = %(table)s
"""


@dataclass(frozen=True, slots=True)
class KnownSchemaOptions:
    schema: KnownSchema
    embedding_table: str = EMBEDDING_TABLE
    collection_table: str = COLLECTION_TABLE
    source_collections: tuple[str, ...] = ()
    """Migrate only these source collections; empty: all of them."""
    collection: str | None = None
    """Put every document in this collection; ``None``: the source collection's name."""
    document_key: str = "source"
    page_key: str | None = "page"
    offset_key: str | None = "start_index"
    page_base: Literal[0, 1, "auto"] = "auto"
    metadata_keys: tuple[str, ...] | None = None


MappingSource = Mapping | KnownSchemaOptions
"""A mapping file's contents, or a known schema to build one from the source's tables."""


def _split(table: str) -> tuple[str, str]:
    schema, dot, name = table.rpartition(".")
    return (schema if dot else "public"), name


async def _columns(conn: psycopg.AsyncConnection[tuple[Any, ...]], table: str) -> dict[str, str]:
    schema, name = _split(table)
    cursor = await conn.execute(COLUMNS, {"schema": schema, "table": name})
    return {str(column): str(kind) for column, kind in await cursor.fetchall()}


async def known_mapping(url: str, options: KnownSchemaOptions) -> Mapping:
    """The mapping for ``options.schema`` as found in the database at ``url``; an
    ``InvalidInputError`` says what is missing when the tables are not shaped as expected."""
    async with await connect_read_only(url) as conn:
        embedding = await _columns(conn, options.embedding_table)
        collection = await _columns(conn, options.collection_table)
    where = f"--schema {options.schema}"
    if not embedding:
        raise InvalidInputError(
            f"{where}: no table {options.embedding_table!r} (or no access to it); "
            "name it with --embedding-table"
        )
    if not collection:
        raise InvalidInputError(
            f"{where}: no table {options.collection_table!r} (or no access to it); "
            "name it with --collection-table"
        )
    id_column = next((c for c in ("uuid", "id") if c in embedding), None)
    missing = [c for c in ("document", "cmetadata", "collection_id") if c not in embedding]
    missing += [] if id_column else ["uuid or id"]
    missing += [f"{options.collection_table}.{c}" for c in ("uuid", "name") if c not in collection]
    if missing:
        raise InvalidInputError(
            f"{where}: {options.embedding_table} lacks {', '.join(missing)}; "
            "is it a LangChain PGVector table?"
        )
    if embedding["cmetadata"] not in {"json", "jsonb"}:
        raise InvalidInputError(
            f"{where}: cmetadata is {embedding['cmetadata']}, expected json or jsonb"
        )
    assert id_column is not None
    try:
        return _mapping(options, id_column)
    except ValidationError as e:
        raise InvalidInputError(f"{where}:\n{e}") from None


def _mapping(options: KnownSchemaOptions, id_column: str) -> Mapping:
    def key(name: str | None) -> str | None:
        return None if name is None else f"cmetadata.{name}"

    return Mapping(
        table=options.embedding_table,
        columns=Columns(
            id=id_column,
            document_id=f"cmetadata.{options.document_key}",
            text="document",
            page=key(options.page_key),
            metadata="cmetadata",
            source_key=f"cmetadata.{options.document_key}",
            offset=key(options.offset_key),
        ),
        collection=options.collection,
        page_base=options.page_base,
        metadata_keys=options.metadata_keys,
        metadata_policy="drop",
        id_order=False,
        physical_order=True,
        collections=CollectionJoin(
            table=options.collection_table,
            key="uuid",
            foreign_key="collection_id",
            name="name",
            only=options.source_collections or None,
        ),
    )

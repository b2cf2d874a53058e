"""The source table, read in keyset-paginated pages inside read-only transactions.

The connection itself is opened with ``default_transaction_read_only=on`` and every page
is read in a ``SET TRANSACTION READ ONLY`` transaction, so no statement of ours can change
the source. Each page is its own short transaction: a long migration holds no snapshot
open on the production database. Rows come ordered by (document id, id), so a document's
rows arrive together and in the order they become chunk numbers.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from rag_app.errors import InvalidInputError
from rag_app.migration.mapping import Mapping
from rag_app.text.words import content_words

_PART = re.compile(r"[a-z0-9]+")  # tsquery operands: no punctuation
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"

SELECT_PAGE = """
SELECT {id} AS id, {document} AS document, {text} AS text, {page} AS page,
       {metadata} AS metadata, {source_key} AS source_key, {title} AS title
FROM {table}
WHERE {document} IS NOT NULL AND {id} IS NOT NULL AND {after}
ORDER BY {document}, {id}
LIMIT %(limit)s
"""

COUNT_ROWS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE {document} IS NULL OR {id} IS NULL) AS unkeyed
FROM {table}
"""

# A keyword baseline: PostgreSQL full-text search over the chunk text, any query term.
KEYWORD_SEARCH = """
SELECT {document} AS document, {page} AS page
FROM {table}
WHERE to_tsvector('english', coalesce({text}, '')) @@ to_tsquery('english', %(terms)s)
ORDER BY ts_rank(to_tsvector('english', coalesce({text}, '')),
                 to_tsquery('english', %(terms)s)) DESC, {document}, {id}
LIMIT %(top_k)s
"""


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One source row as read; values are unchecked (``rows.py`` judges them)."""

    id: Any
    document: Any
    text: Any
    page: Any
    metadata: Any
    source_key: Any
    title: Any


@dataclass(frozen=True, slots=True)
class RowCount:
    total: int
    unkeyed: int
    """Rows whose document id or id is NULL: they cannot be paginated or placed."""


class SourceTable:
    def __init__(self, conn: psycopg.AsyncConnection[Any], mapping: Mapping) -> None:
        self._conn = conn
        self._mapping = mapping
        columns = mapping.columns

        def optional(name: str | None) -> sql.Composable:
            return sql.Identifier(name) if name else sql.NULL

        self._names: dict[str, sql.Composable] = {
            "table": sql.Identifier(*mapping.table_parts),
            "id": sql.Identifier(columns.id),
            "document": sql.Identifier(columns.document_id),
            "text": sql.Identifier(columns.text),
            "page": sql.Identifier(columns.page),
            "metadata": optional(columns.metadata),
            "source_key": optional(columns.source_key),
            "title": optional(columns.title),
        }

    async def _fetch(self, statement: sql.Composed, params: dict[str, Any]) -> list[Any]:
        async with self._conn.transaction():
            await self._conn.execute("SET TRANSACTION READ ONLY")
            cursor = self._conn.cursor(row_factory=dict_row)
            await cursor.execute(statement, params)
            return await cursor.fetchall()

    async def probe(self) -> None:
        """Run the page query for no rows: a missing table or column raises here."""
        statement = sql.SQL(SELECT_PAGE).format(**self._names, after=sql.SQL("TRUE"))
        await self._fetch(statement, {"limit": 0})

    async def count(self) -> RowCount:
        (row,) = await self._fetch(sql.SQL(COUNT_ROWS).format(**self._names), {})
        return RowCount(total=int(row["total"]), unkeyed=int(row["unkeyed"]))

    async def pages(self, *, after_document: Any, size: int) -> AsyncIterator[list[SourceRow]]:
        """Pages of at most ``size`` rows, starting after the document ``after_document``
        (``None``: from the start). The last page is the first one shorter than ``size``."""
        after: sql.Composable = sql.SQL("TRUE")
        params: dict[str, Any] = {"limit": size}
        if after_document is not None:
            after = sql.SQL("{document} > %(after_document)s").format(**self._names)
            params["after_document"] = after_document
        while True:
            statement = sql.SQL(SELECT_PAGE).format(**self._names, after=after)
            rows = [SourceRow(**r) for r in await self._fetch(statement, params)]
            if rows:
                yield rows
            if len(rows) < size:
                return
            after = sql.SQL("({document}, {id}) > (%(last_document)s, %(last_id)s)").format(
                **self._names
            )
            params = {"limit": size, "last_document": rows[-1].document, "last_id": rows[-1].id}

    async def keyword_search(self, question: str, *, top_k: int) -> list[tuple[Any, Any]]:
        """(document, page) of the ``top_k`` rows that best match any content word of
        ``question`` (PostgreSQL full-text ranking); ``[]`` when it has none."""
        terms = sorted({part for w in content_words(question) for part in _PART.findall(w)})
        if not terms:
            return []
        statement = sql.SQL(KEYWORD_SEARCH).format(**self._names)
        rows = await self._fetch(statement, {"terms": " | ".join(terms), "top_k": top_k})
        return [(r["document"], r["page"]) for r in rows]


@asynccontextmanager
async def open_source(url: str, mapping: Mapping) -> AsyncIterator[SourceTable]:
    """Connect read-only; a missing table or column fails here, before anything else runs."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            url, autocommit=True, options=READ_ONLY_OPTIONS, connect_timeout=10
        )
    except psycopg.OperationalError as e:
        raise InvalidInputError(f"cannot connect to the source database: {e}") from None
    async with conn:
        source = SourceTable(conn, mapping)
        try:
            await source.probe()
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as e:
            raise InvalidInputError(f"source table {mapping.table}: {e}") from None
        yield source

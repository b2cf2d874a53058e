"""The source table, read in keyset-paginated pages inside read-only transactions.

The connection itself is opened with ``default_transaction_read_only=on`` and every page
is read in a ``SET TRANSACTION READ ONLY`` transaction, so no statement of ours can change
the source. Each page is its own short transaction: a long migration holds no snapshot
open on the production database. Rows come ordered by (collection, document, id), so a
document's rows arrive together; their order within the document is ``rows.py``'s job.

Every statement is composed with ``psycopg.sql`` from the mapping's checked names: a
column is ``e."col"``, a JSON key ``(e."col" ->> 'key')``, the collection ``c."name"``.
A source whose document key lives in JSON has no index on it, so each page is a scan of
the table; that is cheap next to embedding the rows (see docs/migration.md).
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
from rag_app.migration.mapping import ColumnRef, Mapping
from rag_app.text.words import content_words

_PART = re.compile(r"[a-z0-9]+")  # tsquery operands: no punctuation
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"
CHUNKS = "e"  # the chunk table's alias
COLLECTIONS = "c"  # the collection table's alias

SELECT_PAGE = """
SELECT {id} AS id, {document} AS document, {text} AS text, {page} AS page,
       {metadata} AS metadata, {source_key} AS source_key, {title} AS title,
       {offset} AS "offset", {collection} AS collection, {position} AS position
FROM {rows}
WHERE {document} IS NOT NULL AND {id} IS NOT NULL AND {scope} AND {after}
ORDER BY {order}
LIMIT %(limit)s
"""

COUNT_ROWS = """
SELECT {collection} AS collection, count(*) AS total,
       count(*) FILTER (WHERE {document} IS NULL OR {id} IS NULL) AS unkeyed
FROM {rows}
WHERE {scope}
GROUP BY 1
ORDER BY 1
"""

# 0-based when every document that has text on a numeric page has a page 0.
PAGE_BASE = """
SELECT count(*) AS documents, count(*) FILTER (WHERE first_page = 0) AS from_zero
FROM (
    SELECT min(CASE WHEN ({page})::text ~ '^[0-9]+$' THEN ({page})::text::bigint END)
           AS first_page
    FROM {rows}
    WHERE {document} IS NOT NULL AND {scope} AND btrim(coalesce({text}, '')) <> ''
    GROUP BY {group}
) AS documents
WHERE first_page IS NOT NULL
"""

# A keyword baseline: PostgreSQL full-text search over the chunk text, any query term.
KEYWORD_SEARCH = """
SELECT {collection} AS collection, {document} AS document, {page} AS page
FROM {rows}
WHERE {scope} AND to_tsvector('english', coalesce({text}, '')) @@ to_tsquery('english', %(terms)s)
ORDER BY ts_rank(to_tsvector('english', coalesce({text}, '')),
                 to_tsquery('english', %(terms)s)) DESC, {document}, {id}
LIMIT %(top_k)s
"""


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One source row as read; values are unchecked (``rows.py`` judges them).
    ``collection``: the source collection's name (``None`` without a collection join);
    ``position``: the row's physical place in the table (``None`` unless asked for)."""

    id: Any
    document: Any
    text: Any
    page: Any
    metadata: Any
    source_key: Any
    title: Any
    offset: Any = None
    collection: Any = None
    position: Any = None


@dataclass(frozen=True, slots=True)
class RowCount:
    total: int
    unkeyed: int
    """Rows whose document key or id is NULL: they cannot be paginated or placed."""
    by_collection: dict[str | None, int]
    """Rows per source collection (``None``: the table has no collection join)."""


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a resumed run starts: after this (collection, document)."""

    collection: Any
    document: Any


def _reference(ref: ColumnRef | None) -> sql.Composable:
    if ref is None:
        return sql.NULL
    column = sql.Identifier(CHUNKS, ref.column)
    if ref.key is None:
        return column
    return sql.SQL("({} ->> {})").format(column, sql.Literal(ref.key))


class SourceTable:
    def __init__(self, conn: psycopg.AsyncConnection[Any], mapping: Mapping) -> None:
        self._conn = conn
        self._mapping = mapping
        self.page_base = 1 if mapping.page_base == "auto" else mapping.page_base
        columns = mapping.columns
        rows: sql.Composable = sql.SQL("{} AS {}").format(
            sql.Identifier(*mapping.table_parts), sql.Identifier(CHUNKS)
        )
        collection: sql.Composable = sql.NULL
        self._scope: sql.Composable = sql.SQL("TRUE")
        self._params: dict[str, Any] = {}
        if (join := mapping.collections) is not None:
            rows = sql.SQL("{} JOIN {} AS {} ON {} = {}").format(
                rows,
                sql.Identifier(*join.table_parts),
                sql.Identifier(COLLECTIONS),
                sql.Identifier(CHUNKS, join.foreign_key),
                sql.Identifier(COLLECTIONS, join.key),
            )
            collection = sql.Identifier(COLLECTIONS, join.name)
            if join.only is not None:
                self._scope = sql.SQL("{} = ANY(%(only)s)").format(collection)
                self._params["only"] = list(join.only)
        document = _reference(columns.ref("document_id"))
        self._joined = join is not None
        # The keyset: (collection, document, id) with a join, (document, id) without.
        document_key = [collection, document] if self._joined else [document]
        self._keys = sql.SQL(", ").join([*document_key, sql.Identifier(CHUNKS, columns.id)])
        self._document_key = sql.SQL(", ").join(document_key)
        self._names: dict[str, sql.Composable] = {
            "rows": rows,
            "id": sql.Identifier(CHUNKS, columns.id),
            "document": document,
            "text": sql.Identifier(CHUNKS, columns.text),
            "page": _reference(columns.ref("page")),
            "metadata": _reference(columns.ref("metadata")),
            "source_key": _reference(columns.ref("source_key")),
            "title": _reference(columns.ref("title")),
            "offset": _reference(columns.ref("offset")),
            "collection": collection,
            "order": self._keys,
            "group": self._document_key,
            "position": (
                sql.SQL("{}::text").format(sql.Identifier(CHUNKS, "ctid"))
                if mapping.physical_order
                else sql.NULL
            ),
            "scope": self._scope,
        }

    async def _fetch(self, statement: sql.Composed, params: dict[str, Any]) -> list[Any]:
        async with self._conn.transaction():
            await self._conn.execute("SET TRANSACTION READ ONLY")
            cursor = self._conn.cursor(row_factory=dict_row)
            await cursor.execute(statement, {**self._params, **params})
            return await cursor.fetchall()

    async def probe(self) -> None:
        """Run the page query for no rows: a missing table or column raises here."""
        statement = sql.SQL(SELECT_PAGE).format(**self._names, after=sql.SQL("TRUE"))
        await self._fetch(statement, {"limit": 0})

    async def detect_page_base(self) -> int:
        """Settle ``page_base`` when the mapping says ``auto``: 0 when every document with
        text on a numeric page has a page 0 (PyPDFLoader's numbering), else 1."""
        if self._mapping.page_base != "auto" or self._mapping.columns.page is None:
            return self.page_base
        (row,) = await self._fetch(sql.SQL(PAGE_BASE).format(**self._names), {})
        documents, from_zero = int(row["documents"]), int(row["from_zero"])
        self.page_base = 0 if documents and from_zero == documents else 1
        return self.page_base

    async def count(self) -> RowCount:
        rows = await self._fetch(sql.SQL(COUNT_ROWS).format(**self._names), {})
        return RowCount(
            total=sum(int(r["total"]) for r in rows),
            unkeyed=sum(int(r["unkeyed"]) for r in rows),
            by_collection={r["collection"]: int(r["total"]) for r in rows},
        )

    async def pages(self, *, resume: Resume | None, size: int) -> AsyncIterator[list[SourceRow]]:
        """Pages of at most ``size`` rows, starting after the document of ``resume``
        (``None``: from the start). The last page is the first one shorter than ``size``."""
        after: sql.Composable = sql.SQL("TRUE")
        params: dict[str, Any] = {"limit": size}
        if resume is not None:
            after = self._after(self._document_key, ["c", "d"])
            params |= {"c": resume.collection, "d": resume.document}
        while True:
            statement = sql.SQL(SELECT_PAGE).format(**self._names, after=after)
            rows = [SourceRow(**r) for r in await self._fetch(statement, params)]
            if rows:
                yield rows
            if len(rows) < size:
                return
            last = rows[-1]
            after = self._after(self._keys, ["c", "d", "i"])
            params = {"limit": size, "c": last.collection, "d": last.document, "i": last.id}

    def _after(self, keys: sql.Composable, params: list[str]) -> sql.Composable:
        """``(keys) > (%(p)s, ...)``; without a join the collection is no key."""
        names = params if self._joined else params[1:]
        values = sql.SQL(", ").join(sql.Placeholder(n) for n in names)
        return sql.SQL("({}) > ({})").format(keys, values)

    async def keyword_search(self, question: str, *, top_k: int) -> list[tuple[Any, Any, Any]]:
        """(collection, document, page) of the ``top_k`` rows that best match any content
        word of ``question`` (PostgreSQL full-text ranking); ``[]`` when it has none."""
        terms = sorted({part for w in content_words(question) for part in _PART.findall(w)})
        if not terms:
            return []
        statement = sql.SQL(KEYWORD_SEARCH).format(**self._names)
        rows = await self._fetch(statement, {"terms": " | ".join(terms), "top_k": top_k})
        return [(r["collection"], r["document"], r["page"]) for r in rows]


async def connect_read_only(url: str) -> psycopg.AsyncConnection[tuple[Any, ...]]:
    """A connection to the source database in which every transaction is read-only;
    ``InvalidInputError`` saying why when it cannot connect."""
    try:
        return await psycopg.AsyncConnection.connect(
            url, autocommit=True, options=READ_ONLY_OPTIONS, connect_timeout=10
        )
    except psycopg.OperationalError as e:
        raise InvalidInputError(f"cannot connect to the source database: {e}") from None


@asynccontextmanager
async def open_source(url: str, mapping: Mapping) -> AsyncIterator[SourceTable]:
    """Connect read-only; a missing table or column fails here, before anything else runs,
    and an ``auto`` page base is settled from the data."""
    async with await connect_read_only(url) as conn:
        source = SourceTable(conn, mapping)
        try:
            await source.probe()
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as e:
            raise InvalidInputError(f"source table {mapping.table}: {e}") from None
        except psycopg.errors.UndefinedFunction as e:
            raise InvalidInputError(
                f"source table {mapping.table}: a column named with '.' must be json or "
                f"jsonb, and the collection join's key and foreign key of one type: {e}"
            ) from None
        await source.detect_page_base()
        yield source

"""The mapping: which table and columns of the source database hold the chunks.

Written by hand as TOML (stdlib ``tomllib``), or built for a known schema by
``known_schemas.py`` (``--schema langchaingo|langchain``)::

    table = "public.document_chunks"   # optionally schema-qualified
    collection = "default"             # the collection migrated documents join (see below)
    page_base = 1                      # 0 when the source counts pages from 0; "auto": detect
    metadata_keys = ["court", "year"]  # optional: keep only these metadata keys
    metadata_policy = "strict"         # "drop": leave out keys that cannot be kept, keep the row

    [columns]
    id = "id"                  # unique and orderable: the keyset within a document
    document_id = "document_id"
    text = "content"
    page = "page_number"       # optional: rows without a page are migrated unpaged
    metadata = "metadata"      # optional: a json/jsonb (or JSON text) object per row
    source_key = "source_file" # optional: the original file's name or key
    title = "title"            # optional: else the source key's file name, else the id
    offset = "cmetadata.start_index"  # optional: a passage's position within its page

    [collections]              # optional: rows belong to collections of a second table
    table = "langchain_pg_collection"
    key = "uuid"               # the collection table's key ...
    foreign_key = "collection_id"  # ... that this column of the chunk table references
    name = "name"              # the collection's name
    only = ["contracts"]       # optional: migrate these source collections only

Within a document, chunks are ordered by page, then ``offset``, then by ``id``; with
``id_order = false`` (random ids) by how the passages of one page overlap (each begins with
its predecessor's tail, as splitters cut them), then by ``physical_order`` (``ctid``).

A column may reach one key inside a json or jsonb column: ``cmetadata.page`` is the
``page`` key of ``cmetadata`` (read as text, ``->>``; a row whose column is not a JSON
object, or lacks the key, reads NULL). With ``[collections]``, each source collection goes
into the collection of the same name unless ``collection`` is given, which then takes them
all. Every name is checked here and composed with ``psycopg.sql`` (``source.py``): nothing
from a mapping is ever pasted into SQL text.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag_app.errors import InvalidInputError
from rag_app.ingest.validation import COLLECTION_PATTERN

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
JSON_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,63}$")
DEFAULT_COLLECTION = "default"


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a plain SQL identifier (letters, digits, '_', '$'; at most 63)"
        )
    return value


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """A column, or one key inside a json/jsonb column (``key`` set)."""

    column: str
    key: str | None = None

    @classmethod
    def parse(cls, value: str) -> ColumnRef:
        column, dot, key = value.partition(".")
        _identifier(column)
        if not dot:
            return cls(column)
        if not JSON_KEY.match(key):
            raise ValueError(
                f"{value!r}: the JSON key after '.' may hold letters, digits, '_' and '-' "
                "(at most 64), one level deep"
            )
        return cls(column, key)

    def __str__(self) -> str:
        return self.column if self.key is None else f"{self.column}.{self.key}"


class Columns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    document_id: str
    text: str
    page: str | None = None
    metadata: str | None = None
    source_key: str | None = None
    title: str | None = None
    offset: str | None = None

    @field_validator("id", "text", "metadata")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return None if value is None else _identifier(value)

    @field_validator("document_id", "page", "source_key", "title", "offset")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        if value is not None:
            ColumnRef.parse(value)
        return value

    def ref(self, name: str) -> ColumnRef | None:
        value: str | None = getattr(self, name)
        return None if value is None else ColumnRef.parse(value)


def _table_name(value: str) -> str:
    parts = value.split(".")
    if len(parts) > 2:
        raise ValueError(f"table {value!r}: use 'table' or 'schema.table'")
    for part in parts:
        _identifier(part)
    return value


class CollectionJoin(BaseModel):
    """Rows reach their collection's name through ``foreign_key -> table.key``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    key: str
    foreign_key: str
    name: str
    only: tuple[str, ...] | None = None

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _table_name(value)

    @field_validator("key", "foreign_key", "name")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _identifier(value)

    @field_validator("only")
    @classmethod
    def _some(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError("only: name at least one collection, or leave it out")
        return value

    @property
    def table_parts(self) -> tuple[str, ...]:
        return tuple(self.table.split("."))


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    columns: Columns
    collection: str | None = Field(default=None, pattern=COLLECTION_PATTERN.pattern)
    page_base: Literal[0, 1, "auto"] = 1
    metadata_keys: tuple[str, ...] | None = None
    collections: CollectionJoin | None = None
    metadata_policy: Literal["strict", "drop"] = "strict"
    """``strict``: a row whose metadata has a key or value this service cannot keep is
    refused. ``drop``: such keys are left out and the row is kept (library metadata such
    as a PDF's producer or a nested object is not worth losing a passage over)."""
    id_order: bool = True
    """The id orders a document's rows within a page (a serial id). ``false`` for random
    ids (UUIDs): a page's rows are then put in order by their overlaps, then by
    ``physical_order``."""
    physical_order: bool = False
    """Within a page, fall back on the rows' physical order (``ctid``): the order a table
    that is only ever appended to was filled in. For tables, not views."""

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _table_name(value)

    @property
    def table_parts(self) -> tuple[str, ...]:
        return tuple(self.table.split("."))

    def target_collection(self, source_collection: str | None) -> str:
        """Where a row of ``source_collection`` (``None``: no collection join) goes."""
        if self.collection is not None:
            return self.collection
        return source_collection if source_collection is not None else DEFAULT_COLLECTION


def parse_mapping(text: str, origin: str) -> Mapping:
    """Validate a mapping's TOML text; every problem is an ``InvalidInputError`` naming
    ``origin`` (the file, or the variable that held it)."""
    try:
        return Mapping.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"mapping {origin}: {e}") from None
    except ValidationError as e:
        raise InvalidInputError(f"mapping {origin}:\n{e}") from None


def load_mapping(path: Path) -> Mapping:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"mapping file {path}: {e}") from None
    return parse_mapping(text, f"file {path}")

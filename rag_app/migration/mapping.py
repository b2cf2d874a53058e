"""The mapping file: which table and columns of the source database hold the chunks.

TOML (stdlib ``tomllib``)::

    table = "public.document_chunks"   # optionally schema-qualified
    collection = "default"             # the collection migrated documents join
    page_base = 1                      # 0 when the source counts pages from 0
    metadata_keys = ["court", "year"]  # optional: keep only these metadata keys

    [columns]
    id = "id"                  # unique and orderable: the keyset within a document
    document_id = "document_id"
    text = "content"
    page = "page_number"
    metadata = "metadata"      # optional: a json/jsonb (or JSON text) object per row
    source_key = "source_file" # optional: the original file's name or key
    title = "title"            # optional: else the source key's file name, else the id
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag_app.errors import InvalidInputError
from rag_app.ingest.validation import COLLECTION_PATTERN

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a plain SQL identifier (letters, digits, '_', '$'; at most 63)"
        )
    return value


class Columns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    document_id: str
    text: str
    page: str
    metadata: str | None = None
    source_key: str | None = None
    title: str | None = None

    @field_validator("*")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return None if value is None else _identifier(value)


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    columns: Columns
    collection: str = Field(default="default", pattern=COLLECTION_PATTERN.pattern)
    page_base: int = Field(default=1, ge=0, le=1)
    metadata_keys: tuple[str, ...] | None = None

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) > 2:
            raise ValueError(f"table {value!r}: use 'table' or 'schema.table'")
        for part in parts:
            _identifier(part)
        return value

    @property
    def table_parts(self) -> tuple[str, ...]:
        return tuple(self.table.split("."))


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

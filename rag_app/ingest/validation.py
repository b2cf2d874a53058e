"""Checks on what a client sends along with a file: ids, collection, user metadata."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from rag_app.domain import RESERVED_FILTER_KEYS, Metadata, MetadataValue
from rag_app.errors import InvalidInputError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
COLLECTION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
METADATA_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_METADATA_KEYS = 32
MAX_METADATA_STRING = 512
MAX_TITLE = 500
MAX_FILENAME = 1024
# Keys a chunk record already uses; user metadata must not shadow them in filters.
RESERVED_METADATA_KEYS = RESERVED_FILTER_KEYS | {
    "title", "page", "text", "chunk_no", "char_start", "char_end", "ocr", "start_s", "end_s",
}  # fmt: skip


def check_document_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise InvalidInputError(
            "document_id must be 1-128 characters of letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit; got {value[:140]!r}"
        )
    return value


def check_collection(value: str) -> str:
    if not COLLECTION_PATTERN.match(value):
        raise InvalidInputError(
            "collection must be 1-64 characters of letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit; got {value[:80]!r}"
        )
    return value


def check_filename(value: str) -> str:
    """The client's name for the file: a label only, never part of a storage key."""
    if "\x00" in value:  # PostgreSQL text cannot hold it
        raise InvalidInputError("the file name contains a NUL character")
    if len(value) > MAX_FILENAME:
        raise InvalidInputError(f"the file name is longer than {MAX_FILENAME} characters")
    return value


def check_title(value: str) -> str:
    if "\x00" in value:
        raise InvalidInputError("title contains a NUL character")
    title = " ".join(value.split())
    if len(title) > MAX_TITLE:
        raise InvalidInputError(f"title is longer than {MAX_TITLE} characters")
    return title


def _check_value(key: str, value: Any) -> MetadataValue:
    if isinstance(value, bool | int | float) and not (
        isinstance(value, float) and value != value  # NaN equals nothing, so it cannot filter
    ):
        return value
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL text and jsonb cannot hold it
            raise InvalidInputError(f"metadata value of {key!r} contains a NUL character")
        if len(value) > MAX_METADATA_STRING:
            raise InvalidInputError(
                f"metadata value of {key!r} is longer than {MAX_METADATA_STRING} characters"
            )
        return value
    raise InvalidInputError(
        f"metadata value of {key!r} must be a string, number or boolean, not {type(value).__name__}"
    )


def check_metadata(value: Any) -> Metadata:
    """A flat JSON object of string/number/boolean values with safe keys."""
    if not isinstance(value, Mapping):
        raise InvalidInputError("metadata must be a JSON object")
    if len(value) > MAX_METADATA_KEYS:
        raise InvalidInputError(f"metadata has {len(value)} keys; at most {MAX_METADATA_KEYS}")
    checked: dict[str, MetadataValue] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not METADATA_KEY_PATTERN.match(key):
            raise InvalidInputError(
                f"metadata key {str(key)[:80]!r} must be 1-64 characters of letters, digits, "
                "'_', '.' or '-', starting with a letter or '_'"
            )
        if key in RESERVED_METADATA_KEYS:
            raise InvalidInputError(f"metadata key {key!r} is reserved")
        checked[key] = _check_value(key, item)
    return checked


def parse_metadata(raw: str | None) -> dict[str, Any]:
    """Metadata given as JSON text (a form field, a command-line option); empty: none.
    Only the shape is checked here; ``check_metadata`` checks the keys and values."""
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"metadata is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise InvalidInputError("metadata must be a JSON object")
    return value


def check_filters(value: Mapping[str, Any]) -> dict[str, MetadataValue]:
    """Filters: ``document_id`` and ``collection`` take strings; other keys are metadata."""
    checked: dict[str, MetadataValue] = {}
    for key, item in value.items():
        if key in RESERVED_FILTER_KEYS:
            if not isinstance(item, str):
                raise InvalidInputError(f"filter {key!r} must be a string")
            checked[key] = (
                check_collection(item) if key == "collection" else check_document_id(item)
            )
            continue
        if not METADATA_KEY_PATTERN.match(key) or key in RESERVED_METADATA_KEYS:
            raise InvalidInputError(f"cannot filter on {key[:80]!r}")
        checked[key] = _check_value(key, item)
    return checked

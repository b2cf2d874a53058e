"""Amazon S3 Vectors limits and metadata rules: one source for the store (which checks
before it writes) and the local server (which enforces them as AWS does).

Limits (AWS docs, GA): 500 vectors per PutVectors/DeleteVectors, 100 keys per GetVectors,
topK 1..100, 20 MiB per request, 10 non-filterable keys per index, 50 metadata keys.

The metadata size is not JSON length. Fitted on live probes (predicted 9 unseen shapes exactly):
``4 + sum(8 + utf8(key) + value)`` where a string is its UTF-8 bytes, a number 4, a boolean
0 and an array the sum of ``4 + element``. The 2,048-byte limit applies to the filterable
keys, the 40,960-byte limit to all of them. Messages are the live ones.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

MAX_KEYS = 50
MAX_PUT_BATCH = 500
MAX_DELETE_BATCH = 500
MAX_GET_BATCH = 100
MAX_TOP_K = 100
MAX_QUERY_TEXT = 1024  # characters of one queryTexts entry
MAX_REQUEST_BYTES = 20 * 1024 * 1024
MAX_NON_FILTERABLE_KEYS = 10
MAX_KEY_BYTES = 1024
MAX_FILTERABLE_BYTES = 2048
MAX_TOTAL_BYTES = 40960


def value_size(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, list):
        return sum(4 + value_size(v) for v in value)
    return 4


def entry_size(key: str, value: Any) -> int:
    return 8 + len(key.encode("utf-8")) + value_size(value)


def metadata_size(metadata: Mapping[str, Any]) -> int:
    return 4 + sum(entry_size(k, v) for k, v in metadata.items())


def filterable_part(metadata: Mapping[str, Any], non_filterable: Collection[str]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k not in non_filterable}


def _valid_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def metadata_problem(metadata: Any, non_filterable: Collection[str]) -> str | None:
    """The message AWS gives for this metadata object, or None if it is acceptable."""
    if not isinstance(metadata, dict):
        return "Metadata values must be strings, numbers, booleans, or arrays"
    for value in metadata.values():
        if isinstance(value, list):
            if not value:
                return "Empty arrays are not allowed in metadata"
            kinds = {"s" if isinstance(v, str) else "n" if _valid_number(v) else "x" for v in value}
            if "x" in kinds or len(kinds) > 1:
                return "Metadata array values must be strings or numbers"
        elif not (isinstance(value, str | bool) or _valid_number(value)):
            return "Metadata values must be strings, numbers, booleans, or arrays"
    if len(metadata) > MAX_KEYS:
        return f"Metadata object must have at most {MAX_KEYS} keys"
    if metadata_size(filterable_part(metadata, non_filterable)) > MAX_FILTERABLE_BYTES:
        return f"Filterable metadata must have at most {MAX_FILTERABLE_BYTES} bytes"
    if metadata_size(metadata) > MAX_TOTAL_BYTES:
        return f"Metadata object must have at most {MAX_TOTAL_BYTES} bytes"
    return None

"""The S3 Vectors metadata filter language: validation and evaluation.

From the AWS docs and live probes (2026-09): a condition object has exactly one key; several
fields need ``$and``; an operator object holds only comparison operators; unknown ``$``
keys, ``{}`` and bad operands are all "Invalid filter"; filtering on a non-filterable key is
"Invalid use of non-filterable metadata in filter"; a type mismatch or a missing field
matches nothing, without an error. Inferred, not observed: ``$ne``/``$nin`` on a missing
field match nothing. ``$startsWith`` (ENHANCED indexes only) is not emulated.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from rag_app_dev.s3vectors_local.errors import ServiceError

COMPARISONS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"})
LOGICAL = frozenset({"$and", "$or"})


def _invalid() -> ServiceError:
    return ServiceError(
        "ValidationException", "Invalid filter", [{"path": "filter", "message": "Invalid filter"}]
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _check_operand(operator: str, operand: Any) -> None:
    if operator in ("$eq", "$ne"):
        ok = _is_scalar(operand)
    elif operator in ("$gt", "$gte", "$lt", "$lte"):
        ok = _is_number(operand)
    elif operator in ("$in", "$nin"):
        ok = isinstance(operand, list) and bool(operand) and all(_is_scalar(v) for v in operand)
    else:  # $exists
        ok = isinstance(operand, bool)
    if not ok:
        raise _invalid()


def check_filter(node: Any, non_filterable: Collection[str]) -> None:
    """Raise ValidationException as AWS does for a filter it would refuse."""
    if not isinstance(node, dict) or len(node) != 1:
        raise _invalid()
    ((key, value),) = node.items()
    if key in LOGICAL:
        if not isinstance(value, list) or not value:
            raise _invalid()
        for child in value:
            check_filter(child, non_filterable)
        return
    if key.startswith("$"):
        raise _invalid()
    if isinstance(value, dict):
        if not value or not set(value) <= COMPARISONS:
            raise _invalid()
        for operator, operand in value.items():
            _check_operand(operator, operand)
    elif not _is_scalar(value):
        raise _invalid()
    if key in non_filterable:
        raise ServiceError(
            "ValidationException",
            "Invalid use of non-filterable metadata in filter",
            [{"path": "filter", "message": "Invalid use of non-filterable metadata in filter"}],
        )


def _equal(stored: Any, operand: Any) -> bool:
    if isinstance(stored, list):
        return any(_equal(item, operand) for item in stored)
    if isinstance(stored, bool) or isinstance(operand, bool):
        return isinstance(stored, bool) and isinstance(operand, bool) and stored == operand
    if isinstance(stored, str) or isinstance(operand, str):
        return isinstance(stored, str) and isinstance(operand, str) and stored == operand
    return bool(stored == operand)


def _compare(operator: str, stored: Any, operand: Any) -> bool:
    if operator == "$eq":
        return _equal(stored, operand)
    if operator == "$ne":
        return not _equal(stored, operand)
    if operator == "$in":
        return any(_equal(stored, v) for v in operand)
    if operator == "$nin":
        return not any(_equal(stored, v) for v in operand)
    if not _is_number(stored):
        return False
    return bool(
        {
            "$gt": stored > operand,
            "$gte": stored >= operand,
            "$lt": stored < operand,
            "$lte": stored <= operand,
        }[operator]
    )


def matches(node: Mapping[str, Any], metadata: Mapping[str, Any]) -> bool:
    """Whether a (valid) filter holds for one vector's metadata."""
    ((key, value),) = node.items()
    if key == "$and":
        return all(matches(child, metadata) for child in value)
    if key == "$or":
        return any(matches(child, metadata) for child in value)
    conditions = value if isinstance(value, dict) else {"$eq": value}
    present = key in metadata
    for operator, operand in conditions.items():
        if operator == "$exists":
            if present != operand:
                return False
        elif not present or not _compare(operator, metadata[key], operand):
            return False
    return True

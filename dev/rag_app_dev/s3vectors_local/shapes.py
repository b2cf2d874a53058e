"""Input validation driven by the installed botocore's S3 Vectors service model.

botocore checks only required members, types and minimums on the client side; AWS checks
maximums, enums and patterns on the server. This does what AWS does, from the same model,
with Smithy's message forms (observed live: lengths, enums, ranges; the exact wording of
patterns and of several problems in one request is inferred).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape

from rag_app_dev.s3vectors_local.errors import ServiceError


@cache
def operation(name: str) -> OperationModel:
    model = botocore.session.get_session().get_service_model("s3vectors")
    return model.operation_model(name)


@cache
def operation_names() -> frozenset[str]:
    model = botocore.session.get_session().get_service_model("s3vectors")
    return frozenset(model.operation_names)


def _problems(shape: Shape, value: Any, path: str) -> list[str]:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        if not isinstance(value, dict):
            return [f"Value at '{path}' failed to satisfy constraint: Member must be a structure"]
        found: list[str] = []
        for name in shape.required_members:
            if value.get(name) is None:
                found.append(
                    f"Value null at '{path}/{name}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, item in value.items():
            member = shape.members.get(name)
            if member is not None and item is not None:
                found.extend(_problems(member, item, f"{path}/{name}"))
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"Value at '{path}' failed to satisfy constraint: Member must be a list"]
        found = _length(meta, len(value), path)
        for i, item in enumerate(value):
            found.extend(_problems(shape.member, item, f"{path}/{i}"))
        return found
    if kind == "string":
        if not isinstance(value, str):
            return [f"Value at '{path}' failed to satisfy constraint: Member must be a string"]
        found = _length(meta, len(value), path)
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            found.append(
                f"Value at '{path}' failed to satisfy constraint: Member must satisfy enum "
                f"value set: [{', '.join(enum)}]"
            )
        pattern = meta.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            found.append(
                f"Value at '{path}' failed to satisfy constraint: Member must satisfy regular "
                f"expression pattern: {pattern}"
            )
        return found
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"Value at '{path}' failed to satisfy constraint: Member must be an integer"]
        return _range(meta, value, path)
    if kind == "boolean" and not isinstance(value, bool):
        return [f"Value at '{path}' failed to satisfy constraint: Member must be a boolean"]
    return []


def _length(meta: dict[str, Any], n: int, path: str) -> list[str]:
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and n < low) or (high is not None and n > high):
        if high is None:
            rule = f"Member must have length greater than or equal to {low}"
        else:
            rule = f"Member must have length between {low or 0} and {high}, inclusive"
        return [f"Value with length {n} at '{path}' failed to satisfy constraint: {rule}"]
    return []


def _range(meta: dict[str, Any], n: int, path: str) -> list[str]:
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and n < low) or (high is not None and n > high):
        if high is None:
            rule = f"Member must be greater than or equal to {low}"
        else:
            rule = f"Member must be between {low} and {high}, inclusive"
        return [f"Value at '{path}' failed to satisfy constraint: {rule}"]
    return []


def check_input(operation_name: str, body: dict[str, Any]) -> None:
    """Raise ValidationException for the request's model violations, as AWS words them."""
    problems = _problems(operation(operation_name).input_shape, body, "")
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise ServiceError(
            "ValidationException",
            f"{count} validation {noun} detected: " + "; ".join(problems)
            if count > 1
            else f"1 validation error detected. {problems[0]}",
        )


def check_range(value: int, low: int, high: int, path: str) -> None:
    """A range AWS enforces that the model does not state (e.g. topK <= 100)."""
    problems = _range({"min": low, "max": high}, value, path)
    if problems:
        raise ServiceError("ValidationException", f"1 validation error detected. {problems[0]}")

"""``docs/configuration.md``, generated from ``Settings`` (every field's variable, type,
default and description), so the page cannot drift from the code: a test compares the
committed page with this output. Regenerate with ``python -m rag_app.settings_reference``."""

from __future__ import annotations

import sys
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from rag_app.settings import Settings

PAGE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
HEADER = """# Configuration

Every setting is an environment variable with the `RAG_` prefix. `rag_app/settings.py` is
the one place that reads the environment, and unknown `RAG_*` names are refused at start-up.
This page is generated from it (`python -m rag_app.settings_reference > docs/configuration.md`;
a test fails when it is stale).

| variable | type | default | meaning |
|---|---|---|---|
"""


def _type(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:
        return _type(args[0]) + (
            " or unset" if len(args) < len(typing.get_args(annotation)) else ""
        )
    return getattr(annotation, "__name__", str(annotation)).replace("SecretStr", "secret")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "computed"
    if field.default is PydanticUndefined or field.default is None:
        return "unset"
    value = field.default.value if isinstance(field.default, Enum) else field.default
    return f"`{value}`" if value != "" else "empty"


def reference() -> str:
    """The configuration page, one row per setting, in the order ``Settings`` declares."""
    rows = [
        f"| `RAG_{name.upper()}` | {_type(field.annotation)} | {_default(field)} | "
        f"{(field.description or '').replace('|', '/')} |"
        for name, field in Settings.model_fields.items()
    ]
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())

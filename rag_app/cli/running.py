"""What every command shares: settings from the environment (with the command's
overrides), running one action on the opened services, and the shell's error messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console

from rag_app.errors import RagError
from rag_app.postgres.pool import UNAVAILABLE
from rag_app.services import Services, open_services
from rag_app.settings import Settings

T = TypeVar("T")
console = Console(stderr=True)


def load_settings(**overrides: Any) -> Settings:
    """``Settings`` from RAG_* variables; ``overrides`` that are None are left unset."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        raise click.ClickException(f"invalid settings:\n{e}") from None


def run(
    settings: Settings, action: Callable[[Services], Awaitable[T]], *, run_jobs: bool = False
) -> T:
    """Open the services (``run_jobs``: with RAG_INGEST_WORKERS workers taking jobs from the
    queue in this process), run ``action`` on them, and turn the project's errors into a
    one-line message."""

    async def main() -> T:
        async with open_services(settings, run_jobs=run_jobs, emit_metrics=False) as services:
            return await action(services)

    try:
        return asyncio.run(main())
    except RagError as e:
        raise click.ClickException(str(e)) from None
    except UNAVAILABLE as e:
        raise click.ClickException(f"the database is unavailable: {e}") from None


def parse_filters(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that parses as a JSON scalar is that scalar."""
    filters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--filter")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if not isinstance(value, str | int | float | bool):
            value = raw
        filters[key] = value
    return filters

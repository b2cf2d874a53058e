"""Waiting for an AWS batch job (Amazon Transcribe, Textract): poll its status with a
backoff that grows to a ceiling, up to a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rag_app.errors import UnprocessableDocumentError

T = TypeVar("T")


async def poll_until(
    check: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    first_seconds: float,
    max_seconds: float,
    timeout_seconds: float,
) -> T:
    """``check()`` until it returns a value: waits ``first_seconds``, then 1.5 times longer
    each time up to ``max_seconds``; raises ``UnprocessableDocumentError`` after
    ``timeout_seconds`` (the job may still be running on AWS)."""
    deadline = time.monotonic() + timeout_seconds
    delay = first_seconds
    while True:
        result = await check()
        if result is not None:
            return result
        if time.monotonic() + delay > deadline:
            raise UnprocessableDocumentError(f"{what} did not finish in {timeout_seconds:.0f} s")
        await asyncio.sleep(delay)
        delay = min(max_seconds, delay * 1.5)

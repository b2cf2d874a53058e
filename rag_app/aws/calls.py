"""Retrying AWS calls past botocore's own retries, for calls that are safe to repeat.

botocore's ``standard`` mode retries throttling and 5xx a few times; a bulk job (ingesting a
large document while the account is throttled) needs more patience than that. Callers only
use this for idempotent requests: puts that overwrite, deletes, reads, embeddings.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from botocore.exceptions import ClientError

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalServerException",
        "RequestTimeoutException",
        "ModelNotReadyException",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


async def call_with_retries(
    call: Callable[[], T],
    *,
    what: str,
    max_attempts: int,
    backoff_seconds: float,
    on_retry: Callable[[str], None] = lambda code: None,
) -> T:
    """Run the blocking ``call`` in a thread; retry retryable AWS errors with exponential
    backoff and jitter (capped at 5 s), at most ``max_attempts`` times in all."""
    for attempt in range(1, max_attempts + 1):
        try:
            return await anyio.to_thread.run_sync(call)
        except ClientError as e:
            code = error_code(e)
            if code not in RETRYABLE or attempt == max_attempts:
                raise
            on_retry(code)
            delay = min(5.0, backoff_seconds * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            log.warning("%s: %s; retry %d in %.2fs", what, code, attempt, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")

"""The one way the app calls AWS: a boto3 call made in a worker thread, with the service's
errors that mean something to a user mapped to the project's errors.

Retries are not made here. The one retry policy is botocore's, configured once per client
(``aws/clients.py``: ``standard`` mode, or ``adaptive`` for Bedrock, up to
``RAG_AWS_MAX_ATTEMPTS`` attempts), which retries every error the app would retry:
throttling (``ThrottlingException``, ``TooManyRequestsException``, HTTP 429), 5xx
(``InternalServerException``, ``ServiceUnavailableException``), ``RequestTimeoutException``
and errors the service model marks retryable (Bedrock's ``ModelNotReadyException``). Retrying
again on top would multiply the attempts. The project's own backoff is kept only where
botocore has none: waiting for a batch job to finish (``aws/jobs.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio.to_thread
from botocore.exceptions import ClientError

T = TypeVar("T")

# code -> the project error to raise instead, made from the operation and the error.
ErrorMap = Mapping[str, Callable[[str, ClientError], Exception]]


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def retries_of(response: Mapping[str, Any]) -> int:
    """How many times botocore retried the call that gave ``response``."""
    return int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))


class AwsCalls:
    """Calls on one boto3 client. A ``ClientError`` whose code ``errors`` maps raises the
    mapped error instead (chained); any other error propagates as botocore raised it, for
    the caller to handle codes it expects (``NotFoundException`` and the like)."""

    def __init__(self, client: Any, *, errors: ErrorMap | None = None) -> None:
        self._client = client
        self._errors: ErrorMap = errors or {}

    async def __call__(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """``client.<operation>(**kwargs)``'s response."""
        method: Callable[..., dict[str, Any]] = getattr(self._client, operation)
        return await self.run(operation, lambda: method(**kwargs))

    async def run(self, operation: str, call: Callable[[], T]) -> T:
        """``call()`` (blocking, a call of this client named ``operation``), in a thread."""
        try:
            return await anyio.to_thread.run_sync(call)
        except ClientError as e:
            mapped = self._errors.get(error_code(e))
            if mapped is None:
                raise
            raise mapped(operation, e) from None

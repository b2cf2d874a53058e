"""Amazon Titan Text Embeddings v2 on Bedrock (InvokeModel, one text per call).

Throughput comes from bounded concurrency over one shared client; a client-side limiter
keeps calls under the account's requests-per-minute quota (every attempt counts, retries
included), and throttling that still gets through is retried with backoff. Identical texts
in a batch are embedded once. Texts over the model's 50,000-character limit are refused
with a clear error, never truncated.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rag_app import metrics
from rag_app.aws.calls import AwsCalls, retries_of
from rag_app.bedrock_refusals import refusal_errors
from rag_app.errors import InvalidInputError

log = logging.getLogger("rag_app.bedrock")

MAX_INPUT_CHARS = 50_000
DIMENSIONS = (256, 512, 1024)


class RequestRateLimiter:
    """At most ``per_minute`` acquisitions a minute, spaced evenly (blocking; thread-safe)."""

    def __init__(self, per_minute: int) -> None:
        self._interval = 60.0 / per_minute
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class BedrockTitanEmbedder:
    def __init__(
        self,
        client: Any,
        *,
        model_id: str = "amazon.titan-embed-text-v2:0",
        dimensions: int = 1024,
        concurrency: int = 8,
        requests_per_minute: int = 2000,
    ) -> None:
        if dimensions not in DIMENSIONS:
            raise ValueError(f"Titan v2 dimensions must be one of {DIMENSIONS}, got {dimensions}")
        self._client = client
        self._model_id = model_id
        self._dimension = dimensions
        self._concurrency = concurrency
        self._limiter = RequestRateLimiter(requests_per_minute)
        self._calls = AwsCalls(client, errors=refusal_errors(model_id))

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        for text in texts:
            if not text.strip():
                raise InvalidInputError("cannot embed an empty text")
            if len(text) > MAX_INPUT_CHARS:
                raise InvalidInputError(
                    f"a text of {len(text)} characters is over the embedding model's limit of "
                    f"{MAX_INPUT_CHARS}; use smaller chunks"
                )
        unique = list(dict.fromkeys(texts))
        semaphore = asyncio.Semaphore(self._concurrency)

        async def one(text: str) -> NDArray[np.float32]:
            async with semaphore:
                return await self._embed(text)

        vectors = dict(zip(unique, await asyncio.gather(*map(one, unique)), strict=True))
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.stack([vectors[t] for t in texts])

    async def _embed(self, text: str) -> NDArray[np.float32]:
        body = json.dumps({"inputText": text, "dimensions": self._dimension, "normalize": True})

        def invoke() -> dict[str, Any]:
            self._limiter.wait()
            response: dict[str, Any] = self._client.invoke_model(
                modelId=self._model_id,
                body=body,
                contentType="application/json",
                accept="application/json",
            )
            return response

        started = time.perf_counter()
        response = await self._calls.run("invoke_model", invoke)
        if retries := retries_of(response):  # botocore retried (throttling, mostly)
            metrics.emit(metrics.BEDROCK_THROTTLES, retries, Model=self._model_id)
        payload = json.loads(response["body"].read())
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        log.info(
            json.dumps(
                {
                    "event": "bedrock_call",
                    "operation": "InvokeModel",
                    "model_id": self._model_id,
                    "latency_ms": int(
                        headers.get("x-amzn-bedrock-invocation-latency")
                        or (time.perf_counter() - started) * 1000
                    ),
                    "input_tokens": payload.get("inputTextTokenCount"),
                    "throttle_retries": retries_of(response),
                }
            )
        )
        vector = np.asarray(payload["embedding"], dtype=np.float32)
        if vector.shape != (self._dimension,):
            raise ValueError(
                f"Bedrock returned {vector.shape[0]} dimensions, asked for {self._dimension}"
            )
        return vector

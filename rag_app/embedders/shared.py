"""One local embedding model shared by every request of a process, as text-embeddings-
inference and Triton share a model: concurrent query embeddings are micro-batched into one
inference, and ingestion's bulk embeddings never hold a query back.

- Queries (``for_queries()``): each call is one request; when the model is free, the
  dispatcher waits ``window_seconds`` for more to arrive, then runs every waiting query
  (up to ``max_batch`` texts) as one batch. While an inference runs, new queries queue, so
  under load batches form without any wait.
- Bulk (``for_ingest()``): a call's texts run in pieces of at most ``max_batch``; between
  pieces, waiting queries go first. A query therefore waits at most one bulk piece.

The model's own ``embed_batch`` runs one call at a time (a single inference session uses
the cores it was given); padding within a batch is the model's concern (MiniLM groups
texts of similar length).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rag_app.embedders.base import Embedder


@dataclass(eq=False)
class _Request:
    texts: list[str]
    future: asyncio.Future[NDArray[np.float32]]
    parts: list[NDArray[np.float32]] = field(default_factory=list)
    done: int = 0


@dataclass(eq=False)
class _State:
    """The queues of one event loop (a process serves from one; tests make many)."""

    queries: deque[_Request] = field(default_factory=deque)
    bulk: deque[_Request] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


class SharedEmbedder:
    """``inner`` shared by queries and bulk work; see the module docstring."""

    def __init__(self, inner: Embedder, *, window_seconds: float, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._inner = inner
        self._window = window_seconds
        self._max_batch = max_batch
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _State] = (
            weakref.WeakKeyDictionary()
        )
        self.batches = 0
        """Inferences run (for measurements)."""

    @property
    def inner(self) -> Embedder:
        return self._inner

    def for_queries(self) -> Embedder:
        return SharedEmbedderView(self, bulk=False)

    def for_ingest(self) -> Embedder:
        return SharedEmbedderView(self, bulk=True)

    async def embed(self, texts: Sequence[str], *, bulk: bool) -> NDArray[np.float32]:
        """``texts``' vectors in order, queued as a query or as bulk work."""
        if not texts:
            return np.zeros((0, self._inner.dimension), dtype=np.float32)
        loop = asyncio.get_running_loop()
        state = self._states.setdefault(loop, _State())
        request = _Request(list(texts), loop.create_future())
        (state.bulk if bulk else state.queries).append(request)
        if state.worker is None or state.worker.done():
            state.worker = loop.create_task(self._work(state), name="shared-embedder")
        return await request.future

    async def _work(self, state: _State) -> None:
        while state.queries or state.bulk:
            if state.queries:
                if self._window > 0:
                    await asyncio.sleep(self._window)
                await self._run_queries(state)
            else:
                await self._run_bulk_piece(state)

    def _take_queries(self, state: _State) -> list[_Request]:
        taken: list[_Request] = []
        size = 0
        while state.queries:
            request = state.queries[0]
            if request.future.done():  # the caller went away
                state.queries.popleft()
                continue
            if taken and size + len(request.texts) > self._max_batch:
                break
            taken.append(state.queries.popleft())
            size += len(request.texts)
        return taken

    async def _run_queries(self, state: _State) -> None:
        taken = self._take_queries(state)
        if not taken:
            return
        texts = [t for r in taken for t in r.texts]
        try:
            vectors = await self._inner.embed_batch(texts)
        except Exception as e:  # every caller of the batch gets the model's error
            for r in taken:
                if not r.future.done():
                    r.future.set_exception(e)
            return
        finally:
            self.batches += 1
        start = 0
        for r in taken:
            if not r.future.done():
                r.future.set_result(vectors[start : start + len(r.texts)])
            start += len(r.texts)

    async def _run_bulk_piece(self, state: _State) -> None:
        request = state.bulk[0]
        if request.future.done():
            state.bulk.popleft()
            return
        piece = request.texts[request.done : request.done + self._max_batch]
        try:
            vectors = await self._inner.embed_batch(piece)
        except Exception as e:
            state.bulk.popleft()
            if not request.future.done():
                request.future.set_exception(e)
            return
        finally:
            self.batches += 1
        request.parts.append(vectors)
        request.done += len(piece)
        if request.done >= len(request.texts):
            state.bulk.popleft()
            if not request.future.done():
                request.future.set_result(np.concatenate(request.parts))


class SharedEmbedderView:
    """An ``Embedder`` onto a ``SharedEmbedder``'s query or bulk queue."""

    def __init__(self, shared: SharedEmbedder, *, bulk: bool) -> None:
        self._shared = shared
        self._bulk = bulk

    @property
    def shared(self) -> SharedEmbedder:
        return self._shared

    @property
    def model_id(self) -> str:
        return self._shared.inner.model_id

    @property
    def dimension(self) -> int:
        return self._shared.inner.dimension

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return await self._shared.embed(texts, bulk=self._bulk)

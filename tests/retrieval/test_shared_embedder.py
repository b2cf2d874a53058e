"""The shared local embedder: concurrent queries share inferences, bulk work yields to
queries between pieces, errors and departed callers are handled, and batches group texts
of similar length. The model is the real MiniLM unless a test needs it to fail."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder, length_buckets
from rag_app.embedders.shared import SharedEmbedder

pytestmark = pytest.mark.anyio

QUESTIONS = [f"What does clause {i} of the lease say about the deposit?" for i in range(8)]


async def test_concurrent_queries_share_inferences_and_get_their_own_vectors(
    embedder: MiniLmOnnxEmbedder,
) -> None:
    shared = SharedEmbedder(embedder, window_seconds=0.005, max_batch=32)
    queries = shared.for_queries()
    found = await asyncio.gather(*(queries.embed_batch([q]) for q in QUESTIONS))
    assert shared.batches < len(QUESTIONS)  # batched, not one inference per caller
    alone = await embedder.embed_batch(QUESTIONS)
    assert np.allclose(np.concatenate(found), alone, atol=1e-4)
    # max_batch bounds a batch: 8 single-text queries with room for 3 take at least 3 runs.
    small = SharedEmbedder(embedder, window_seconds=0.005, max_batch=3)
    await asyncio.gather(*(small.for_queries().embed_batch([q]) for q in QUESTIONS))
    assert small.batches >= 3


async def test_a_query_does_not_wait_for_bulk_work_to_finish(embedder: MiniLmOnnxEmbedder) -> None:
    shared = SharedEmbedder(embedder, window_seconds=0.0, max_batch=8)
    finished: list[str] = []

    async def bulk() -> None:
        await shared.for_ingest().embed_batch([f"Chunk {i} of a long lease." for i in range(80)])
        finished.append("bulk")

    async def query() -> None:
        await asyncio.sleep(0.01)  # the bulk job is under way
        await shared.for_queries().embed_batch(["who pays the deposit"])
        finished.append("query")

    await asyncio.gather(bulk(), query())
    assert finished == ["query", "bulk"]


class _Failing:
    model_id = "failing"
    dimension = 4

    def __init__(self) -> None:
        self.calls = 0

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls += 1
        await asyncio.sleep(0)
        if any("bad" in t for t in texts):
            raise RuntimeError("the model failed")
        return np.full((len(texts), 4), 0.5, dtype=np.float32)


async def test_a_model_error_reaches_every_caller_of_the_batch_and_the_next_batch_runs() -> None:
    model = _Failing()
    shared = SharedEmbedder(model, window_seconds=0.005, max_batch=8)
    queries = shared.for_queries()
    results = await asyncio.gather(
        queries.embed_batch(["bad"]), queries.embed_batch(["fine"]), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert (await queries.embed_batch(["fine"])).shape == (1, 4)
    with pytest.raises(RuntimeError):
        await shared.for_ingest().embed_batch(["ok", "bad"])
    assert (await shared.for_ingest().embed_batch(["ok"] * 20)).shape == (20, 4)


async def test_a_caller_that_went_away_does_not_break_the_queue() -> None:
    model = _Failing()
    shared = SharedEmbedder(model, window_seconds=0.02, max_batch=8)
    queries = shared.for_queries()
    gone = asyncio.ensure_future(queries.embed_batch(["first"]))
    await asyncio.sleep(0)
    gone.cancel()
    assert (await queries.embed_batch(["second"])).shape == (1, 4)
    assert gone.cancelled()


def test_length_buckets_group_similar_lengths_within_the_batch_size() -> None:
    lengths = [40, 1000, 45, 60, 900, 30, 2000, 50]
    buckets = length_buckets(lengths, batch_size=3)
    assert sorted(i for b in buckets for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 3 for b in buckets)
    assert buckets[0] == [5, 0, 2]  # the three shortest
    for bucket in buckets:
        shortest = lengths[bucket[0]]
        assert max(lengths[i] for i in bucket) <= 2 * shortest + 64
    assert length_buckets([], batch_size=4) == []
    with pytest.raises(ValueError, match="max_batch"):
        SharedEmbedder(_Failing(), window_seconds=0, max_batch=0)

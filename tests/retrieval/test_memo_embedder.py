"""The memoising embedder: a text comes back as the same vector without a second inference,
misses of one call are one batch in order, and the least recently used texts leave first.
The model is the real MiniLM, counted."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from rag_app.embedders.base import Embedder
from rag_app.embedders.memo import MemoEmbedder
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder

pytestmark = pytest.mark.anyio

SENTENCES = [
    "The Tenant shall pay rent monthly.",
    "A late fee of $75 applies.",
    "The deposit is returned within 30 days.",
]


class _Counted:
    """The real model, with the batches it was given."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.batches: list[list[str]] = []

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.batches.append(list(texts))
        return await self.inner.embed_batch(texts)


async def test_a_text_seen_before_is_not_embedded_again(embedder: MiniLmOnnxEmbedder) -> None:
    counted = _Counted(embedder)
    memo = MemoEmbedder(counted, capacity=10)
    assert isinstance(memo, Embedder)
    assert (memo.model_id, memo.dimension) == (embedder.model_id, embedder.dimension)
    first = await memo.embed_batch(SENTENCES[:2])
    asked = [SENTENCES[1], SENTENCES[2], SENTENCES[0], SENTENCES[2]]
    again = await memo.embed_batch(asked)
    # Only the new text went to the model, once, though it was asked for twice.
    assert counted.batches == [SENTENCES[:2], [SENTENCES[2]]]
    assert np.array_equal(again[0], first[1])
    assert np.array_equal(again[2], first[0])
    assert np.array_equal(again[1], again[3])
    assert np.allclose(again, await embedder.embed_batch(asked), atol=1e-4)
    assert (memo.hits, memo.misses) == (2, 3)
    empty = await memo.embed_batch([])
    assert empty.shape == (0, embedder.dimension)


async def test_the_least_recently_used_text_leaves_first(embedder: MiniLmOnnxEmbedder) -> None:
    counted = _Counted(embedder)
    memo = MemoEmbedder(counted, capacity=2)
    await memo.embed_batch(SENTENCES[:2])
    await memo.embed_batch([SENTENCES[0]])  # now the most recently used
    await memo.embed_batch([SENTENCES[2]])  # evicts SENTENCES[1]
    assert len(memo) == 2
    await memo.embed_batch([SENTENCES[0], SENTENCES[1]])
    assert counted.batches[-1] == [SENTENCES[1]]


def test_a_capacity_below_one_is_refused(embedder: MiniLmOnnxEmbedder) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoEmbedder(embedder, capacity=0)

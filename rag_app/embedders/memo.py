"""An embedder that remembers the vectors it computed, for texts that come back: the
extractive answerer's candidate sentences are sentences of the chunks that searches return,
and the same chunks come back for related questions, so their vectors are computed once per
process rather than once per ask.

Bounded: the ``capacity`` most recently used texts are kept (384 float32s and the text
each, about 2 KB with MiniLM). Concurrent misses of the same text may both embed it; the
vectors are the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from rag_app.embedders.base import Embedder


class MemoEmbedder:
    """``inner``'s vectors, each text embedded once while it stays among the ``capacity``
    most recently used; misses of one call go to ``inner`` as one batch, in order."""

    def __init__(self, inner: Embedder, *, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._inner = inner
        self._capacity = capacity
        self._vectors: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        """Texts found and texts embedded (for measurements)."""

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def __len__(self) -> int:
        return len(self._vectors)

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            known = self._vectors.get(text)
            if known is None:
                missing.setdefault(text, []).append(i)
            else:
                self._vectors.move_to_end(text)
                out[i] = known
        self.hits += len(texts) - sum(len(at) for at in missing.values())
        self.misses += len(missing)
        if missing:
            fresh = await self._inner.embed_batch(list(missing))
            for (text, at), vector in zip(missing.items(), fresh, strict=True):
                out[at] = vector
                self._vectors[text] = vector.copy()  # not a view holding the whole batch
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._capacity:
                self._vectors.popitem(last=False)
        return out

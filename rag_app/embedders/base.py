from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors.

    ``model_id`` and ``dimension`` name the vector space: vectors of different models or
    dimensions are never compared or stored in the same index.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed ``texts`` in order; returns shape ``(len(texts), dimension)``.

        An empty sequence returns an empty ``(0, dimension)`` array. Inputs longer than the
        model reads are embedded from their beginning; callers keep chunks within the limit.
        """
        ...


async def embed_query(embedder: Embedder, text: str) -> NDArray[np.float32]:
    """One vector for one text."""
    vector: NDArray[np.float32] = (await embedder.embed_batch([text]))[0]
    return vector

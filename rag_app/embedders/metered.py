"""An embedder that reports how many texts it embedded: ingestion's embedder, so a run can
show that every chunk was embedded once (and the API process's embedder never was)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from rag_app.embedders.base import Embedder
from rag_app.metrics import MetricsLog


class MeteredEmbedder:
    """Delegates to ``inner``; after each batch, an EMF line ``TextsEmbedded`` = its size."""

    def __init__(self, inner: Embedder, metrics: MetricsLog) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = await self._inner.embed_batch(texts)
        if texts:
            self._metrics.emit({"TextsEmbedded": len(texts)}, role="ingest")
        return vectors

"""An embedder for benchmark runs that keeps every vector it makes on disk, so a run that
ingests the same texts again (the SPDX evaluation: 685 licences, about an hour of local
embedding on the shared cores) embeds only the texts no earlier run embedded.

Benchmarks only: the service's vectors are never cached across processes. The cache is a
folder per model under benchmarks/.cache/vectors/, one part (``.npy`` + ``.json`` of its
texts) per call that embedded something, written as soon as the call returns, so a
stopped run keeps what it did. The same text with the same model gives the same vector,
which is what makes a cached vector as good as a new one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rag_app.embedders.base import Embedder


class CachedEmbedder:
    """``inner``'s vectors; texts found in ``folder``'s parts are not embedded again."""

    def __init__(self, inner: Embedder, folder: Path) -> None:
        self._inner = inner
        slug = re.sub(r"[^a-z0-9]+", "-", f"{inner.model_id}-{inner.dimension}".lower())
        self._folder = folder / slug
        self._folder.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, NDArray[np.float32]] = {}
        for texts_file in sorted(self._folder.glob("*.json")):
            vectors_file = texts_file.with_suffix(".npy")
            if vectors_file.exists():  # a part whose vectors were not written is ignored
                texts = json.loads(texts_file.read_text())
                self._vectors.update(zip(texts, np.load(vectors_file), strict=True))
        self.hits = 0
        self.misses = 0

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    async def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = (await self._inner.embed_batch(missing)).astype(np.float32)
            part = hashlib.sha256("\0".join(missing).encode()).hexdigest()[:16]
            (self._folder / f"{part}.json").write_text(json.dumps(missing))
            np.save(self._folder / f"{part}.tmp.npy", vectors)
            # The rename comes last: a part is whole once its .npy exists.
            (self._folder / f"{part}.tmp.npy").replace(self._folder / f"{part}.npy")
            self._vectors.update(zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

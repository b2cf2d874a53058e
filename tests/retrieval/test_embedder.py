from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag_app.embedders import minilm_onnx
from rag_app.embedders.base import Embedder
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.errors import ConfigurationError

pytestmark = pytest.mark.anyio


async def test_vectors_are_unit_length_and_semantic(embedder: MiniLmOnnxEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    vectors = await embedder.embed_batch(
        [
            "The court dismissed the complaint for lack of jurisdiction.",
            "The lawsuit was thrown out because the court had no authority to hear it.",
            "Preheat the oven to 200 degrees and bake for twenty minutes.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.5 > sims[0, 2]


async def test_batching_and_order_do_not_change_vectors(embedder: MiniLmOnnxEmbedder) -> None:
    texts = [f"Clause {i}: the tenant shall pay rent on day {i}." * (i % 5 + 1) for i in range(70)]
    together = await embedder.embed_batch(texts)
    alone = np.stack([(await embedder.embed_batch([t]))[0] for t in texts[:5]])
    assert np.allclose(together[:5], alone, atol=1e-4)


async def test_empty_batch(embedder: MiniLmOnnxEmbedder) -> None:
    assert (await embedder.embed_batch([])).shape == (0, 384)


def test_a_model_file_with_the_wrong_digest_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(ConfigurationError, match="sha256"):
        minilm_onnx._verified(fake, minilm_onnx.MODEL_SHA256)

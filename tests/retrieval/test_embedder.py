from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag_app.embedders import minilm_onnx
from rag_app.embedders.base import Embedder
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.embedders.shared import SharedEmbedder
from rag_app.errors import ConfigurationError
from tests.conftest import CORPUS

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["minilm", "shared-queries", "shared-bulk"])
def any_embedder(request: pytest.FixtureRequest, embedder: MiniLmOnnxEmbedder) -> Embedder:
    """The Embedder contract holds for the model and for both views of it shared."""
    if request.param == "minilm":
        return embedder
    shared = SharedEmbedder(embedder, window_seconds=0.001, max_batch=16)
    return shared.for_queries() if request.param == "shared-queries" else shared.for_ingest()


async def test_vectors_are_unit_length_and_semantic(any_embedder: Embedder) -> None:
    assert isinstance(any_embedder, Embedder)
    assert any_embedder.dimension == 384
    vectors = await any_embedder.embed_batch(
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


async def test_batching_and_order_do_not_change_vectors(any_embedder: Embedder) -> None:
    texts = [f"Clause {i}: the tenant shall pay rent on day {i}." * (i % 5 + 1) for i in range(70)]
    together = await any_embedder.embed_batch(texts)
    alone = np.stack([(await any_embedder.embed_batch([t]))[0] for t in texts[:5]])
    assert np.allclose(together[:5], alone, atol=1e-4)


async def test_empty_batch(any_embedder: Embedder) -> None:
    assert (await any_embedder.embed_batch([])).shape == (0, 384)


CORPUS_PDF = CORPUS / "pdf" / "federal-register-2020-17221.pdf"


async def test_both_engines_give_the_same_vectors_on_real_text(
    embedder: MiniLmOnnxEmbedder,
) -> None:
    """An index built on one engine is searched with the other: the model id is the same, so
    their vectors must agree (OpenVINO runs bfloat16 on this machine's AMX, ONNX Runtime float32)."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(CORPUS_PDF)
    words = " ".join(page.get_textpage().get_text_range() for page in pdf).split()
    # Chunk-sized (about 256 word-pieces, truncated) and sentence-sized texts.
    texts = [" ".join(words[i : i + 180]) for i in range(0, 180 * 12, 180)]
    texts += [" ".join(words[i : i + 15]) for i in range(0, 15 * 20, 15)]
    reference = await MiniLmOnnxEmbedder(runtime="onnxruntime").embed_batch(texts)
    vectors = await embedder.embed_batch(texts)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines.min()


def test_a_model_file_with_the_wrong_digest_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(ConfigurationError, match="sha256"):
        minilm_onnx._verified(fake, minilm_onnx.MODEL_SHA256)

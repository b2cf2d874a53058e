"""The Embedder contract over every backend: the local MiniLM (ONNX model on OpenVINO, the
default, and on ONNX Runtime) and Bedrock Titan v2 through the real boto3 client against the
local Bedrock double."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rag_app.embedders.base import Embedder, embed_query
from rag_app.embedders.bedrock_titan import BedrockTitanEmbedder
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app_dev.bedrock_local import LocalBedrock
from tests.conftest import local_client

pytestmark = pytest.mark.anyio

TEXTS = ["The Tenant shall pay rent monthly.", "A late fee of $75 applies.", "Schedule A."]


@pytest.fixture(scope="module")
def minilm_on_onnxruntime() -> MiniLmOnnxEmbedder:
    return MiniLmOnnxEmbedder(runtime="onnxruntime")


@pytest.fixture(params=["minilm", "minilm-onnxruntime", "bedrock-titan"])
def embedder(
    request: pytest.FixtureRequest,
    embedder: MiniLmOnnxEmbedder,
    minilm_on_onnxruntime: MiniLmOnnxEmbedder,
    bedrock_server: LocalBedrock,
) -> Any:
    if request.param == "minilm":
        return embedder
    if request.param == "minilm-onnxruntime":
        return minilm_on_onnxruntime
    client = local_client("bedrock-runtime", bedrock_server.endpoint_url)
    return BedrockTitanEmbedder(client, dimensions=256)


async def test_it_is_an_embedder_with_a_named_space(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.model_id
    assert embedder.dimension > 0


async def test_vectors_come_in_order_with_the_spaces_dimension_and_unit_length(
    embedder: Embedder,
) -> None:
    vectors = await embedder.embed_batch(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dimension)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    one_by_one = np.stack([await embed_query(embedder, t) for t in TEXTS])
    assert np.allclose(vectors, one_by_one, atol=1e-4)  # order kept, batch-independent


async def test_an_empty_batch_gives_an_empty_array_of_the_dimension(embedder: Embedder) -> None:
    vectors = await embedder.embed_batch([])
    assert vectors.shape == (0, embedder.dimension)


async def test_identical_texts_get_identical_vectors(embedder: Embedder) -> None:
    vectors = await embedder.embed_batch([TEXTS[0], TEXTS[1], TEXTS[0]])
    assert np.array_equal(vectors[0], vectors[2])
    assert not np.array_equal(vectors[0], vectors[1])

"""The embedders by name (``RAG_EMBEDDER``)."""

from __future__ import annotations

import os
from collections.abc import Callable

from rag_app.aws.clients import AwsClients
from rag_app.embedders.base import Embedder
from rag_app.embedders.shared import SharedEmbedder
from rag_app.settings import Settings


def _local(settings: Settings, aws: AwsClients) -> Embedder:
    from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder  # the 'local' extra

    # One model shared by the process's queries and ingestion (embedders/shared.py).
    return SharedEmbedder(
        MiniLmOnnxEmbedder(
            batch_size=settings.embed_batch_size,
            threads=settings.embed_threads or os.cpu_count() or 1,
            runtime=settings.embed_runtime,
        ),
        window_seconds=settings.embed_batch_window_ms / 1000,
        max_batch=settings.embed_batch_size,
    ).for_queries()


def _bedrock(settings: Settings, aws: AwsClients) -> Embedder:
    from rag_app.embedders.bedrock_titan import BedrockTitanEmbedder

    return BedrockTitanEmbedder(
        aws.client("bedrock-runtime"),
        model_id=settings.bedrock_embedding_model_id,
        dimensions=settings.bedrock_embedding_dimensions,
        concurrency=settings.bedrock_embedding_concurrency,
        requests_per_minute=settings.bedrock_embedding_rpm,
    )


BACKENDS: dict[str, Callable[[Settings, AwsClients], Embedder]] = {
    "local": _local,
    "bedrock": _bedrock,
}


def build(settings: Settings, aws: AwsClients) -> Embedder:
    """The embedder ``settings.embedder`` names (loads the local model: call off the loop)."""
    return BACKENDS[settings.embedder](settings, aws)

"""The answerers by name (``RAG_ANSWERER``)."""

from __future__ import annotations

from collections.abc import Callable

from rag_app.answerers.base import Answerer
from rag_app.answerers.bedrock import BedrockAnswerer
from rag_app.answerers.extractive import ExtractiveAnswerer
from rag_app.aws.clients import AwsClients
from rag_app.embedders.base import Embedder
from rag_app.embedders.memo import MemoEmbedder
from rag_app.settings import Settings


def _extractive(settings: Settings, aws: AwsClients, embedder: Embedder) -> Answerer:
    if settings.answer_sentence_cache:
        embedder = MemoEmbedder(embedder, capacity=settings.answer_sentence_cache)
    return ExtractiveAnswerer(
        embedder, min_score=settings.answer_min_score, max_sentences=settings.answer_max_sentences
    )


def _bedrock(settings: Settings, aws: AwsClients, embedder: Embedder) -> Answerer:
    return BedrockAnswerer(
        aws.client("bedrock-runtime"),
        model_id=settings.bedrock_answer_model_id,
        max_tokens=settings.bedrock_max_tokens,
        temperature=settings.bedrock_temperature,
    )


BACKENDS: dict[str, Callable[[Settings, AwsClients, Embedder], Answerer]] = {
    "extractive": _extractive,
    "bedrock": _bedrock,
}


def build(settings: Settings, aws: AwsClients, embedder: Embedder) -> Answerer:
    """The answerer ``settings.answerer`` names; the extractive one scores sentences with
    ``embedder``."""
    return BACKENDS[settings.answerer](settings, aws, embedder)

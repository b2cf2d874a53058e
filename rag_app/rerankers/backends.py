"""The reranker ``RAG_RERANKER`` names."""

from __future__ import annotations

from rag_app.aws.clients import AwsClients
from rag_app.rerankers.base import Reranker
from rag_app.settings import Settings


def build(settings: Settings, aws: AwsClients) -> Reranker | None:
    """None for ``none`` (the search's own order); Bedrock's Rerank API for ``bedrock``."""
    if settings.reranker == "none":
        return None
    from rag_app.rerankers.bedrock import BedrockReranker

    return BedrockReranker(
        aws.client("bedrock-agent-runtime"), model_id=settings.bedrock_rerank_model_id
    )

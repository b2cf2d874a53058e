"""The conversation store and query rewriter ``Settings`` name: PostgreSQL beside a
PostgreSQL catalog, else JSON objects in the documents bucket; a Bedrock rewrite call when
answers come from Bedrock, else the local rewrite."""

from __future__ import annotations

from typing import Any

from rag_app.aws.clients import AwsClients
from rag_app.blobstores.base import BlobStore
from rag_app.conversations.objects import ObjectConversationStore
from rag_app.conversations.postgres import PostgresConversationStore
from rag_app.conversations.rewrite import BedrockRewriter, LocalRewriter, QueryRewriter
from rag_app.conversations.service import ConversationService
from rag_app.conversations.store import ConversationStore
from rag_app.retrieval import QueryService
from rag_app.settings import Settings


def _rewriter(settings: Settings, aws: AwsClients) -> QueryRewriter:
    if settings.answerer != "bedrock":
        return LocalRewriter()
    return BedrockRewriter(aws.client("bedrock-runtime"), model_id=settings.bedrock_answer_model_id)


def build(
    settings: Settings,
    aws: AwsClients,
    *,
    pool: Any | None,
    blobs: BlobStore,
    queries: QueryService,
) -> ConversationService:
    store: ConversationStore
    if settings.catalog == "postgres":
        assert pool is not None  # settings.needs_postgres
        store = PostgresConversationStore(pool)
    else:
        store = ObjectConversationStore(blobs)
    return ConversationService(
        store=store,
        queries=queries,
        rewriter=_rewriter(settings, aws),
        retention_days=settings.conversation_retention_days,
    )

"""Amazon Bedrock's Rerank API (``bedrock-agent-runtime`` ``Rerank``) over inline text
sources: one call per search, with the candidates' texts; the model (Cohere Rerank 3.5 by
default, the one Rerank model offered in us-east-1) returns each source's index and
relevance score. IAM: ``bedrock:Rerank`` and ``bedrock:InvokeModel`` on the rerank model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rag_app.aws.calls import AwsCalls
from rag_app.domain import Hit

MAX_SOURCES = 1000  # the API's limit on sources per call
MAX_TEXT_CHARS = 32_000  # per text document and per query


def model_arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


class BedrockReranker:
    """``Rerank`` on a boto3 ``bedrock-agent-runtime`` client (its retry mode retries
    throttling)."""

    name = "bedrock"

    def __init__(self, client: Any, *, model_id: str) -> None:
        self._calls = AwsCalls(client)
        self._model_id = model_id
        self._arn = model_arn(client.meta.region_name, model_id)

    async def rerank(self, query: str, hits: Sequence[Hit], *, top_k: int) -> list[Hit]:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if not hits:
            return []
        candidates = list(hits[:MAX_SOURCES])
        request = {
            "queries": [{"type": "TEXT", "textQuery": {"text": query[:MAX_TEXT_CHARS]}}],
            "sources": [
                {
                    "type": "INLINE",
                    "inlineDocumentSource": {
                        "type": "TEXT",
                        "textDocument": {"text": h.chunk.text[:MAX_TEXT_CHARS] or " "},
                    },
                }
                for h in candidates
            ],
            "rerankingConfiguration": {
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "modelConfiguration": {"modelArn": self._arn},
                    "numberOfResults": min(top_k, len(candidates)),
                },
            },
        }
        response = await self._calls("rerank", **request)
        ranked: list[Hit] = []
        seen: set[int] = set()
        for result in response.get("results", []):
            index = result.get("index")
            if isinstance(index, int) and 0 <= index < len(candidates) and index not in seen:
                seen.add(index)
                score = float(result.get("relevanceScore", 0.0))
                ranked.append(dataclasses.replace(candidates[index], score=score))
        return ranked[:top_k]

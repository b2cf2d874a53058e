"""Text embedders: local MiniLM (ONNX) for local mode; Bedrock Titan in AWS."""

from rag_app.embedders.base import Embedder, embed_query

__all__ = ["Embedder", "embed_query"]

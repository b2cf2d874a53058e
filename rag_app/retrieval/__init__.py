"""Retrieval: question -> embedding -> hits (vector, keyword, or both fused) -> answer whose
citations are checked once, for every answerer (``QueryService``)."""

from rag_app.retrieval.service import QueryService

__all__ = ["QueryService"]

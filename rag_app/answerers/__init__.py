"""Answerers: extractive (local, no LLM) and, in AWS, Bedrock Converse."""

from rag_app.answerers.base import Answerer, collect_answer

__all__ = ["Answerer", "collect_answer"]

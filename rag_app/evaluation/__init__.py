"""Retrieval quality: known-item questions (JSONL), the ranks the service gives their
answers, and the metrics computed from those ranks (``rag-app eval``)."""

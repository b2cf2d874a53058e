"""Ingestion: file -> pages -> chunks -> embeddings -> store, as background jobs."""

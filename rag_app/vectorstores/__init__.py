"""Vector stores: pgvector (embedded PostgreSQL locally, Aurora in AWS) and, later, S3 Vectors."""

from rag_app.vectorstores.base import VectorStore, index_name

__all__ = ["VectorStore", "index_name"]

"""The documents domain: what a caller may submit, list, read and delete (``DocumentService``),
shared by the HTTP API and the CLI."""

from rag_app.documents.service import MAX_OFFSET, DocumentService

__all__ = ["MAX_OFFSET", "DocumentService"]

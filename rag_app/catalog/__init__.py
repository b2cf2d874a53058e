"""The document catalog: documents and their ingestion jobs."""

from rag_app.catalog.base import Catalog, DocumentPage

__all__ = ["Catalog", "DocumentPage"]

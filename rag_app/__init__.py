"""rag-app: a retrieval-augmented generation service for legal documents."""

__version__ = "0.1.0"

"""The documents domain: what a caller may submit, list, read and delete (``DocumentService``),
shared by the HTTP API and the CLI."""

from rag_app.documents.service import MAX_OFFSET, DocumentService
from rag_app.ingest.service import Submission, Upload
from rag_app.ingest.validation import parse_metadata

__all__ = ["MAX_OFFSET", "DocumentService", "Submission", "Upload", "parse_metadata"]

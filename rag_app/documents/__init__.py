"""The documents domain: what a caller may submit, list, read and delete (``DocumentService``),
shared by the HTTP API and the CLI."""

from rag_app.documents.service import (
    MAX_OFFSET,
    OCTET_STREAM,
    DocumentService,
    inline_disposition,
)
from rag_app.ingest.files import FILE_TYPES
from rag_app.ingest.service import Submission, Upload
from rag_app.ingest.validation import parse_metadata

# What a stored original's media type can be (downloads declare each).
STORED_MEDIA_TYPES = sorted({t.media_type for t in FILE_TYPES})

__all__ = [
    "MAX_OFFSET",
    "OCTET_STREAM",
    "STORED_MEDIA_TYPES",
    "DocumentService",
    "Submission",
    "Upload",
    "inline_disposition",
    "parse_metadata",
]

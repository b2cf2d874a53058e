from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rag_app.domain import Document, Job, JobStatus


@dataclass(frozen=True, slots=True)
class DocumentPage:
    items: list[Document]
    total: int


@runtime_checkable
class Catalog(Protocol):
    """Documents and jobs by id. ``save_*`` inserts or replaces the whole record."""

    async def get_document(self, document_id: str) -> Document | None: ...

    async def find_document_by_content(self, collection: str, sha256: str) -> Document | None:
        """A document of ``collection`` whose current content has this digest, if any."""
        ...

    async def list_documents(
        self, *, collections: frozenset[str] | None, limit: int, offset: int
    ) -> DocumentPage:
        """Oldest first (stable across pages), of the given collections (None: every one;
        an empty set: none)."""
        ...

    async def save_document(self, document: Document) -> None: ...

    async def delete_document(self, document_id: str) -> bool:
        """Remove the document and its jobs; ``False`` if there was no such document."""
        ...

    async def get_job(self, job_id: str) -> Job | None: ...

    async def save_job(self, job: Job) -> None: ...

    async def list_jobs(
        self, *, status: JobStatus | None, collections: frozenset[str] | None, limit: int
    ) -> list[Job]:
        """Newest first, at most ``limit``, with that status (None: any) and of the given
        collections (None: every one; an empty set: none)."""
        ...

    async def unfinished_jobs(self) -> list[Job]:
        """Jobs still queued or running, oldest first (to resume after a restart)."""
        ...

    async def check(self) -> None:
        """Raise if the catalog cannot serve requests now (readiness)."""
        ...

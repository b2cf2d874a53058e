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
    """Documents and jobs by id, safe for several writers (API replicas and workers).

    Content is unique per collection: no two documents of one collection have the same
    ``content_sha256`` (a constraint of the store, not a check before a write). Every
    conditional method below decides in one atomic operation of the store, so of two
    processes racing for the same thing exactly one wins.
    """

    async def get_document(self, document_id: str) -> Document | None: ...

    async def find_document_by_content(self, collection: str, sha256: str) -> Document | None:
        """The document of ``collection`` whose current content has this digest, if any."""
        ...

    async def list_documents(
        self, *, collections: frozenset[str] | None, limit: int, offset: int
    ) -> DocumentPage:
        """Oldest first (stable across pages), of the given collections (None: every one;
        an empty set: none)."""
        ...

    async def create_document(self, document: Document) -> Document | None:
        """Insert a new document unless its id, or its content in its collection, is taken.

        ``None`` when it was inserted; otherwise the document that holds the id or the
        content, and nothing is written. Of two identical uploads at once, exactly one
        creates the document and the other gets it back.
        """
        ...

    async def save_document(self, document: Document) -> None:
        """Insert or replace the whole record. Raises ``ConflictError`` (and writes nothing)
        when another document of the collection holds ``content_sha256``."""
        ...

    async def delete_document(self, document_id: str) -> bool:
        """Remove the document and its jobs; ``False`` if there was no such document."""
        ...

    async def get_job(self, job_id: str) -> Job | None: ...

    async def save_job(self, job: Job) -> None:
        """Insert or replace the whole record, unconditionally (a new job, or a test)."""
        ...

    async def replace_job(self, job: Job, *, previous: Job) -> bool:
        """Write ``job`` only if the stored record is still ``previous`` (same status and
        ``updated_at``, its version; a stage advanced in memory only does not count):
        optimistic concurrency, so of several writers that read the same
        record exactly one wins (claiming a job, or a state transition fenced against a
        worker that lost it). ``False``, writing nothing, for the others and for a job that
        is gone."""
        ...

    async def list_jobs(
        self, *, status: JobStatus | None, collections: frozenset[str] | None, limit: int
    ) -> list[Job]:
        """Newest first, at most ``limit``, with that status (None: any) and of the given
        collections (None: every one; an empty set: none)."""
        ...

    async def unfinished_jobs(self) -> list[Job]:
        """Jobs still queued or running, oldest first (to resume after a restart)."""
        ...

    async def acquire_swap(self, document_id: str, holder: str, *, lease_seconds: float) -> bool:
        """Take the document's version-swap lease for ``holder`` (a job id), if it is free,
        expired, or ``holder``'s already (then it is extended). While held, only the holder
        replaces the document's chunks and its indexed version, so two versions swapped in at
        once cannot leave a mix of both; a holder that dies loses it after ``lease_seconds``.
        ``False`` while someone else holds it."""
        ...

    async def release_swap(self, document_id: str, holder: str) -> None:
        """Give the lease back if ``holder`` still holds it (otherwise do nothing)."""
        ...

    async def check(self) -> None:
        """Raise if the catalog cannot serve requests now (readiness)."""
        ...

"""Where a migration run stands, so a killed run continues instead of starting over.

The checkpoint is one JSON object in the deployment's BlobStore (``migrations/<run>.json``):
a folder under ``RAG_DATA_DIR`` locally, the documents bucket on AWS. That is the one place
every deployment has (Option 1 has no database), and it outlives the one-off task that runs
the migration (a container's disk does not). ``put`` is atomic, so a crash leaves the
previous checkpoint or the new one, never half of one.

It is saved after a page's documents are fully written (chunks, then catalog records), and
names the last such source document. A restart re-reads from the next document; documents
written after the last save are written again, which replaces them (``upsert_document``
replaces a document's whole chunk set), so every chunk ends up present exactly once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from rag_app.blobstores.base import BlobStore


@dataclass
class Checkpoint:
    run: str
    description: str
    after_document: Any = None
    """The last source document written whole (its JSON value); ``None``: none yet."""
    after_collection: str | None = None
    """That document's source collection (with a collection join)."""
    rows_read: int = 0
    rows_written: int = 0
    documents_written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    by_collection: dict[str, list[int]] = field(default_factory=dict)
    """Target collection -> [documents, chunks] written."""
    finished: bool = False


def run_name(kind: str, *identity: str) -> str:
    """A stable name for one migration: the same source and target give the same name."""
    digest = hashlib.sha256("\x1f".join(identity).encode()).hexdigest()[:16]
    return f"{kind}-{digest}"


def _json_value(value: Any) -> Any:
    """Keys go back to PostgreSQL as they came: ints as ints, anything else as text (sent
    untyped, so the server casts it to the column's type)."""
    return value if value is None or isinstance(value, int | str) else str(value)


class CheckpointStore:
    def __init__(self, blobs: BlobStore, run: str) -> None:
        self._blobs = blobs
        self.key = f"migrations/{run}.json"

    async def load(self) -> Checkpoint | None:
        try:
            values = json.loads(await self._blobs.get(self.key))
        except KeyError:
            return None
        return Checkpoint(**values)

    async def save(self, checkpoint: Checkpoint) -> None:
        values = asdict(checkpoint)
        values["after_document"] = _json_value(checkpoint.after_document)
        body = json.dumps(values, indent=1).encode()
        await self._blobs.put(self.key, body, content_type="application/json")

    async def delete(self) -> None:
        await self._blobs.delete(self.key)

"""The inbox for bulk loads: an object put under ``inbox/<collection>/`` in the documents
bucket becomes an upload to that collection (the S3 event notification goes to the job
queue; a worker reads the object and submits it like an API upload, duplicates included).

The title is the object's key below the collection (``exhibits/2019/a.pdf`` for
``inbox/exhibits/2019/a.pdf`` is ``2019/a.pdf``) unless the object's user metadata gives
one (``x-amz-meta-title``); ``x-amz-meta-document-id`` replaces that document's content.
The inbox object is left in place: `aws s3 sync` then uploads only what changed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import anyio.to_thread

from rag_app.errors import InvalidInputError
from rag_app.ingest.service import Upload
from rag_app.jobqueue.base import InboxObject

PREFIX = "inbox/"


def collection_of(key: str) -> tuple[str, str]:
    """``(collection, rest)`` of an inbox key; raises InvalidInputError for other keys."""
    if not key.startswith(PREFIX):
        raise InvalidInputError(f"{key!r} is not under {PREFIX}")
    collection, sep, rest = key[len(PREFIX) :].partition("/")
    if not sep or not collection or not rest or rest.endswith("/"):
        raise InvalidInputError(f"{key!r} is not {PREFIX}<collection>/<file>")
    return collection, rest


class InboxReader:
    """Reads inbox objects with an S3 client (the workers' role may read ``inbox/*``)."""

    def __init__(self, client: Any, *, max_bytes: int) -> None:
        self._s3 = client
        self._max_bytes = max_bytes

    async def upload(self, found: InboxObject) -> Upload:
        """The upload an inbox object stands for. Keys outside ``inbox/<collection>/``,
        and objects over ``max_bytes``, raise InvalidInputError; a missing object raises
        the client's error (a later event, or none, will say what happened)."""
        collection, rest = collection_of(found.key)

        def read() -> tuple[bytes, dict[str, str]]:
            head = self._s3.head_object(Bucket=found.bucket, Key=found.key)
            if head["ContentLength"] > self._max_bytes:
                raise InvalidInputError(
                    f"s3://{found.bucket}/{found.key} is {head['ContentLength']} bytes; "
                    f"the limit is {self._max_bytes}"
                )
            response = self._s3.get_object(Bucket=found.bucket, Key=found.key)
            return response["Body"].read(), dict(response.get("Metadata", {}))

        data, metadata = await anyio.to_thread.run_sync(read)
        # S3 user metadata is ASCII on the wire; clients percent-encode anything else.
        title = unquote(metadata["title"]) if metadata.get("title") else rest
        return Upload(
            filename=rest.rsplit("/", 1)[-1],
            data=data,
            title=title,
            collection=collection,
            document_id=metadata.get("document-id") or None,
        )

"""The speech-to-text seam: timed segments for an audio or video file, from faster-whisper
in the process (``transcriber_whisper.py``) or from Amazon Transcribe batch jobs
(``transcriber_aws.py``)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from rag_app.domain import Transcript
from rag_app.ingest.files import StoredFile


@runtime_checkable
class Transcriber(Protocol):
    """Turns speech into a ``Transcript``.

    - Segments come back in time order with ``start_s <= end_s``, in seconds from the start
      of the media; ``source`` names the engine and model.
    - A file with no speech gives a transcript with no segments (not an error: the caller
      decides what an empty transcript means).
    - It raises ``UnprocessableDocumentError`` for media it cannot decode (an empty file
      included), and ``ConfigurationError`` when the engine cannot run at all (not
      installed, no access).
    - It may take minutes for long media; it runs as part of an ingestion job, never in a
      request.
    """

    @property
    def name(self) -> str:
        """The engine and model, as documents report it (``faster-whisper tiny.en``)."""
        ...

    async def transcribe(self, media: StoredFile) -> Transcript: ...

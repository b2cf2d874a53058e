"""Amazon Transcribe batch jobs for the deployed stacks: the media is already in the
documents bucket, Transcribe reads it there and writes its JSON transcript back to the same
bucket (``transcribe/<job>.json`` under the blob prefix), which is read, parsed into timed
segments (a sentence or a speaker turn each), then deleted with the job.

The job name derives from the media's key, so a job resumed after a restart finds the
Transcribe job it started (``ConflictException``) and waits for it instead of paying twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from botocore.exceptions import ClientError

from rag_app.aws.calls import AwsCalls, error_code
from rag_app.aws.jobs import poll_until
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.domain import Segment, Transcript
from rag_app.errors import ConfigurationError, UnprocessableDocumentError
from rag_app.ingest.files import StoredFile

log = logging.getLogger(__name__)

SENTENCE_END = frozenset(".?!")
NO_ACCESS = frozenset({"AccessDeniedException", "UnrecognizedClientException"})


def _no_access(operation: str, error: ClientError) -> Exception:
    return ConfigurationError(
        f"Amazon Transcribe refused {operation}: {error} (the task role needs "
        "transcribe:StartTranscriptionJob, GetTranscriptionJob, "
        "DeleteTranscriptionJob and S3 access to the documents bucket)"
    )


def segments_of(result: dict[str, Any]) -> tuple[Segment, ...]:
    """Transcribe's ``results.items`` grouped into sentences, split again where the speaker
    changes; punctuation joins the word before it."""
    segments: list[Segment] = []
    words: list[str] = []
    start = end = 0.0
    speaker: str | None = None

    def close() -> None:
        if words:
            segments.append(Segment(start, end, " ".join(words), speaker))
            words.clear()

    for item in result.get("results", {}).get("items", []):
        content = item["alternatives"][0]["content"]
        if item["type"] == "punctuation":
            if words:
                words[-1] += content
                if content in SENTENCE_END:
                    close()
            continue
        label = item.get("speaker_label")
        if words and label != speaker:
            close()
        if not words:
            start, speaker = float(item["start_time"]), label
        words.append(content)
        end = float(item["end_time"])
    close()
    return tuple(segments)


class AmazonTranscribeTranscriber:
    def __init__(
        self,
        client: Any,
        blobs: S3BlobStore,
        *,
        language_code: str = "en-US",
        max_speakers: int = 10,
        timeout_seconds: float = 7200,
        first_poll_seconds: float = 5.0,
        max_poll_seconds: float = 60.0,
    ) -> None:
        self._client = client
        self._calls = AwsCalls(client, errors=dict.fromkeys(NO_ACCESS, _no_access))
        self._blobs = blobs
        self._language = language_code
        self._max_speakers = max_speakers
        self._timeout = timeout_seconds
        self._first_poll = first_poll_seconds
        self._max_poll = max_poll_seconds

    @property
    def name(self) -> str:
        return "amazon-transcribe"

    async def _start(self, job_name: str, media: StoredFile, output_key: str) -> None:
        bucket, media_key = self._blobs.location(media.key)
        try:
            await self._calls(
                "start_transcription_job",
                TranscriptionJobName=job_name,
                LanguageCode=self._language,
                Media={"MediaFileUri": f"s3://{bucket}/{media_key}"},
                OutputBucketName=bucket,
                OutputKey=self._blobs.location(output_key)[1],
                Settings={"ShowSpeakerLabels": True, "MaxSpeakerLabels": self._max_speakers},
            )
        except ClientError as e:
            if error_code(e) == "ConflictException":  # started before a restart: wait for it
                log.info("Transcribe job %s exists; waiting for it", job_name)
                return
            if error_code(e) == "BadRequestException":
                raise UnprocessableDocumentError(
                    f"Amazon Transcribe refused the media: {e}"
                ) from None
            raise

    async def _finished(self, job_name: str) -> dict[str, Any] | None:
        response = await self._calls("get_transcription_job", TranscriptionJobName=job_name)
        job: dict[str, Any] = response["TranscriptionJob"]
        status = job["TranscriptionJobStatus"]
        if status == "FAILED":
            raise UnprocessableDocumentError(
                f"Amazon Transcribe failed: {job.get('FailureReason', 'no reason given')}"
            )
        return job if status == "COMPLETED" else None

    async def transcribe(self, media: StoredFile) -> Transcript:
        job_name = "rag-" + hashlib.sha256(media.key.encode()).hexdigest()[:40]
        output_key = f"transcribe/{job_name}.json"
        await self._start(job_name, media, output_key)
        await poll_until(
            lambda: self._finished(job_name),
            what=f"Amazon Transcribe job {job_name}",
            first_seconds=self._first_poll,
            max_seconds=self._max_poll,
            timeout_seconds=self._timeout,
        )
        try:
            result = json.loads(await self._blobs.get(output_key))
        except KeyError:
            raise UnprocessableDocumentError(
                f"Amazon Transcribe finished but wrote no transcript at {output_key}"
            ) from None
        await self._blobs.delete(output_key)
        try:
            await self._calls("delete_transcription_job", TranscriptionJobName=job_name)
        except ClientError as e:  # the transcript is read: a leftover job only costs a name
            log.warning("could not delete Transcribe job %s: %s", job_name, e)
        segments = segments_of(result)
        duration = max((s.end_s for s in segments), default=None)
        return Transcript(segments, source=self.name, duration_s=duration)

"""The Transcriber contract over every engine: faster-whisper on real recordings (speech
spoken by espeak-ng, seconds of silence, an empty and an undecodable file), and Amazon
Transcribe through the real boto3 client, its responses stubbed by ``botocore.stub.Stubber``
(checked against the service's model) with the documents bucket on moto's S3, answering
each case as the service does: a transcript of the words, a completed job with no items, a
failed job for media it cannot read.

Whisper's run on speech decodes seconds of audio: slow."""

from __future__ import annotations

import hashlib
import json
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from rag_app.blobstores.s3 import S3BlobStore
from rag_app.domain import Transcript
from rag_app.errors import UnprocessableDocumentError
from rag_app.ingest.files import StoredFile
from rag_app.ingest.transcriber import Transcriber
from rag_app.ingest.transcriber_aws import AmazonTranscribeTranscriber
from rag_app.ingest.transcriber_whisper import WhisperTranscriber
from tests.support.aws_stubs import stubbed, transcription_job
from tests.support.media import Spoken, speak

pytestmark = pytest.mark.anyio

SENTENCES = [
    "The witness said the truck entered the warehouse at midnight.",
    "The judge adjourned the hearing until Thursday.",
]
UNDECODABLE = b"\x00\x00\x00\x18ftypmp42 this is not a recording" * 8


def silence(path: Path, seconds: float = 3.0) -> bytes:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0" * 2 * int(16000 * seconds))
    return path.read_bytes()


class WhisperEngine:
    """The engine runs on the bytes; there is nothing to arrange."""

    def __init__(self, transcriber: WhisperTranscriber) -> None:
        self.transcriber = transcriber

    async def given(self, case: str, data: bytes, spoken: list[Spoken]) -> StoredFile:
        return StoredFile(f"documents/{case}.wav", data, "audio/wav")


class TranscribeEngine:
    """Puts the media in the bucket and queues what Amazon Transcribe answers for it."""

    def __init__(self, client: Any, stubber: Stubber, blobs: S3BlobStore) -> None:
        self.stubber = stubber
        self.blobs = blobs
        self.transcriber = AmazonTranscribeTranscriber(
            client, blobs, first_poll_seconds=0.01, max_poll_seconds=0.02, timeout_seconds=30
        )

    async def given(self, case: str, data: bytes, spoken: list[Spoken]) -> StoredFile:
        key = f"documents/{uuid.uuid4().hex}/{case}.wav"
        await self.blobs.put(key, data, content_type="audio/wav")
        bucket, object_key = self.blobs.location(key)
        uri = f"s3://{bucket}/{object_key}"
        name = "rag-" + hashlib.sha256(key.encode()).hexdigest()[:40]
        self.stubber.add_response(
            "start_transcription_job", transcription_job(name, "IN_PROGRESS", uri)
        )
        if case in ("empty", "undecodable"):
            reason = "Failed to parse audio file." if data else "The media file is empty."
            self.stubber.add_response(
                "get_transcription_job",
                transcription_job(name, "FAILED", uri, FailureReason=reason),
            )
            return StoredFile(key, b"", "audio/wav")
        items = [
            {
                "type": "pronunciation",
                "start_time": f"{s.start_s + n * 0.4:.3f}",
                "end_time": f"{s.start_s + n * 0.4 + 0.35:.3f}",
                "speaker_label": "spk_0",
                "alternatives": [{"confidence": "0.98", "content": word}],
            }
            for s in spoken
            for n, word in enumerate(s.text.rstrip(".").split())
        ]
        output = {
            "jobName": name,
            "status": "COMPLETED",
            "results": {
                "transcripts": [{"transcript": " ".join(s.text for s in spoken)}],
                "items": items,
            },
        }
        output_key = f"transcribe/{name}.json"
        await self.blobs.put(
            output_key, json.dumps(output).encode(), content_type="application/json"
        )
        done = {"Transcript": {"TranscriptFileUri": f"https://s3.amazonaws.com/{bucket}/x"}}
        self.stubber.add_response(
            "get_transcription_job", transcription_job(name, "COMPLETED", uri, **done)
        )
        self.stubber.add_response("delete_transcription_job", {})
        return StoredFile(key, b"", "audio/wav")


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    pytest.importorskip("faster_whisper", reason="offline ASR is the 'media' extra")
    return WhisperTranscriber(cpu_threads=1)  # one model for the module: loading takes seconds


@pytest.fixture
def engine(request: pytest.FixtureRequest, moto_s3: Any) -> Iterator[Any]:
    if request.param == "faster-whisper":
        yield WhisperEngine(request.getfixturevalue("whisper"))
        return
    for client, stubber in stubbed("transcribe"):
        blobs = S3BlobStore(moto_s3, bucket="documents", prefix=f"t-{uuid.uuid4().hex[:8]}")
        yield TranscribeEngine(client, stubber, blobs)


ENGINES = ["faster-whisper", "amazon-transcribe"]
# Whisper on a recording of speech takes seconds: slow; Transcribe's case stays in the
# default suite, and so do whisper's silence and broken files (about 3 s with the model load).
ENGINES_ON_SPEECH = [pytest.param("faster-whisper", marks=pytest.mark.slow), "amazon-transcribe"]


@pytest.fixture(scope="module")
def hearing(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[Spoken]]:
    wav = tmp_path_factory.mktemp("speech") / "hearing.wav"
    timeline = speak(SENTENCES, wav)
    return wav.read_bytes(), timeline


def _well_formed(transcript: Transcript, transcriber: Transcriber) -> None:
    assert transcript.source == transcriber.name
    starts = [s.start_s for s in transcript.segments]
    assert starts == sorted(starts)
    assert all(0 <= s.start_s <= s.end_s for s in transcript.segments)
    assert all(s.text == s.text.strip() and s.text for s in transcript.segments)


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
async def test_it_is_a_transcriber_with_a_name(engine: Any) -> None:
    assert isinstance(engine.transcriber, Transcriber)
    assert engine.transcriber.name


@pytest.mark.needs_tool("espeak-ng")
@pytest.mark.parametrize("engine", ENGINES_ON_SPEECH, indirect=True)
async def test_speech_comes_back_as_timed_segments_in_order(
    engine: Any, hearing: tuple[bytes, list[Spoken]]
) -> None:
    data, spoken = hearing
    transcript = await engine.transcriber.transcribe(await engine.given("speech", data, spoken))
    _well_formed(transcript, engine.transcriber)
    assert transcript.segments
    said = " ".join(s.text for s in transcript.segments).lower()
    assert "warehouse" in said
    assert "thursday" in said
    # Each segment lies within the recording (whisper's clock is the audio's own).
    assert transcript.segments[-1].end_s <= spoken[-1].end_s + 2.0


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
async def test_media_without_speech_gives_a_transcript_with_no_segments(
    engine: Any, tmp_path: Path
) -> None:
    media = await engine.given("silence", silence(tmp_path / "quiet.wav"), [])
    transcript = await engine.transcriber.transcribe(media)
    assert transcript.segments == ()
    assert transcript.source == engine.transcriber.name


@pytest.mark.parametrize("case", ["empty", "undecodable"])
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
async def test_empty_or_undecodable_media_is_unprocessable(engine: Any, case: str) -> None:
    data = b"" if case == "empty" else UNDECODABLE
    media = await engine.given(case, data, [])
    with pytest.raises(UnprocessableDocumentError):
        await engine.transcriber.transcribe(media)

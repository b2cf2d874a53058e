"""Audio and video through the API: transcripts (uploaded, or recognised offline) become
chunks that carry the time they were spoken, so an answer cites the moment and links to it.
The recording is made here: espeak-ng speech muxed by ffmpeg into an MP4."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.settings import Settings
from tests.conftest import wait_for_job
from tests.support.media import Spoken, mp4_of, speak

SENTENCES = [
    "The hearing began at nine in the morning in courtroom four.",
    "The witness said the blue truck entered the warehouse at midnight.",
    "Counsel then asked about the lease agreement signed in March.",
    "The judge adjourned the hearing until Thursday afternoon.",
]
QUESTION = "When did the blue truck enter the warehouse?"
ANSWER = 1  # the sentence that answers QUESTION


def _stamp(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"00:{int(minutes):02d}:{rest:06.3f}"


def vtt_of(timeline: list[Spoken]) -> bytes:
    cues = [f"{_stamp(s.start_s)} --> {_stamp(s.end_s)}\n{s.text}" for s in timeline]
    return ("WEBVTT\n\n" + "\n\n".join(cues) + "\n").encode()


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[Spoken]]:
    folder = tmp_path_factory.mktemp("media")
    timeline = speak(SENTENCES, folder / "hearing.wav")
    return mp4_of(folder / "hearing.wav", folder / "hearing.mp4"), timeline


def _client(database_url: str, data_dir: Path, **settings: Any) -> TestClient[Any]:
    # A 5-second window: each spoken sentence is its own chunk, so a citation's time range
    # is that of one sentence, not of the whole clip.
    return TestClient(
        create_app(
            Settings(
                database_url=database_url,
                data_dir=data_dir,
                media_chunk_seconds=5,
                **settings,
            )
        )
    )


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient[Any]]:
    """Speech recognition off: media is ingested only with an uploaded transcript."""
    with _client(database_url, tmp_path / "data", transcriber="off") as c:
        yield c


def _upload(client: TestClient[Any], files: dict[str, Any]) -> Any:
    return client.post("/documents", files=files)


def _ingested(client: TestClient[Any], files: dict[str, Any]) -> dict[str, Any]:
    response = _upload(client, files)
    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "succeeded", job
    document: dict[str, Any] = client.get(f"/documents/{job['document_id']}").json()
    return document


def _assert_cites_the_moment(
    client: TestClient[Any], document_id: str, timeline: list[Spoken]
) -> None:
    answer = client.post("/ask", json={"question": QUESTION}).json()
    assert answer["grounded"] is True, answer
    citation = answer["citations"][0]
    assert citation["document_id"] == document_id
    assert "warehouse" in citation["quote"].lower()
    spoken = timeline[ANSWER]
    # The cited range holds the moment the answer is spoken, and not the other sentences.
    assert citation["start_s"] <= spoken.start_s + 0.5
    assert citation["end_s"] >= spoken.end_s - 0.5
    assert citation["start_s"] > timeline[ANSWER - 1].end_s - 0.5
    assert citation["end_s"] < timeline[ANSWER + 1].start_s + 0.5
    assert (
        citation["link"] == f"/documents/{document_id}/content#t={round(citation['start_s'], 2):g}"
    )


def test_a_transcript_on_its_own_is_searchable_by_time(client: TestClient[Any]) -> None:
    timeline = [Spoken(s, 10.0 * i, 10.0 * i + 4) for i, s in enumerate(SENTENCES)]
    document = _ingested(client, {"file": ("hearing.vtt", vtt_of(timeline), "text/vtt")})
    assert document | {"status": "ready", "media_type": "text/vtt"} == document
    assert (document["transcript_source"], document["duration_s"]) == ("vtt", 34.0)
    hits = client.post("/search", json={"query": "blue truck warehouse", "top_k": 1}).json()
    hit = hits["hits"][0]
    assert (hit["start_s"], hit["end_s"], hit["page"]) == (10.0, 14.0, 1)
    assert hit["link"].endswith("#t=10")
    _assert_cites_the_moment(client, document["document_id"], timeline)


@pytest.mark.needs_tool("espeak-ng", "ffmpeg")
def test_video_with_its_transcript_needs_no_speech_recognition(
    client: TestClient[Any], recording: tuple[bytes, list[Spoken]]
) -> None:
    video, timeline = recording
    document = _ingested(
        client,
        {
            "file": ("hearing.mp4", video, "video/mp4"),
            "transcript": ("hearing.srt", vtt_of(timeline), "text/vtt"),
        },
    )
    assert document["media_type"] == "video/mp4"
    assert document["transcript_source"] == "vtt"
    # The container's length: the speech, its trailing pause, and the last video frame.
    assert timeline[-1].end_s < document["duration_s"] < timeline[-1].end_s + 2
    _assert_cites_the_moment(client, document["document_id"], timeline)
    content = client.get(f"/documents/{document['document_id']}/content")
    assert (content.content, content.headers["content-type"]) == (video, "video/mp4")


@pytest.mark.needs_tool("espeak-ng", "ffmpeg")
def test_video_without_a_transcript_and_with_asr_off_fails_saying_what_to_do(
    client: TestClient[Any], recording: tuple[bytes, list[Spoken]]
) -> None:
    response = _upload(client, {"file": ("hearing.mp4", recording[0], "video/mp4")})
    assert response.status_code == 202
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "failed"
    assert "RAG_TRANSCRIBER=off" in job["error"]
    assert ".vtt or .srt" in job["error"]


@pytest.mark.needs_tool("espeak-ng", "ffmpeg")
def test_a_malformed_transcript_is_refused_at_upload_and_nothing_is_stored(
    client: TestClient[Any], recording: tuple[bytes, list[Spoken]]
) -> None:
    bad = b"WEBVTT\n\n00:00:01.000 --> 00:00:00.500\nbackwards\n"
    for files in (
        {"file": ("bad.vtt", bad, "text/vtt")},
        {
            "file": ("hearing.mp4", recording[0], "video/mp4"),
            "transcript": ("t.vtt", bad, "text/vtt"),
        },
    ):
        response = _upload(client, files)
        assert response.status_code == 422, response.text
        assert "ends before it starts at line 3" in response.json()["detail"]
    assert client.get("/documents").json()["total"] == 0


def test_a_transcript_with_a_pdf_is_refused(client: TestClient[Any]) -> None:
    pdf = Path(__file__).parents[3] / "shared/corpus/pdf/scotus-transcript-p1.pdf"
    vtt = vtt_of([Spoken("Hello there.", 0.0, 1.0)])
    response = _upload(
        client,
        {
            "file": ("a.pdf", pdf.read_bytes(), "application/pdf"),
            "transcript": ("t.vtt", vtt, "text/vtt"),
        },
    )
    assert response.status_code == 400
    assert "only come with an audio or video file" in response.json()["detail"]


@pytest.mark.needs_tool("espeak-ng", "ffmpeg")
def test_media_over_the_size_limit_is_refused_with_413(
    database_url: str, tmp_path: Path, recording: tuple[bytes, list[Spoken]]
) -> None:
    video = recording[0]
    with _client(
        database_url, tmp_path / "d", transcriber="off", max_media_bytes=len(video) - 1
    ) as c:
        response = _upload(c, {"file": ("hearing.mp4", video, "video/mp4")})
        assert response.status_code == 413
        assert "RAG_MAX_MEDIA_BYTES" in response.json()["detail"]


@pytest.mark.needs_tool("espeak-ng", "ffmpeg")
def test_media_over_the_length_limit_fails_before_any_transcription(
    database_url: str, tmp_path: Path, recording: tuple[bytes, list[Spoken]]
) -> None:
    video, timeline = recording
    with _client(database_url, tmp_path / "d", max_media_seconds=5) as c:
        response = _upload(c, {"file": ("hearing.mp4", video, "video/mp4")})
        job = wait_for_job(c, response.json()["job_id"])
        assert job["status"] == "failed"
        assert "the limit is 5 seconds (RAG_MAX_MEDIA_SECONDS)" in job["error"]
        seconds = re.search(r"the media is (\d+) seconds long", job["error"])
        assert seconds is not None
        assert timeline[-1].end_s - 1 < int(seconds.group(1)) < timeline[-1].end_s + 2


def test_a_file_that_claims_to_be_video_but_does_not_decode_fails_readably(
    client: TestClient[Any],
) -> None:
    fake = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000
    response = _upload(client, {"file": ("broken.mp4", fake, "video/mp4")})
    assert response.status_code == 202
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "failed"
    assert "cannot be decoded" in job["error"]


@pytest.mark.needs_tool("espeak-ng", "ffmpeg")
def test_speech_recognition_that_cannot_run_fails_the_job_saying_why(
    database_url: str, tmp_path: Path, recording: tuple[bytes, list[Spoken]]
) -> None:
    pytest.importorskip("faster_whisper", reason="offline ASR is the 'media' extra")
    empty = tmp_path / "no-model"
    empty.mkdir()
    with _client(database_url, tmp_path / "d", whisper_model_dir=empty) as c:
        response = _upload(c, {"file": ("hearing.mp4", recording[0], "video/mp4")})
        job = wait_for_job(c, response.json()["job_id"])
    assert job["status"] == "failed"
    assert f"no CTranslate2 whisper model in {empty} (RAG_WHISPER_MODEL_DIR)" in job["error"]
    assert job["stage"] == "recognising"


@pytest.mark.slow
@pytest.mark.needs_tool("espeak-ng", "ffmpeg")
def test_speech_is_recognised_offline_and_cited_at_the_moment_it_is_spoken(
    database_url: str, tmp_path: Path, recording: tuple[bytes, list[Spoken]]
) -> None:
    pytest.importorskip("faster_whisper", reason="offline ASR is the 'media' extra")
    video, timeline = recording
    with _client(database_url, tmp_path / "d", transcriber="whisper") as c:
        document = _ingested(c, {"file": ("hearing.mp4", video, "video/mp4")})
        assert document["transcript_source"] == "faster-whisper tiny.en"
        answer = c.post("/ask", json={"question": QUESTION}).json()
        assert answer["grounded"] is True, answer
        citation = answer["citations"][0]
        assert "warehouse" in citation["quote"].lower()
        spoken = timeline[ANSWER]
        # Whisper's segment boundaries are its own: the cited range must hold the moment
        # the answer is spoken.
        middle = (spoken.start_s + spoken.end_s) / 2
        assert citation["start_s"] <= middle <= citation["end_s"], (citation, spoken)

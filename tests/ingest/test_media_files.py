"""Every accepted audio and video format, made here by ffmpeg, is recognised by its first
bytes and its length read before any transcription; files that only look like media are
not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rag_app.errors import UnprocessableDocumentError, UnsupportedMediaError
from rag_app.ingest.files import M4A, MOV, MP3, MP4, WAV, FileType, file_type
from rag_app.ingest.media import media_duration

SECONDS = 2.5
FORMATS = [
    ("wav", ["-c:a", "pcm_s16le"], WAV),
    ("mp3", ["-c:a", "libmp3lame"], MP3),
    ("m4a", ["-c:a", "aac"], M4A),
    ("mp4", ["-c:a", "aac"], MP4),
    ("mov", ["-c:a", "aac"], MOV),
]


def _tone(folder: Path, extension: str, codec: list[str]) -> bytes:
    out = folder / f"tone.{extension}"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={SECONDS}", *codec, str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


@pytest.mark.needs_tool("ffmpeg")
@pytest.mark.parametrize(("extension", "codec", "expected"), FORMATS)
def test_each_accepted_format_is_recognised_and_its_length_read(
    tmp_path: Path, extension: str, codec: list[str], expected: FileType
) -> None:
    data = _tone(tmp_path, extension, codec)
    # The name does not matter: the first bytes do.
    assert file_type("upload.bin", data[:1024]) == expected
    assert media_duration(data) == pytest.approx(SECONDS, abs=0.1)


def test_a_file_that_is_nothing_we_ingest_is_refused_naming_what_is() -> None:
    with pytest.raises(UnsupportedMediaError, match="MP4, MOV, M4A, MP3, WAV"):
        file_type("notes.mp4", b"just some text\n" * 10)


@pytest.mark.needs_tool("ffmpeg")
def test_a_truncated_recording_fails_to_decode_readably(tmp_path: Path) -> None:
    data = _tone(tmp_path, "mp4", ["-c:a", "aac"])
    assert file_type("cut.mp4", data[:1024]) == MP4
    with pytest.raises(UnprocessableDocumentError, match="cannot be decoded"):
        media_duration(data[: len(data) // 3])

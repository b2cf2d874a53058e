"""Recordings made by the tests themselves: sentences spoken by espeak-ng, laid end to end
with known start times, and muxed by ffmpeg into an MP4 over a still picture (what a
recorded hearing looks like to the service). Both are Debian packages; without them the
tests that need them skip and say so."""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

GAP_SECONDS = 0.6


@dataclass(frozen=True)
class Spoken:
    text: str
    start_s: float
    end_s: float


def speak(sentences: list[str], out: Path) -> list[Spoken]:
    """A mono WAV of ``sentences`` with a short pause between them, and when each one is
    spoken."""
    frames = b""
    rate = width = 0
    timeline = []
    for n, sentence in enumerate(sentences):
        part = out.with_name(f"{out.stem}-{n}.wav")
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(part), sentence], check=True)
        with wave.open(str(part), "rb") as w:
            rate, width = w.getframerate(), w.getsampwidth()
            data = w.readframes(w.getnframes())
        part.unlink()
        start = len(frames) / (width * rate)
        frames += data
        timeline.append(Spoken(sentence, start, len(frames) / (width * rate)))
        frames += b"\0" * width * int(GAP_SECONDS * rate)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return timeline


def mp4_of(wav: Path, out: Path) -> bytes:
    """``wav`` as the AAC soundtrack of an H.264 MP4 of a grey frame."""
    subprocess.run(
        [
            "ffmpeg", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "color=c=gray:s=160x120:r=5",
            "-i", str(wav),
            "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "48k", str(out),
        ],
        check=True,
    )  # fmt: skip
    return out.read_bytes()

"""Audio and video files: their length, read from the container before anything expensive
runs. PyAV (installed with the 'media' extra, with FFmpeg's libraries inside its wheel) is
used when present, else Debian's ``ffprobe``; with neither, the length is unknown until the
transcript gives it."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile

from rag_app.errors import UnprocessableDocumentError

PROBE_TIMEOUT_SECONDS = 60


def _av_duration(data: bytes) -> float | None:
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if container.duration is not None:
                return float(container.duration) / av.time_base
            lengths = [
                float(s.duration * s.time_base)
                for s in container.streams
                if s.duration is not None and s.time_base is not None
            ]
            return max(lengths, default=None)
    except av.error.FFmpegError as e:
        raise UnprocessableDocumentError(f"the media file cannot be decoded: {e}") from None


def _ffprobe_duration(ffprobe: str, data: bytes) -> float | None:
    with tempfile.NamedTemporaryFile(suffix=".media") as file:
        file.write(data)
        file.flush()
        result = subprocess.run(
            [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "json", file.name],
            capture_output=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip().splitlines()
        raise UnprocessableDocumentError(
            f"the media file cannot be decoded: {reason[-1] if reason else 'ffprobe failed'}"
        )
    duration = json.loads(result.stdout or b"{}").get("format", {}).get("duration")
    return float(duration) if duration not in (None, "N/A") else None


def media_duration(data: bytes) -> float | None:
    """Seconds of the longest stream; None when no prober is installed or the container
    does not say. Raises ``UnprocessableDocumentError`` for a file that does not decode."""
    try:
        return _av_duration(data)
    except ImportError:
        pass
    ffprobe = shutil.which("ffprobe")
    return _ffprobe_duration(ffprobe, data) if ffprobe else None

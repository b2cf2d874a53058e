"""The extractor and its recognisers by name: ``RAG_OCR`` (scanned PDF pages) and
``RAG_TRANSCRIBER`` (speech in audio and video)."""

from __future__ import annotations

from collections.abc import Callable

from rag_app.aws.clients import AwsClients
from rag_app.blobstores.base import BlobStore
from rag_app.blobstores.s3 import S3BlobStore
from rag_app.ingest.extraction import ExtractionLimits, Extractor
from rag_app.ingest.isolation import ProcessLimits
from rag_app.ingest.ocr import PageOcr
from rag_app.ingest.ocr_local import OcrmypdfOcr
from rag_app.ingest.ocr_textract import TextractOcr
from rag_app.ingest.transcriber import Transcriber
from rag_app.ingest.transcriber_aws import AmazonTranscribeTranscriber
from rag_app.ingest.transcriber_whisper import WhisperTranscriber
from rag_app.settings import Settings


def _s3(blobs: BlobStore) -> S3BlobStore:
    assert isinstance(blobs, S3BlobStore)  # the settings validator guarantees it
    return blobs


TRANSCRIBERS: dict[str, Callable[[Settings, AwsClients, BlobStore], Transcriber]] = {
    "whisper": lambda settings, aws, blobs: WhisperTranscriber(
        model_dir=settings.whisper_model_dir
    ),
    "transcribe": lambda settings, aws, blobs: AmazonTranscribeTranscriber(
        aws.client("transcribe"),
        _s3(blobs),
        language_code=settings.transcribe_language_code,
        timeout_seconds=settings.aws_job_timeout_seconds,
    ),
}

OCRS: dict[str, Callable[[Settings, AwsClients, BlobStore], PageOcr]] = {
    "ocrmypdf": lambda settings, aws, blobs: OcrmypdfOcr(
        language=settings.ocr_language,
        timeout_seconds=settings.ocr_timeout_seconds,
        blobs=blobs,
    ),
    "textract": lambda settings, aws, blobs: TextractOcr(
        aws.client("textract"), _s3(blobs), timeout_seconds=settings.aws_job_timeout_seconds
    ),
}


def build(settings: Settings, aws: AwsClients, blobs: BlobStore) -> Extractor:
    """The extractor with the OCR and the transcriber ``settings`` name ("off": none)."""
    limits = ExtractionLimits(
        max_pages=settings.max_pages,
        ocr_min_chars=settings.ocr_min_chars_per_page,
        max_media_seconds=settings.max_media_seconds,
        parser=ProcessLimits(
            memory_mb=settings.parse_memory_mb,
            cpu_seconds=settings.parse_cpu_seconds,
            wall_seconds=settings.parse_timeout_seconds,
        ),
    )
    transcriber = TRANSCRIBERS.get(settings.transcriber)
    ocr = OCRS.get(settings.ocr)
    return Extractor(
        limits=limits,
        ocr=ocr(settings, aws, blobs) if ocr else None,
        transcriber=transcriber(settings, aws, blobs) if transcriber else None,
    )

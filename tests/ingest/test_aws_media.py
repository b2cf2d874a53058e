"""Amazon Transcribe and Textract through the real botocore clients, with responses stubbed
by ``botocore.stub.Stubber`` (which checks requests and responses against the services'
models) and the documents bucket on moto's S3: what the deployed stacks run for media and
scanned PDFs."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from rag_app.blobstores.s3 import S3BlobStore
from rag_app.domain import JobStage
from rag_app.errors import ConfigurationError, UnprocessableDocumentError
from rag_app.ingest.chunking import ChunkLimits, chunk_content
from rag_app.ingest.extraction import ExtractionLimits, Extractor
from rag_app.ingest.files import StoredFile
from rag_app.ingest.ocr import OcrUnavailableError
from rag_app.ingest.ocr_textract import TextractOcr
from rag_app.ingest.transcriber_aws import AmazonTranscribeTranscriber
from rag_app.settings import Settings
from tests.conftest import CORPUS
from tests.support.aws_stubs import NOW, stubbed, transcription_job
from tests.support.scans import scanned_pdf, text_then_scan

SCOTUS_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"


@pytest.fixture
def blobs(moto_s3: Any) -> S3BlobStore:
    return S3BlobStore(moto_s3, bucket="documents", prefix=f"t-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def transcribe() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed("transcribe")


@pytest.fixture
def textract() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed("textract")


def _word(content: str, start: float, end: float, speaker: str) -> dict[str, Any]:
    return {
        "type": "pronunciation",
        "start_time": f"{start:.2f}",
        "end_time": f"{end:.2f}",
        "speaker_label": speaker,
        "alternatives": [{"confidence": "0.99", "content": content}],
    }


def _mark(content: str) -> dict[str, Any]:
    return {"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": content}]}


# The shape Amazon Transcribe writes (results.transcripts, items with speaker labels).
TRANSCRIPT_JSON = {
    "jobName": "set-below",
    "accountId": "123456789012",
    "status": "COMPLETED",
    "results": {
        "transcripts": [{"transcript": "Please state your name. Maria Lopez. Thank you."}],
        "items": [
            _word("Please", 0.5, 0.8, "spk_0"),
            _word("state", 0.8, 1.1, "spk_0"),
            _word("your", 1.1, 1.3, "spk_0"),
            _word("name", 1.3, 1.7, "spk_0"),
            _mark("."),
            _word("Maria", 2.4, 2.8, "spk_1"),
            _word("Lopez", 2.8, 3.3, "spk_1"),
            _mark("."),
            _word("Thank", 4.0, 4.3, "spk_0"),
            _word("you", 4.3, 4.5, "spk_0"),
            _mark("."),
        ],
    },
}


async def _put_media(blobs: S3BlobStore) -> tuple[StoredFile, str, str]:
    key = f"documents/d1/{uuid.uuid4().hex}.mp4"
    await blobs.put(key, b"\x00\x00\x00\x18ftypmp42 recording", content_type="video/mp4")
    bucket, object_key = blobs.location(key)
    job_name = "rag-" + hashlib.sha256(key.encode()).hexdigest()[:40]
    return StoredFile(key, b"", "video/mp4"), f"s3://{bucket}/{object_key}", job_name


def _transcriber(client: Any, blobs: S3BlobStore) -> AmazonTranscribeTranscriber:
    return AmazonTranscribeTranscriber(
        client, blobs, first_poll_seconds=0.01, max_poll_seconds=0.02, timeout_seconds=30
    )


@pytest.mark.anyio
async def test_transcribe_job_is_started_on_the_bucket_polled_and_parsed_into_turns(
    transcribe: tuple[Any, Stubber], blobs: S3BlobStore
) -> None:
    client, stubber = transcribe
    media, uri, name = await _put_media(blobs)
    output_key = f"transcribe/{name}.json"
    # What Transcribe itself would write to the bucket when the job completes.
    await blobs.put(
        output_key, json.dumps(TRANSCRIPT_JSON).encode(), content_type="application/json"
    )
    stubber.add_response(
        "start_transcription_job",
        transcription_job(name, "IN_PROGRESS", uri),
        {
            "TranscriptionJobName": name,
            "LanguageCode": "en-US",
            "Media": {"MediaFileUri": uri},
            "OutputBucketName": "documents",
            "OutputKey": blobs.location(output_key)[1],
            "Settings": {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 10},
        },
    )
    stubber.add_response(
        "get_transcription_job",
        transcription_job(name, "IN_PROGRESS", uri),
        {"TranscriptionJobName": name},
    )
    stubber.add_response(
        "get_transcription_job",
        transcription_job(
            name,
            "COMPLETED",
            uri,
            CompletionTime=NOW,
            Transcript={
                "TranscriptFileUri": f"https://s3.us-east-1.amazonaws.com/documents/{output_key}"
            },
        ),
        {"TranscriptionJobName": name},
    )
    stubber.add_response("delete_transcription_job", {}, {"TranscriptionJobName": name})

    transcript = await _transcriber(client, blobs).transcribe(media)

    assert transcript.source == "amazon-transcribe"
    assert [(s.start_s, s.end_s, s.text, s.speaker) for s in transcript.segments] == [
        (0.5, 1.7, "Please state your name.", "spk_0"),
        (2.4, 3.3, "Maria Lopez.", "spk_1"),
        (4.0, 4.5, "Thank you.", "spk_0"),
    ]
    assert transcript.duration_s == 4.5
    assert not await blobs.exists(output_key)  # the transcript object is cleaned up


@pytest.mark.anyio
async def test_a_transcribe_job_left_by_a_restart_is_waited_for_not_started_again(
    transcribe: tuple[Any, Stubber], blobs: S3BlobStore
) -> None:
    client, stubber = transcribe
    media, uri, name = await _put_media(blobs)
    await blobs.put(
        f"transcribe/{name}.json",
        json.dumps(TRANSCRIPT_JSON).encode(),
        content_type="application/json",
    )
    stubber.add_client_error(
        "start_transcription_job", "ConflictException", "The requested job name already exists."
    )
    stubber.add_response(
        "get_transcription_job",
        transcription_job(
            name, "COMPLETED", uri, Transcript={"TranscriptFileUri": "https://example/x.json"}
        ),
    )
    stubber.add_response("delete_transcription_job", {})
    transcript = await _transcriber(client, blobs).transcribe(media)
    assert len(transcript.segments) == 3


@pytest.mark.anyio
async def test_a_failed_transcribe_job_fails_with_its_reason(
    transcribe: tuple[Any, Stubber], blobs: S3BlobStore
) -> None:
    client, stubber = transcribe
    media, uri, name = await _put_media(blobs)
    stubber.add_response("start_transcription_job", transcription_job(name, "IN_PROGRESS", uri))
    stubber.add_response(
        "get_transcription_job",
        transcription_job(
            name,
            "FAILED",
            uri,
            FailureReason="The media format provided does not match the detected media format.",
        ),
    )
    with pytest.raises(
        UnprocessableDocumentError, match="Amazon Transcribe failed: The media format"
    ):
        await _transcriber(client, blobs).transcribe(media)


@pytest.mark.anyio
async def test_transcribe_without_permission_says_which_actions_the_role_needs(
    transcribe: tuple[Any, Stubber], blobs: S3BlobStore
) -> None:
    client, stubber = transcribe
    media, _, _ = await _put_media(blobs)
    stubber.add_client_error(
        "start_transcription_job", "AccessDeniedException", "not authorized", 400
    )
    with pytest.raises(ConfigurationError, match="transcribe:StartTranscriptionJob"):
        await _transcriber(client, blobs).transcribe(media)


def _line(text: str, page: int) -> dict[str, Any]:
    return {
        "BlockType": "LINE",
        "Id": uuid.uuid4().hex,
        "Text": text,
        "Page": page,
        "Confidence": 98.5,
    }


def _textract(client: Any, blobs: S3BlobStore) -> TextractOcr:
    return TextractOcr(
        client, blobs, first_poll_seconds=0.01, max_poll_seconds=0.02, timeout_seconds=30
    )


@pytest.mark.anyio
async def test_textract_reads_the_scanned_pages_of_a_pdf_in_the_bucket(
    textract: tuple[Any, Stubber], blobs: S3BlobStore
) -> None:
    client, stubber = textract
    pytest.importorskip("PIL", reason="Pillow renders the scan")
    data = text_then_scan(SCOTUS_PDF, scanned_pdf(SCOTUS_PDF, dpi=72))
    key = f"documents/d2/{hashlib.sha256(data).hexdigest()}.pdf"
    await blobs.put(key, data, content_type="application/pdf")
    bucket, object_key = blobs.location(key)
    token = hashlib.sha256(object_key.encode()).hexdigest()
    stubber.add_response(
        "start_document_text_detection",
        {"JobId": "a" * 64},
        {
            "DocumentLocation": {"S3Object": {"Bucket": bucket, "Name": object_key}},
            "ClientRequestToken": token,
        },
    )
    stubber.add_response(
        "get_document_text_detection",
        {"JobStatus": "IN_PROGRESS"},
        {"JobId": "a" * 64, "MaxResults": 1000},
    )
    page = {"BlockType": "PAGE", "Id": uuid.uuid4().hex, "Page": 2}
    stubber.add_response(
        "get_document_text_detection",
        {
            "JobStatus": "SUCCEEDED",
            "DocumentMetadata": {"Pages": 2},
            "Blocks": [
                _line("SUPREME COURT OF THE UNITED STATES", 1),
                page,
                _line("IN THE SUPREME COURT", 2),
            ],
            "NextToken": "more",
        },
        {"JobId": "a" * 64, "MaxResults": 1000},
    )
    stubber.add_response(
        "get_document_text_detection",
        {
            "JobStatus": "SUCCEEDED",
            "DocumentMetadata": {"Pages": 2},
            "Blocks": [_line("OF THE UNITED STATES", 2), _line("Washington, D.C.", 2)],
        },
        {"JobId": "a" * 64, "MaxResults": 1000, "NextToken": "more"},
    )
    extractor = Extractor(
        limits=ExtractionLimits(
            max_pages=10, ocr_min_chars=20, max_media_seconds=3600,
        ),
        ocr=_textract(client, blobs),
        transcriber=None,
    )  # fmt: skip
    stages: list[JobStage] = []

    async def on_stage(stage: JobStage) -> None:
        stages.append(stage)

    extraction = await extractor.extract(StoredFile(key, data, "application/pdf"), None, on_stage)
    assert stages == [JobStage.RECOGNISING]
    assert (extraction.pages, extraction.pages_text, extraction.pages_ocr) == (2, 1, 1)
    assert extraction.pages_empty == 0
    spans = chunk_content(extraction.content, ChunkLimits(1000, 100, 60))
    scanned = [s for s in spans if s.page == 2]
    assert [s.text for s in scanned] == [
        "IN THE SUPREME COURT\nOF THE UNITED STATES\nWashington, D.C."
    ]
    assert all(s.ocr for s in scanned)
    assert not any(s.ocr for s in spans if s.page == 1)


@pytest.mark.anyio
async def test_textract_errors_become_readable_failures(
    textract: tuple[Any, Stubber], blobs: S3BlobStore
) -> None:
    client, stubber = textract
    pdf = StoredFile("documents/d3/x.pdf", b"%PDF-1.7", "application/pdf")
    stubber.add_client_error(
        "start_document_text_detection",
        "UnsupportedDocumentException",
        "Request has unsupported document format",
    )
    with pytest.raises(UnprocessableDocumentError, match="Amazon Textract cannot read the PDF"):
        await _textract(client, blobs).recognise(pdf, [1])
    stubber.add_client_error(
        "start_document_text_detection", "AccessDeniedException", "not authorized"
    )
    with pytest.raises(OcrUnavailableError, match="textract:StartDocumentTextDetection"):
        await _textract(client, blobs).recognise(pdf, [1])
    stubber.add_response("start_document_text_detection", {"JobId": "b" * 64})
    stubber.add_response(
        "get_document_text_detection",
        {"JobStatus": "FAILED", "StatusMessage": "Unable to get object metadata from S3."},
    )
    with pytest.raises(UnprocessableDocumentError, match="Textract failed: Unable to get object"):
        await _textract(client, blobs).recognise(pdf, [1])


@pytest.mark.parametrize(("setting", "value"), [("transcriber", "transcribe"), ("ocr", "textract")])
def test_aws_media_services_need_the_documents_bucket(setting: str, value: str) -> None:
    with pytest.raises(ValueError, match="needs RAG_BLOB_STORE=s3"):
        Settings(**{setting: value})
    Settings(**{setting: value, "blob_store": "s3", "documents_bucket": "docs"})

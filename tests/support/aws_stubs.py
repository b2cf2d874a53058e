"""Real botocore clients whose responses ``botocore.stub.Stubber`` checks against the
service's model, and the response shapes the Transcribe tests share."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.stub import Stubber

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def stubbed(service: str) -> Iterator[tuple[Any, Stubber]]:
    """A client of ``service`` and its active stubber; every queued response must be used."""
    client = boto3.client(service, region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def transcription_job(name: str, status: str, media_uri: str, **extra: Any) -> dict[str, Any]:
    """A ``GetTranscriptionJob``/``StartTranscriptionJob`` response for job ``name``."""
    return {
        "TranscriptionJob": {
            "TranscriptionJobName": name,
            "TranscriptionJobStatus": status,
            "LanguageCode": "en-US",
            "Media": {"MediaFileUri": media_uri},
            "CreationTime": NOW,
            "StartTime": NOW,
            **extra,
        }
    }

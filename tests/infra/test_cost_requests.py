"""The requests the cost model prices per document and per question, counted on the real
Option 1 path (DynamoDB catalog and SQS queue on moto's server, S3 Vectors on the local
double, real boto3 clients): every AWS call the app's clients make passes through
botocore's ``BaseClient._make_api_call``, which the test counts and passes on."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.cost.requests import (
    CATALOG_READS_PER_DOCUMENT,
    CATALOG_READS_PER_QUESTION,
    CATALOG_WRITES_PER_DOCUMENT,
    S3_WRITES_PER_DOCUMENT,
    S3_WRITES_PER_QUESTION_OPTION_1,
    S3VECTORS_QUERIES_PER_QUESTION,
    SQS_REQUESTS_PER_DOCUMENT,
)
from rag_app.settings import Settings
from tests.conftest import CORPUS, dynamodb_table, local_client, unique_bucket
from tests.support.sqs_queues import create_sqs_pair

PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
DYNAMODB_WRITES = {"PutItem", "DeleteItem", "UpdateItem"}
DYNAMODB_READS = {"GetItem", "Query"}


class ApiCalls:
    """(service, operation) counts of every client but the test's own; a receive that
    returned messages counts as ``ReceiveMessage+``."""

    def __init__(self, ignore: list[Any]) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self._ignore = {id(c) for c in ignore}

    def wrap(self, make: Callable[..., Any]) -> Callable[..., Any]:
        def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
            result = make(client, operation, params)
            if id(client) not in self._ignore:
                name = operation
                if operation == "ReceiveMessage" and result.get("Messages"):
                    name = "ReceiveMessage+"
                self.calls[(client.meta.service_model.service_name, name)] += 1
            return result

        return counted

    def of(self, service: str, operations: set[str]) -> int:
        return sum(n for (s, op), n in self.calls.items() if s == service and op in operations)


def test_one_document_and_one_question_make_the_requests_the_cost_model_prices(
    moto_s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = moto_s3.meta.endpoint_url
    queues = create_sqs_pair(endpoint, visibility=30, max_receives=5)
    dynamodb, table = dynamodb_table(moto_s3)
    watcher = local_client("dynamodb", endpoint)
    calls = ApiCalls(ignore=[watcher, dynamodb, moto_s3])
    monkeypatch.setattr(BaseClient, "_make_api_call", calls.wrap(BaseClient._make_api_call))
    settings = Settings(
        queue="sqs",
        sqs_queue_url=queues.url,
        sqs_dead_letter_queue_url=queues.dead_letter_url,
        data_dir=tmp_path,
        vector_store="s3vectors",
        s3vectors_bucket=unique_bucket(),
        catalog="dynamodb",
        dynamodb_table=table,
        blob_store="s3",
        documents_bucket="documents",
        documents_prefix=uuid.uuid4().hex,
    )
    with TestClient(create_app(settings)) as client:
        calls.calls.clear()  # start-up: the queue's and the table's checks
        response = client.post(
            "/documents", files={"file": (PDF.name, PDF.read_bytes(), "application/pdf")}
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 120
        while '"succeeded"' not in str(
            watcher.get_item(TableName=table, Key={"pk": {"S": f"job#{job_id}"}}).get("Item")
        ):
            assert time.monotonic() < deadline, "the job did not succeed in 120 s"
            time.sleep(0.2)
        time.sleep(0.5)  # the worker deletes the message after it records the outcome
        ingested = Counter(calls.calls)
        calls.calls.clear()
        answer = client.post("/ask", json={"question": "Who argued for the petitioner?"})
        assert answer.status_code == 200, answer.text
        asked = Counter(calls.calls)
    print(f"\none document: {dict(ingested)}\none question: {dict(asked)}")
    per_document = ApiCalls([])
    per_document.calls = ingested
    per_question = ApiCalls([])
    per_question.calls = asked
    assert per_document.of("dynamodb", DYNAMODB_WRITES) == CATALOG_WRITES_PER_DOCUMENT
    assert per_document.of("dynamodb", DYNAMODB_READS) == CATALOG_READS_PER_DOCUMENT
    assert per_question.of("dynamodb", DYNAMODB_READS | DYNAMODB_WRITES) == (
        CATALOG_READS_PER_QUESTION
    )
    # Send, the receive that delivers it, delete; a lease renewal only for a job longer
    # than a third of the visibility timeout (this one runs in seconds). Empty receives and
    # queue-depth reads are priced per worker-hour, not here.
    job_requests = {"SendMessage", "ReceiveMessage+", "DeleteMessage", "ChangeMessageVisibility"}
    assert per_document.of("sqs", job_requests) == SQS_REQUESTS_PER_DOCUMENT
    # S3's PUT-class requests (PUT, COPY, POST, LIST): the original, and the listing that
    # looks for an earlier upload; each question's conversation record, answer and owner
    # index (Option 1 keeps conversations in S3).
    s3_writes = {"PutObject", "ListObjectsV2", "CopyObject"}
    assert per_document.of("s3", s3_writes) == S3_WRITES_PER_DOCUMENT
    assert per_question.of("s3", s3_writes) == S3_WRITES_PER_QUESTION_OPTION_1
    assert per_question.of("s3vectors", {"QueryVectors"}) == S3VECTORS_QUERIES_PER_QUESTION

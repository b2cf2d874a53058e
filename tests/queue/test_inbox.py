"""The inbox for bulk loads, on SQS: objects put under ``inbox/<collection>/`` in the
documents bucket reach the job queue by S3 event notification (moto's S3 and SQS through
real boto3) and are ingested with their key as title unless metadata names one."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from rag_app.domain import DocumentStatus
from rag_app.errors import InvalidInputError
from rag_app.jobqueue.inbox import collection_of
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import CORPUS, local_client
from tests.support.sqs_queues import create_sqs_pair

pytestmark = pytest.mark.anyio

PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
OTHER = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


def test_inbox_keys_name_their_collection() -> None:
    assert collection_of("inbox/exhibits/2019/a.pdf") == ("exhibits", "2019/a.pdf")
    for key in ("inbox/a.pdf", "inbox//a.pdf", "inbox/exhibits/", "documents/x.pdf"):
        with pytest.raises(InvalidInputError):
            collection_of(key)


async def test_objects_put_in_the_inbox_are_ingested_into_their_collection(
    moto_s3: Any, database_url: str, tmp_path: Path
) -> None:
    endpoint = moto_s3.meta.endpoint_url
    queues = create_sqs_pair(endpoint, visibility=30, max_receives=5)
    bucket = f"documents-{uuid.uuid4().hex[:10]}"
    s3 = local_client("s3", endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "inbox",
                    "QueueArn": queues.arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inbox/"}]}},
                }
            ]
        },
    )
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        blob_store="s3",
        documents_bucket=bucket,
        queue="sqs",
        sqs_queue_url=queues.url,
        sqs_dead_letter_queue_url=queues.dead_letter_url,
        queue_wait_seconds=1,
    )
    async with open_services(settings) as services:
        s3.put_object(Bucket=bucket, Key="inbox/exhibits/2019/a b+c.pdf", Body=PDF.read_bytes())
        s3.put_object(
            Bucket=bucket,
            Key="inbox/exhibits/scan-0007.pdf",
            Body=OTHER.read_bytes(),
            Metadata={"title": "Exhibit 7"},
        )
        # The same file again under another key is a duplicate; these two are refused.
        s3.put_object(Bucket=bucket, Key="inbox/exhibits/copy.pdf", Body=PDF.read_bytes())
        s3.put_object(Bucket=bucket, Key="inbox/exhibits/notes.txt", Body=b"not a document")
        s3.put_object(Bucket=bucket, Key="inbox/loose.pdf", Body=PDF.read_bytes())

        async def settled() -> bool:
            page = await services.catalog.list_documents(
                collections=frozenset({"exhibits"}), limit=10, offset=0
            )
            depth = await services.queue.depth()
            ready = all(d.status is DocumentStatus.READY for d in page.items)
            return page.total == 2 and ready and depth.waiting + depth.running == 0

        deadline = asyncio.get_running_loop().time() + 120
        while not await settled():
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.2)
        page = await services.catalog.list_documents(collections=None, limit=10, offset=0)
        depth = await services.queue.depth()
    assert sorted(d.title for d in page.items) == ["2019/a b+c.pdf", "Exhibit 7"]
    assert {d.collection for d in page.items} == {"exhibits"}
    assert depth.dead == 0

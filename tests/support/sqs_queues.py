"""Real SQS queues (a queue and its dead-letter queue) on moto's server, for tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from tests.conftest import local_client


@dataclass(frozen=True)
class SqsPair:
    client: Any
    url: str
    dead_letter_url: str
    arn: str


def create_sqs_pair(endpoint_url: str, *, visibility: int, max_receives: int) -> SqsPair:
    """A standard queue with SSE-SQS and a redrive policy to its own DLQ, as the stacks
    create them (components/ingest_queue.py), with a unique name."""
    sqs = local_client("sqs", endpoint_url)
    name = f"ingest-{uuid.uuid4().hex[:10]}"
    dlq = sqs.create_queue(
        QueueName=f"{name}-dlq",
        Attributes={"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility),
            "SqsManagedSseEnabled": "true",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return SqsPair(client=sqs, url=url, dead_letter_url=dlq, arn=arn)

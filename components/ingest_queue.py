"""The ingestion job queue on Amazon SQS (both options): a standard queue with a
dead-letter queue (redrive after ``max_receive_count`` receipts), SSE-SQS encryption,
long polling, TLS-only access, and the documents bucket's ``inbox/`` prefix notifying it.

SSE-SQS rather than SSE-KMS: S3 event notifications cannot publish to a queue encrypted
with the AWS-managed ``alias/aws/sqs`` key, and a customer-managed key would need a key
policy for S3 (the deploy stack's KMS work can switch ``kms_master_key_id`` on then).

IAM: ``sender_statements`` (the API: send, read the queue's attributes for readiness and
``rag-app jobs list``) and ``worker_statements`` (receive, delete, change visibility; send,
because an inbox object becomes a new job; the same on the DLQ to mark dead jobs failed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.app_environment import QueueTarget
from components.operations import Alarm

INBOX_PREFIX = "inbox/"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's longest: time to look at what failed
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
LONG_POLL_SECONDS = 20
OLDEST_JOB_ALARM_SECONDS = 3600  # a job waiting an hour: the workers are stuck or too few


@dataclass(frozen=True)
class IngestQueueArgs:
    documents_bucket_id: pulumi.Input[str]
    documents_bucket_arn: pulumi.Input[str]
    max_receive_count: int = 5
    # A worker renews its lease (the visibility timeout) every third of it while a job runs.
    visibility_timeout_seconds: int = 120


def sender_statements(queue_arn: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "JobQueueSend",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"],
            "Resource": [queue_arn],
        }
    ]


def worker_statements(queue_arn: str, dead_letter_arn: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "JobQueueWork",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:SendMessage",
            ],
            "Resource": [queue_arn],
        },
        {
            "Sid": "JobQueueDeadLetters",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": [dead_letter_arn],
        },
    ]


def _queue_policy(queue_arn: str, bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "InboxEvents",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn}},
                },
                {
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


class IngestQueue(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: IngestQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:IngestQueue", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        self.dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            name,
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            redrive_policy=self.dead_letters.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count}
                )
            ),
            opts=child,
        )
        # Only this queue may redrive into the DLQ.
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq",
            queue_url=self.dead_letters.url,
            redrive_allow_policy=self.queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq",
            queue_url=self.dead_letters.url,
            policy=pulumi.Output.all(self.dead_letters.arn, args.documents_bucket_arn).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [json.loads(_queue_policy(a[0], a[1]))["Statement"][1]],
                    }
                )
            ),
            opts=child,
        )
        policy = aws.sqs.QueuePolicy(
            name,
            queue_url=self.queue.url,
            policy=pulumi.Output.all(self.queue.arn, args.documents_bucket_arn).apply(
                lambda a: _queue_policy(a[0], a[1])
            ),
            opts=child,
        )
        # S3 checks the queue policy when the notification is set: it must exist first.
        self.inbox = aws.s3.BucketNotification(
            f"{name}-inbox",
            bucket=args.documents_bucket_id,
            queues=[
                {
                    "id": "inbox",
                    "queue_arn": self.queue.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": INBOX_PREFIX,
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.register_outputs(
            {
                "queue_url": self.queue.url,
                "queue_arn": self.queue.arn,
                "dead_letter_url": self.dead_letters.url,
                "dead_letter_arn": self.dead_letters.arn,
            }
        )

    def target(self) -> QueueTarget:
        """Where the app finds the queue (app_environment's RAG_QUEUE_* settings)."""
        return QueueTarget(
            url=self.queue.url,
            dead_letter_url=self.dead_letters.url,
            max_receive_count=self.args.max_receive_count,
            visibility_timeout_seconds=self.args.visibility_timeout_seconds,
        )


def queue_alarms(queue: IngestQueue) -> list[Alarm]:
    """The queue's alarms for the stack's Operations (its topic and dashboard): a job that
    has waited too long, and any job in the dead-letter queue. Workers mark dead jobs
    failed and then delete their messages, so the DLQ alarm fires for the minutes a dead
    job waits for them, or for as long as no worker runs; each dead job also counts in the
    app's IngestionFailures metric, which has its own alarm."""
    return [
        Alarm("queue-oldest-job", "AWS/SQS", "ApproximateAgeOfOldestMessage",
              {"QueueName": queue.queue.name}, OLDEST_JOB_ALARM_SECONDS, statistic="Maximum",
              evaluation_periods=1,
              description="an ingestion job has waited over an hour for a worker"),
        Alarm("queue-dead-letters", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
              {"QueueName": queue.dead_letters.name}, 0, statistic="Maximum",
              evaluation_periods=1,
              description="an ingestion job ran out of attempts (its message is in the DLQ)"),
    ]  # fmt: skip

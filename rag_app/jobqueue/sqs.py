"""The job queue on Amazon SQS: a standard queue whose redrive policy moves a message to
the dead-letter queue after ``maxReceiveCount`` receipts. The same queue carries the S3
event notifications of the documents bucket's ``inbox/`` prefix.

boto3 is synchronous: each call runs in a worker thread. moto (server mode) speaks the
same wire protocol in tests; where it differs from SQS (a stale receipt handle still
works there, messages move to the DLQ lazily on the next receive) the worker does not
depend on the difference: job effects are idempotent and the dead-letter queue's long poll
sees a message moved there by another receiver's receive.

Every ``ReceiveMessage`` is a long poll (up to 20 s) on a daemon thread of its own: a poll
abandoned on shutdown then cannot keep the process alive. The interpreter joins anyio's
worker threads at exit, so a worker stopped by SIGTERM used to live on for the rest of its
poll (17 s measured on moto's server with the default 20 s wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote_plus

import anyio.to_thread
from botocore.exceptions import ClientError

from rag_app.jobqueue.base import DeadLetter, Delivery, InboxObject, QueueDepth

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_WAIT_SECONDS = 20  # SQS's longest long poll
MAX_BATCH = 10  # SQS's most messages per receive
MAX_VISIBILITY_SECONDS = 12 * 3600


def inbox_objects(body: dict[str, Any]) -> tuple[InboxObject, ...]:
    """The created objects an S3 event notification names. Keys arrive URL-encoded (moto
    encodes the ``/`` too): decoded here, so callers see the real key."""
    found = []
    for record in body.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        s3 = record.get("s3", {})
        bucket = s3.get("bucket", {}).get("name")
        key = s3.get("object", {}).get("key")
        if isinstance(bucket, str) and isinstance(key, str):
            found.append(InboxObject(bucket=bucket, key=unquote_plus(key)))
    return tuple(found)


class SqsJobQueue:
    """``queue_url`` with its dead-letter queue ``dead_letter_url``. ``max_attempts`` is
    the redrive policy's ``maxReceiveCount`` when the queue has one (read by ``create``),
    else the value given; ``lease_seconds`` is the visibility timeout of each receive."""

    def __init__(
        self,
        client: Any,
        *,
        queue_url: str,
        dead_letter_url: str,
        lease_seconds: float,
        max_attempts: int,
    ) -> None:
        self._sqs = client
        self._url = queue_url
        self._dlq = dead_letter_url
        self._lease = lease_seconds
        self._max_attempts = max_attempts

    @property
    def lease_seconds(self) -> float:
        return self._lease

    @property
    def max_attempts(self) -> int:
        return self._max_attempts

    async def _call(self, function: Callable[..., T], **kwargs: Any) -> T:
        def call() -> T:
            return function(**kwargs)

        # Cancelled on shutdown, a call is abandoned rather than awaited.
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)

    async def _receive_message(self, url: str, *, max_messages: int, wait_seconds: float) -> Any:
        """``ReceiveMessage`` on ``url``, a long poll of ``wait_seconds`` (whole seconds, at
        most 20), on a daemon thread. Cancelled, the poll is abandoned: a message it then
        receives comes back after the lease."""
        loop = asyncio.get_running_loop()
        received: asyncio.Future[Any] = loop.create_future()
        kwargs = {
            "QueueUrl": url,
            "MaxNumberOfMessages": max(1, min(MAX_BATCH, max_messages)),
            "WaitTimeSeconds": max(0, min(MAX_WAIT_SECONDS, round(wait_seconds))),
            "VisibilityTimeout": round(self._lease),
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
        }

        def settle(response: Any, error: Exception | None) -> None:
            if received.done():  # cancelled: nobody waits for it
                return
            if error is not None:
                received.set_exception(error)
            else:
                received.set_result(response)

        def poll() -> None:
            response, error = None, None
            try:
                response = self._sqs.receive_message(**kwargs)
            except Exception as e:
                error = e
            with contextlib.suppress(RuntimeError):  # the event loop is closed: shut down
                loop.call_soon_threadsafe(settle, response, error)

        threading.Thread(target=poll, name="sqs-receive", daemon=True).start()
        return await received

    async def create(self) -> None:
        attributes = (
            await self._call(
                self._sqs.get_queue_attributes, QueueUrl=self._url, AttributeNames=["All"]
            )
        )["Attributes"]
        await self._call(
            self._sqs.get_queue_attributes, QueueUrl=self._dlq, AttributeNames=["QueueArn"]
        )
        if "RedrivePolicy" in attributes:
            redrive = json.loads(attributes["RedrivePolicy"])
            self._max_attempts = int(redrive["maxReceiveCount"])
        else:
            log.warning("the queue %s has no redrive policy: nothing reaches its DLQ", self._url)

    async def send(self, job_id: str) -> None:
        await self._call(
            self._sqs.send_message, QueueUrl=self._url, MessageBody=json.dumps({"job_id": job_id})
        )

    async def receive(self, *, max_messages: int, wait_seconds: float) -> list[Delivery]:
        response = await self._receive_message(
            self._url, max_messages=max_messages, wait_seconds=wait_seconds
        )
        deliveries = []
        for message in response.get("Messages", []):
            handle = message["ReceiptHandle"]
            attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            body = _body(message)
            if body.get("Event") == "s3:TestEvent":  # sent once when the notification is set
                await self._delete(self._url, handle)
            elif isinstance(body.get("job_id"), str):
                deliveries.append(Delivery(receipt=handle, attempt=attempt, job_id=body["job_id"]))
            elif objects := inbox_objects(body):
                deliveries.append(Delivery(receipt=handle, attempt=attempt, inbox=objects))
            else:
                log.error("dropping a message that names no job: %.200s", message.get("Body"))
                await self._delete(self._url, handle)
        return deliveries

    async def extend(self, delivery: Delivery) -> bool:
        try:
            await self._call(
                self._sqs.change_message_visibility,
                QueueUrl=self._url,
                ReceiptHandle=delivery.receipt,
                VisibilityTimeout=round(self._lease),
            )
        except ClientError as e:
            log.warning("lost the lease of a message: %s", e)
            return False
        return True

    async def _delete(self, url: str, handle: str) -> None:
        try:
            await self._call(self._sqs.delete_message, QueueUrl=url, ReceiptHandle=handle)
        except ClientError as e:  # already gone, or the handle expired: the lease was lost
            log.warning("could not delete a message: %s", e)

    async def complete(self, delivery: Delivery) -> None:
        await self._delete(self._url, delivery.receipt)

    async def release(self, delivery: Delivery, *, reason: str, delay_seconds: float) -> None:
        # SQS keeps no reason; the worker records it on the job. On the last attempt the
        # next receive moves the message to the DLQ (the redrive policy).
        delay = max(0, min(MAX_VISIBILITY_SECONDS, round(delay_seconds)))
        try:
            await self._call(
                self._sqs.change_message_visibility,
                QueueUrl=self._url,
                ReceiptHandle=delivery.receipt,
                VisibilityTimeout=delay,
            )
        except ClientError as e:
            log.warning("could not release a message (its lease was lost): %s", e)

    async def dead_letters(self, *, max_messages: int, wait_seconds: float) -> list[DeadLetter]:
        response = await self._receive_message(
            self._dlq, max_messages=max_messages, wait_seconds=wait_seconds
        )
        letters = []
        for message in response.get("Messages", []):
            body = _body(message)
            job_id = body.get("job_id")
            letters.append(
                DeadLetter(
                    receipt=message["ReceiptHandle"],
                    job_id=job_id if isinstance(job_id, str) else None,
                    reason=None if isinstance(job_id, str) else _describe(body),
                    # Its receive count goes on in the DLQ (moto: +1 per receive there); a
                    # message is dead after exactly this many receipts from the queue.
                    attempts=self._max_attempts,
                )
            )
        return letters

    async def bury(self, dead: DeadLetter) -> None:
        await self._delete(self._dlq, dead.receipt)

    async def depth(self) -> QueueDepth:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        main = (
            await self._call(
                self._sqs.get_queue_attributes, QueueUrl=self._url, AttributeNames=names
            )
        )["Attributes"]
        dead = (
            await self._call(
                self._sqs.get_queue_attributes, QueueUrl=self._dlq, AttributeNames=names
            )
        )["Attributes"]
        return QueueDepth(
            waiting=int(main.get(names[0], 0)),
            running=int(main.get(names[1], 0)),
            dead=int(dead.get(names[0], 0)) + int(dead.get(names[1], 0)),
            oldest_age_seconds=None,
        )

    async def check(self) -> None:
        await self._call(
            self._sqs.get_queue_attributes, QueueUrl=self._url, AttributeNames=["QueueArn"]
        )


def _body(message: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(message.get("Body", ""))
    except json.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(body: dict[str, Any]) -> str:
    objects = inbox_objects(body)
    if objects:
        keys = ", ".join(f"s3://{o.bucket}/{o.key}" for o in objects)
        return f"the inbox object(s) {keys} could not be queued for ingestion"
    return "a message that names no job"

"""The AWS requests the app makes per document ingested, per question and per hour a worker
runs, as the cost model prices them. The per-document and per-question figures are counted
on the real Option 1 path (tests/infra/test_cost_requests.py pins them); the hourly ones
follow from the worker's and KEDA's polling intervals, named here with their sources."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

# Option 1's DynamoDB catalog (rag_app/catalog/dynamodb.py), one new document: conditional
# and plain puts and deletes (content claim, document, job stages, the swap lease) and
# strongly consistent single-item reads. Each item is under 1 KB: one write request unit,
# one read request unit. Index writes (the table's two GSIs) are not counted.
CATALOG_WRITES_PER_DOCUMENT = 10
CATALOG_READS_PER_DOCUMENT = 8
CATALOG_READS_PER_QUESTION = 0  # /ask reads no catalog item
CATALOG_BYTES_PER_DOCUMENT = 2048  # the document, its content claim and its job

# SQS, one job: SendMessage, the ReceiveMessage that delivers it, DeleteMessage; plus one
# ChangeMessageVisibility per third of the visibility timeout a job runs (the worker's
# lease heartbeat, rag_app/jobqueue/worker.py).
SQS_REQUESTS_PER_DOCUMENT = 3  # with no heartbeat: a job shorter than 40 s
# A running worker, per hour: long polls of 20 s (rag_app/jobqueue/sqs.py MAX_WAIT_SECONDS)
# on the queue and, by its housekeeping, on the dead-letter queue, and the two queue depth
# reads a minute (worker.py _housekeeping). tests/queue/test_worker_sqs_polling.py counts
# an idle worker's requests and pins this figure.
SQS_REQUESTS_PER_WORKER_HOUR = Decimal(3600 // 20 + 3600 // 20 + 2 * 60)
# KEDA's aws-sqs-queue scaler (Option 2): one GetQueueAttributes per pollingInterval (15 s,
# charts/rag-app/templates/worker-scaling.yaml), all month, workers or not.
SQS_REQUESTS_PER_KEDA_HOUR = Decimal(3600 // 15)

# S3 PUT-class requests: per document the original's PUT and one LIST; per question on
# Option 1 the conversation's record, answer and owner index (rag_app/conversations/
# objects.py; Option 2 keeps conversations in PostgreSQL).
S3_WRITES_PER_DOCUMENT = 2
S3_WRITES_PER_QUESTION_OPTION_1 = 3
# QueryVectors calls per question on the hybrid default (the store's two queries).
S3VECTORS_QUERIES_PER_QUESTION = 2


def heartbeats(job_seconds: Decimal, visibility_seconds: int) -> Decimal:
    """ChangeMessageVisibility calls a job of ``job_seconds`` makes: one per third of the
    visibility timeout it runs (worker.py ``_heartbeat``)."""
    return (job_seconds / (Decimal(visibility_seconds) / 3)).to_integral_value(rounding=ROUND_FLOOR)

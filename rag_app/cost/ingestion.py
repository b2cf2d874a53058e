"""The lines of the ingestion path and sign-in, beside each option's always-on lines: the
workers (Fargate tasks on Option 1, pods on nodes Auto Mode adds on Option 2), the SQS
queue's requests, Option 1's DynamoDB catalog, and the Cognito user pool when
``rag:auth.cognito`` is on. Request counts come from ``rag_app.cost.requests``."""

from __future__ import annotations

from decimal import Decimal

from rag_app.cost import requests as per
from rag_app.cost.lines import Line, line
from rag_app.cost.prices import RegionPrices
from rag_app.cost.scenario import Scenario, Workers
from rag_app.cost.workload import MILLION, Workload
from rag_app.errors import InvalidInputError

MINUTES = Decimal(60)
VISIBILITY_SECONDS = 120  # rag:workers.visibilityTimeoutSeconds' default
GIB = Decimal(2**30)


def worker_hours(workers: Workers, documents: Decimal, bursts: Decimal) -> Decimal:
    """Hours workers run for ``documents`` jobs arriving in ``bursts`` (no more bursts than
    jobs): each job's run time, plus each burst's wait for scale-in after the queue empties."""
    bursts = min(bursts, documents)
    return (documents * workers.minutes_per_document + bursts * workers.idle_minutes_per_burst) / (
        MINUTES
    )


def _sqs_per_document(workers: Workers) -> Decimal:
    job_seconds = workers.minutes_per_document * MINUTES
    return per.SQS_REQUESTS_PER_DOCUMENT + per.heartbeats(job_seconds, VISIBILITY_SECONDS)


def sqs_lines(
    scenario: Scenario, prices: RegionPrices, documents: Decimal, hours: Decimal, *, keda: bool
) -> Line:
    """A month's queue requests: per job, per hour a worker runs, and KEDA's polls."""
    w = scenario.workers
    running = worker_hours(w, documents, Decimal(w.bursts_per_month))
    requests = documents * _sqs_per_document(w) + running * per.SQS_REQUESTS_PER_WORKER_HOUR
    detail = (
        f"{_sqs_per_document(w)} per job, {per.SQS_REQUESTS_PER_WORKER_HOUR:,} per worker-hour "
        f"({running:.1f} h)"
    )
    if keda:
        requests += hours * per.SQS_REQUESTS_PER_KEDA_HOUR
        detail += f", KEDA's {per.SQS_REQUESTS_PER_KEDA_HOUR} an hour"
    return line(prices, "sqs.requests", "SQS requests", requests / MILLION, detail)


def fargate_worker_lines(
    scenario: Scenario, prices: RegionPrices, worker_hours_: Decimal, when: str
) -> list[Line]:
    w, arch = scenario.workers, scenario.ecs.cpu_architecture
    vcpu, memory = Decimal(w.ecs_cpu) / 1024, Decimal(w.ecs_memory) / 1024
    return [
        line(
            prices,
            f"fargate.{arch}.vcpu",
            f"Ingestion workers' vCPU{when}",
            vcpu * worker_hours_,
            f"{worker_hours_:.1f} task-hours x {vcpu} vCPU",
        ),
        line(
            prices,
            f"fargate.{arch}.memory",
            f"Ingestion workers' memory{when}",
            memory * worker_hours_,
            f"{worker_hours_:.1f} task-hours x {memory} GB",
        ),
    ]


def eks_worker_lines(
    scenario: Scenario, prices: RegionPrices, worker_hours_: Decimal, when: str
) -> list[Line]:
    """A node of ``workers.node_instance_type`` per running worker pod (with Auto Mode's
    fee); InvalidInputError if the table lacks the type or the pod does not fit it."""
    w = scenario.workers
    vcpu, memory = prices.instance_type(w.node_instance_type)
    if w.pod_vcpu > vcpu or w.pod_memory_gib >= memory:
        raise InvalidInputError(
            f"a worker pod of {w.pod_cpu} CPU / {w.pod_memory} does not fit a "
            f"{w.node_instance_type} ({vcpu} vCPU, {memory} GiB, less the kubelet's "
            "reservation): pick a larger workers.node_instance_type"
        )
    return [
        line(
            prices,
            f"ec2.{w.node_instance_type}",
            f"Ingestion worker nodes{when}",
            worker_hours_,
            f"{worker_hours_:.1f} h of a {w.node_instance_type} per worker pod",
        ),
        line(
            prices,
            f"eks.auto_mode.{w.node_instance_type}",
            f"Ingestion worker nodes' Auto Mode fee{when}",
            worker_hours_,
            f"{w.node_instance_type}",
        ),
    ]


def catalog_lines(
    prices: RegionPrices, documents: Decimal, queries: Decimal, stored_documents: Decimal
) -> list[Line]:
    """Option 1's DynamoDB catalog, on demand: each write and read one request unit."""
    writes = documents * per.CATALOG_WRITES_PER_DOCUMENT
    reads = documents * per.CATALOG_READS_PER_DOCUMENT + queries * per.CATALOG_READS_PER_QUESTION
    return [
        line(
            prices,
            "dynamodb.write",
            "DynamoDB catalog writes",
            writes / MILLION,
            f"{per.CATALOG_WRITES_PER_DOCUMENT} per document ingested",
        ),
        line(
            prices,
            "dynamodb.read",
            "DynamoDB catalog reads",
            reads / MILLION,
            f"{per.CATALOG_READS_PER_DOCUMENT} per document ingested, "
            f"{per.CATALOG_READS_PER_QUESTION} per question",
        ),
        line(
            prices,
            "dynamodb.storage",
            "DynamoDB catalog storage",
            stored_documents * per.CATALOG_BYTES_PER_DOCUMENT / GIB,
            f"~{per.CATALOG_BYTES_PER_DOCUMENT:,} B per document",
        ),
    ]


def cognito_lines(scenario: Scenario, prices: RegionPrices) -> list[Line]:
    """The user pool's monthly active users beyond the free allowance; none without it."""
    if not scenario.auth.cognito:
        return []
    price = prices.price("cognito.essentials.mau")
    free = price.free_per_month or 0
    users = scenario.auth.monthly_active_users
    return [
        line(
            prices,
            "cognito.essentials.mau",
            "Cognito user pool (Essentials)",
            Decimal(max(0, users - free)),
            f"{users:,} monthly active users, the first {free:,} free",
        )
    ]


def s3_request_lines(prices: RegionPrices, work: Workload, *, per_question: int) -> Line:
    writes = (
        work.documents_added_per_month * per.S3_WRITES_PER_DOCUMENT + work.queries * per_question
    )
    detail = f"{per.S3_WRITES_PER_DOCUMENT} per added document (the original, a listing)"
    if per_question:
        detail += f", {per_question} per question (its conversation's records)"
    return line(prices, "s3.put_requests", "S3 requests", writes / 1000, detail)

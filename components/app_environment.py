"""The one place that turns stack facts into the app's settings, for both options, so the
ECS task definition and the Helm values cannot drift. Pure: values in, a mapping out (the
values may be Pulumi outputs, such as a bucket's generated name)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.config import ModelsConfig


@dataclass(frozen=True)
class DatabaseTarget:
    """Aurora (Option 2): where it is and which secret holds the login; never the password."""

    host: pulumi.Input[str]
    secret_arn: pulumi.Input[str]
    port: int = 5432
    name: str = "rag"
    # The app's least-privilege user, logging in with IAM auth tokens; None: the master
    # login from secret_arn (the init step that creates that user).
    iam_user: str | None = None


@dataclass(frozen=True)
class QueueTarget:
    """The ingestion job queue on SQS and its dead-letter queue (components/ingest_queue.py)."""

    url: pulumi.Input[str]
    dead_letter_url: pulumi.Input[str]
    max_receive_count: int
    visibility_timeout_seconds: int


@dataclass(frozen=True)
class AppTargets:
    region: str
    documents_bucket: pulumi.Input[str]
    api_keys_secret: pulumi.Input[str]  # the secret's ARN: the deployed API needs credentials
    vector_bucket: pulumi.Input[str] | None = None  # Option 1: S3 Vectors
    catalog_table: pulumi.Input[str] | None = None  # Option 1: the DynamoDB catalog
    database: DatabaseTarget | None = None  # Option 2: Aurora PostgreSQL + pgvector
    queue: QueueTarget | None = None  # ingestion jobs; None: the database's queue table
    audit_bucket: pulumi.Input[str] | None = None  # Option 1: the Object Lock audit bucket
    port: int = 8000


def app_environment(targets: AppTargets, models: ModelsConfig) -> dict[str, pulumi.Input[str]]:
    """The RAG_* settings of the app (none is a secret)."""
    env: dict[str, pulumi.Input[str]] = {
        "RAG_HOST": "0.0.0.0",  # noqa: S104 - inside the task; only the ALB reaches it
        "RAG_PORT": str(targets.port),
        "RAG_AWS_REGION": targets.region,
        "RAG_EMBEDDER": "bedrock",
        "RAG_ANSWERER": "bedrock",
        "RAG_BEDROCK_EMBEDDING_MODEL_ID": models.embedding_model_id,
        "RAG_BEDROCK_EMBEDDING_DIMENSIONS": str(models.embedding_dimensions),
        "RAG_BEDROCK_EMBEDDING_RPM": str(models.embedding_rpm),
        "RAG_BEDROCK_ANSWER_MODEL_ID": models.answer_model_id,
        "RAG_BLOB_STORE": "s3",
        "RAG_DOCUMENTS_BUCKET": targets.documents_bucket,
        "RAG_DATA_DIR": "/tmp/rag",  # noqa: S108 - the task's only writable path
        "RAG_AUTH": "required",
        # Scanned pages and media go to Textract and Transcribe: no OCR or speech model in
        # the image, no minutes of task CPU per scanned exhibit (README, Audio and video).
        "RAG_OCR": "textract",
        "RAG_TRANSCRIBER": "transcribe",
        # The viewer's media and downloads come straight from S3 (a 307 to a presigned URL,
        # Range served by S3): no whole file read into the task's memory and sent through
        # the load balancer per seek. The task role already reads the bucket and its key.
        "RAG_CONTENT_REDIRECT": "true",
        "RAG_API_KEYS_SECRET_ID": targets.api_keys_secret,
        # A first deploy whose models are not enabled says so on /health/ready.
        "RAG_BEDROCK_MODEL_CHECK": "true",
    }
    if targets.vector_bucket is not None:
        env |= {
            "RAG_VECTOR_STORE": "s3vectors",
            "RAG_S3VECTORS_BUCKET": targets.vector_bucket,
        }
    if targets.catalog_table is not None:
        env |= {"RAG_CATALOG": "dynamodb", "RAG_DYNAMODB_TABLE": targets.catalog_table}
    if targets.audit_bucket is not None:
        env["RAG_AUDIT_BUCKET"] = targets.audit_bucket
    if targets.database is not None:
        env |= {
            "RAG_VECTOR_STORE": "pgvector",
            "RAG_CATALOG": "postgres",
            "RAG_DATABASE_HOST": targets.database.host,
            "RAG_DATABASE_PORT": str(targets.database.port),
            "RAG_DATABASE_NAME": targets.database.name,
            "RAG_DATABASE_SSLMODE": "require",  # the cluster parameter group forces TLS
        }
        if targets.database.iam_user is not None:
            env |= {"RAG_DATABASE_IAM_AUTH": "true", "RAG_DATABASE_USER": targets.database.iam_user}
        else:
            env["RAG_DATABASE_SECRET_ARN"] = targets.database.secret_arn
    if targets.queue is not None:
        env |= {
            "RAG_QUEUE": "sqs",
            "RAG_SQS_QUEUE_URL": targets.queue.url,
            "RAG_SQS_DEAD_LETTER_QUEUE_URL": targets.queue.dead_letter_url,
            "RAG_QUEUE_MAX_ATTEMPTS": str(targets.queue.max_receive_count),
            "RAG_QUEUE_LEASE_SECONDS": str(targets.queue.visibility_timeout_seconds),
        }
    return env

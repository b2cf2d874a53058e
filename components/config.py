"""The stack's configuration, validated once: `pulumi up` with a missing or wrong key stops
with a message naming the key (as written in Pulumi.<stack>.yaml) and what is allowed."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Literal

import pulumi
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.eks_versions import support_problem

NAMESPACE = "rag"


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class NetworkConfig(_Section):
    cidr_block: str = "10.40.0.0/16"
    availability_zones: int = Field(default=2, ge=2, le=3)
    nat_gateway: bool = False  # the VPC endpoints cover everything the app calls
    # full: an interface endpoint per AWS API (no NAT; traffic never leaves AWS's network);
    # minimal: one NAT gateway plus the free S3 gateway endpoint (cheaper for a few users).
    endpoints: Literal["full", "minimal"] = "full"
    flow_logs: bool = False  # VPC flow logs (rejected traffic) to CloudWatch Logs

    @property
    def uses_nat(self) -> bool:
        return self.nat_gateway or self.endpoints == "minimal"


class HttpsConfig(_Section):
    """The service's TLS: a certificate ACM issues and validates in a Route 53 zone (with an
    alias record for the service), or an existing certificate's ARN."""

    domain_name: str | None = Field(
        default=None, max_length=253, pattern=r"^([a-z0-9-]{1,63}\.)+[a-z]{2,63}$"
    )
    hosted_zone: str | None = Field(default=None, pattern=r"^([a-z0-9-]{1,63}\.)+[a-z]{2,63}$")
    certificate_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:acm:")

    @model_validator(mode="after")
    def _zone_covers_the_name(self) -> HttpsConfig:
        name, zone = self.domain_name, self.hosted_zone
        if name and zone and name != zone and not name.endswith("." + zone):
            raise ValueError("rag:https.domainName must be in rag:https.hostedZone")
        if self.hosted_zone and not self.domain_name:
            raise ValueError("rag:https.hostedZone needs rag:https.domainName")
        return self

    @property
    def configured(self) -> bool:
        return self.certificate_arn is not None or (
            self.domain_name is not None and self.hosted_zone is not None
        )


class OperationsConfig(_Section):
    alarm_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    access_log_days: int = Field(default=90, ge=1, le=3650)
    backup_retention_days: int = Field(default=35, ge=1, le=3650)


class WafConfig(_Section):
    # Requests per client IP per evaluation window before WAF blocks it (AWS minimum 10).
    rate_limit: int = Field(default=1000, ge=10, le=2_000_000_000)
    evaluation_window_seconds: Literal[60, 120, 300, 600] = 300


class PreviousEmbedding(_Section):
    model_id: str
    dimensions: Literal[256, 512, 1024]


class ModelsConfig(_Section):
    embedding_model_id: str = "amazon.titan-embed-text-v2:0"
    embedding_dimensions: Literal[256, 512, 1024] = 1024
    embedding_rpm: int = Field(default=2000, ge=1)
    answer_model_id: str = "amazon.nova-lite-v1:0"
    # Embeddings used before the current one: their indexes are kept until migrated
    # (docs/deploy.md, "Changing the embedding model").
    previous_embeddings: list[PreviousEmbedding] = Field(default_factory=list)


class DocumentsConfig(_Section):
    # A customer-managed KMS key for documents, vectors, the API-keys secret (and Aurora
    # unless rag:aurora.kmsKeyArn names another): an existing key's ARN, or createKmsKey to
    # have the program make one with the key policy S3 Vectors' indexing needs.
    kms_key_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:kms:[^:]+:\d{12}:key/")
    create_kms_key: bool = False
    noncurrent_version_days: int = Field(default=90, ge=1)
    force_destroy: bool = False


class AuditConfig(_Section):
    # Option 1's audit trail: objects locked (compliance mode) for this long.
    retention_days: int = Field(default=2555, ge=1, le=36_500)


class MigrationConfig(_Section):
    # The on-prem PostgreSQL the one-off migration reads (over a VPN or Direct Connect):
    # the app may open 5432 to this CIDR only when it is set.
    source_cidr: str | None = Field(
        default=None, pattern=r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$"
    )


class AuroraConfig(_Section):
    # pgvector 0.8 (iterative index scans) needs Aurora PostgreSQL 16.8+ or 17.x.
    engine_version: str = "16.8"
    min_capacity: float = Field(default=0.5, ge=0, le=256, multiple_of=0.5)
    max_capacity: float = Field(default=4, ge=1, le=256, multiple_of=0.5)
    seconds_until_auto_pause: int = Field(default=3600, ge=300, le=86400)
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    # A dev stack may pause at 0 ACU and be destroyed without a final snapshot.
    dev: bool = False
    kms_key_arn: str | None = None
    performance_insights: bool = False
    enhanced_monitoring_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = 0
    readers: int = Field(default=0, ge=0, le=2)  # reader instances, each in another AZ
    # The app's least-privilege login (IAM database auth), made by `rag-app init-db`.
    app_user: str = Field(default="rag_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")

    @field_validator("engine_version")
    @classmethod
    def _pgvector_0_8(cls, version: str) -> str:
        major, _, minor = version.partition(".")
        if not (major.isdigit() and minor.isdigit()) or (int(major), int(minor)) < (16, 8):
            raise ValueError(
                f"{version!r}: pgvector 0.8 needs Aurora PostgreSQL 16.8 or later (e.g. 16.8, 17.5)"
            )
        return version

    @model_validator(mode="after")
    def _capacity(self) -> AuroraConfig:
        if self.max_capacity < self.min_capacity:
            raise ValueError("rag:aurora.maxCapacity must be at least rag:aurora.minCapacity")
        if self.min_capacity == 0 and not self.dev:
            raise ValueError(
                "rag:aurora.minCapacity 0 (auto-pause; about 15 s to resume) is for dev stacks: "
                "set rag:aurora.dev: true, or a minimum of at least 0.5"
            )
        return self


_DIGEST_URI = r"^[^@\s]+@sha256:[0-9a-f]{64}$"  # an image pinned by digest, never a tag


class EksConfig(_Section):
    cluster_name: str | None = Field(default=None, pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,99}$")
    kubernetes_version: str = Field(default="1.35", pattern=r"^1\.\d{2}$")
    # The API endpoint: private always; public only from these CIDRs (the deployer's).
    public_access_cidrs: list[str] = Field(default_factory=list)
    namespace: str = Field(default="rag", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    service_account: str = "rag-app"
    replicas: int = Field(default=2, ge=1)
    max_replicas: int = Field(default=4, ge=1)
    cpu_target_percent: int = Field(default=60, ge=10, le=90)
    # Auto Mode's built-in general-purpose NodePool launches amd64 instances: build the
    # image for the same architecture (README, Deploy Option 2).
    cpu_architecture: Literal["amd64", "arm64"] = "amd64"
    cpu: str = Field(default="500m", pattern=r"^\d+m?$")
    memory: str = Field(default="1Gi", pattern=r"^\d+(Mi|Gi)$")
    internal: bool = False  # an internal ALB, reachable only from the VPC/VPN
    image_uri: str | None = Field(default=None, pattern=_DIGEST_URI)
    log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365] = 30
    # How long `pulumi up` waits for the Deployment and the Ingress to become ready.
    await_timeout_seconds: int = Field(default=900, ge=60, le=3600)

    @field_validator("kubernetes_version")
    @classmethod
    def _standard_support(cls, version: str) -> str:
        if problem := support_problem(version, dt.datetime.now(dt.UTC).date()):
            raise ValueError(problem)
        return version

    @model_validator(mode="after")
    def _checks(self) -> EksConfig:
        if "0.0.0.0/0" in self.public_access_cidrs:
            raise ValueError(
                "rag:eks.publicAccessCidrs must not open the Kubernetes API to 0.0.0.0/0; "
                "list the deployer's CIDRs, or none for a private endpoint only"
            )
        if self.max_replicas < self.replicas:
            raise ValueError("rag:eks.maxReplicas must be at least rag:eks.replicas")
        return self


class EcsConfig(_Section):
    cpu: Literal[256, 512, 1024, 2048, 4096] = 1024
    memory: int = Field(default=2048, ge=512, le=30720)
    min_tasks: int = Field(default=1, ge=1)
    max_tasks: int = Field(default=2, ge=1)
    cpu_target_percent: int = Field(default=60, ge=10, le=90)
    cpu_architecture: Literal["ARM64", "X86_64"] = "ARM64"
    # An existing image pinned by digest instead of the one this stack builds.
    image_uri: str | None = Field(default=None, pattern=_DIGEST_URI)
    log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365] = 30

    @model_validator(mode="after")
    def _tasks(self) -> EcsConfig:
        if self.max_tasks < self.min_tasks:
            raise ValueError("rag:ecs.maxTasks must be at least rag:ecs.minTasks")
        return self


class CognitoConfig(_Section):
    """SSO for the web app through a Cognito user pool the stack creates (components/
    cognito.py): its hosted sign-in domain is ``<domainPrefix>.auth.<region>.amazoncognito.com``."""

    # Cognito: lower-case letters, digits and hyphens, no "aws", "amazon" or "cognito".
    domain_prefix: str = Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
    # The grant groups to create (users get collections by joining them).
    groups: tuple[str, ...] = Field(
        default=(), max_length=100, description="read:<collection> / write:<collection>"
    )
    # The service's public base URL; default https://<rag:https.domainName>. Cognito takes
    # https callback URLs only (http for localhost).
    public_url: str | None = Field(default=None, pattern=r"^https://[a-z0-9.-]+(:[0-9]{1,5})?$")

    @field_validator("domain_prefix")
    @classmethod
    def _no_reserved_words(cls, value: str) -> str:
        for word in ("aws", "amazon", "cognito"):
            if word in value:
                raise ValueError(f"a Cognito domain prefix may not contain {word!r}")
        return value

    @field_validator("groups")
    @classmethod
    def _grant_groups(cls, groups: tuple[str, ...]) -> tuple[str, ...]:
        for group in groups:
            if not re.fullmatch(r"(read|write):([A-Za-z0-9._-]{1,64}|\*)", group):
                raise ValueError(f"group {group!r} is not read:<collection> or write:<collection>")
        if len(set(groups)) != len(groups):
            raise ValueError("groups repeat")
        return groups


class AuthConfig(_Section):
    cognito: CognitoConfig | None = None


class WorkersConfig(_Section):
    """Ingestion workers and their SQS queue (components/ingest_queue.py, worker_service.py,
    the chart's worker Deployment)."""

    max_receive_count: int = Field(default=5, ge=1, le=1000)  # then the job is dead
    visibility_timeout_seconds: int = Field(default=120, ge=30, le=43_200)
    max_workers: int = Field(default=4, ge=1, le=100)
    backlog_per_worker: int = Field(default=5, ge=1, le=1000)  # scale-out target
    concurrency: int = Field(default=1, ge=1, le=8)  # jobs per worker at once
    # ECS task size (Fargate cpu units, MiB) and Kubernetes requests/limits.
    ecs_cpu: Literal[1024, 2048, 4096, 8192, 16384] = 2048
    ecs_memory: int = Field(default=8192, ge=2048, le=122_880)
    k8s_cpu: str = Field(default="1", pattern=r"^\d+m?$")
    k8s_memory: str = Field(default="4Gi", pattern=r"^\d+(Mi|Gi)$")


class StackConfig(_Section):
    platform: Literal["ecs", "eks"]
    # A dev stack may serve plain HTTP, skip data protection and be destroyed; the policy
    # pack grants the HTTP exemption by the stack's name, never by this flag (policy/).
    dev: bool = False
    https: HttpsConfig = HttpsConfig()
    operations: OperationsConfig = OperationsConfig()
    waf: WafConfig = WafConfig()
    network: NetworkConfig = NetworkConfig()
    models: ModelsConfig = ModelsConfig()
    documents: DocumentsConfig = DocumentsConfig()
    ecs: EcsConfig | None = None
    eks: EksConfig | None = None
    aurora: AuroraConfig | None = None
    migration: MigrationConfig = MigrationConfig()
    workers: WorkersConfig = WorkersConfig()
    audit: AuditConfig = AuditConfig()
    auth: AuthConfig = AuthConfig()

    @property
    def public_url(self) -> str | None:
        """The service's public base URL, when the stack knows it."""
        cognito = self.auth.cognito
        if cognito is not None and cognito.public_url:
            return cognito.public_url
        return f"https://{self.https.domain_name}" if self.https.domain_name else None

    @model_validator(mode="after")
    def _platform_section(self) -> StackConfig:
        if self.platform == "ecs" and self.ecs is None:
            raise ValueError("rag:platform is ecs: the rag:ecs section is required")
        if self.platform == "eks" and (self.eks is None or self.aurora is None):
            raise ValueError(
                "rag:platform is eks: the rag:eks and rag:aurora sections are required"
            )
        if not self.dev and not self.https.configured:
            raise ValueError(
                "rag:https needs domainName + hostedZone (a certificate ACM issues and "
                "validates in that Route 53 zone) or certificateArn; plain HTTP is only for a "
                "stack marked rag:dev: true"
            )
        if self.documents.kms_key_arn and self.documents.create_kms_key:
            raise ValueError(
                "rag:documents: set kmsKeyArn (an existing key) or createKmsKey, not both"
            )
        if self.auth.cognito is not None and self.public_url is None:
            raise ValueError(
                "rag:auth.cognito needs the service's public URL for its callback: "
                "rag:https.domainName, or rag:auth.cognito.publicUrl"
            )
        if self.aurora is not None and self.aurora.dev and not self.dev:
            raise ValueError("rag:aurora.dev: true needs the whole stack marked rag:dev: true")
        return self


class ConfigError(Exception):
    pass


def _raw_config() -> dict[str, Any]:
    """Every ``rag:`` key the engine passed, parsed like the CLI passes them (JSON for
    objects, strings for scalars)."""
    values = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    raw: dict[str, Any] = {}
    for key, value in values.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        try:
            raw[name] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            raw[name] = value
    return raw


def parse_stack_config(raw: dict[str, Any]) -> StackConfig:
    """Validate ``raw`` (the ``rag:`` keys without the namespace); raise ConfigError naming
    each bad key as ``rag:<section>.<key>``."""
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as e:
        lines = []
        for error in e.errors():
            where = ".".join(str(p) for p in error["loc"])
            key = f"{NAMESPACE}:{where}" if where else NAMESPACE
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{key}: {message}" if where else message)
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(lines)) from None


def load_stack_config() -> StackConfig:
    return parse_stack_config(_raw_config())

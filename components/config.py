"""The stack's configuration, validated once: `pulumi up` with a missing or wrong key stops
with a message naming the key (as written in Pulumi.<stack>.yaml) and what is allowed."""

from __future__ import annotations

import json
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

NAMESPACE = "rag"


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class NetworkConfig(_Section):
    cidr_block: str = "10.40.0.0/16"
    availability_zones: int = Field(default=2, ge=2, le=3)
    nat_gateway: bool = False  # the VPC endpoints cover everything the app calls


class ModelsConfig(_Section):
    embedding_model_id: str = "amazon.titan-embed-text-v2:0"
    embedding_dimensions: Literal[256, 512, 1024] = 1024
    embedding_rpm: int = Field(default=2000, ge=1)
    answer_model_id: str = "amazon.nova-lite-v1:0"


class DocumentsConfig(_Section):
    kms_key_arn: str | None = None
    noncurrent_version_days: int = Field(default=90, ge=1)
    force_destroy: bool = False


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


class EksConfig(_Section):
    cluster_name: str | None = Field(default=None, pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,99}$")
    kubernetes_version: str = Field(default="1.33", pattern=r"^1\.\d{2}$")
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
    certificate_arn: str | None = None
    allow_http: bool = False
    internal: bool = False  # an internal ALB, reachable only from the VPC/VPN
    image_tag: str = "0.1.0"
    image_uri: str | None = None
    log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365] = 30

    @model_validator(mode="after")
    def _checks(self) -> EksConfig:
        if self.certificate_arn is None and not self.allow_http:
            raise ValueError(
                "rag:eks.certificateArn is required (an ACM certificate ARN for the ALB's HTTPS "
                "listener); set rag:eks.allowHttp: true only for a proof of concept"
            )
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
    certificate_arn: str | None = None
    allow_http: bool = False  # plain HTTP only for a proof of concept
    image_tag: str = "0.1.0"
    image_uri: str | None = None  # an existing image instead of this stack's repository
    log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365] = 30

    @model_validator(mode="after")
    def _tls(self) -> EcsConfig:
        if self.certificate_arn is None and not self.allow_http:
            raise ValueError(
                "rag:ecs.certificateArn is required (an ACM certificate ARN for the HTTPS "
                "listener); set rag:ecs.allowHttp: true only for a proof of concept"
            )
        if self.max_tasks < self.min_tasks:
            raise ValueError("rag:ecs.maxTasks must be at least rag:ecs.minTasks")
        return self


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
    network: NetworkConfig = NetworkConfig()
    models: ModelsConfig = ModelsConfig()
    documents: DocumentsConfig = DocumentsConfig()
    ecs: EcsConfig | None = None
    eks: EksConfig | None = None
    aurora: AuroraConfig | None = None
    migration: MigrationConfig = MigrationConfig()
    workers: WorkersConfig = WorkersConfig()

    @model_validator(mode="after")
    def _platform_section(self) -> StackConfig:
        if self.platform == "ecs" and self.ecs is None:
            raise ValueError("rag:platform is ecs: the rag:ecs section is required")
        if self.platform == "eks" and (self.eks is None or self.aurora is None):
            raise ValueError(
                "rag:platform is eks: the rag:eks and rag:aurora sections are required"
            )
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

"""What `rag-app cost` prices: the corpus, how it is indexed, how it is used, and each option's
sizing. Defaults are the seed's scenario (a few users, legal PDFs, some video; the volumes
are the research notes' worked example) and the sizes the Pulumi stacks deploy; tests
hold them to the recorded plans (docs/plan-ecs.json, docs/plan-eks.json).

Inputs come from a TOML file with these sections (any key may be left out) and from
``section.key=value`` overrides; an unknown or invalid key is an error naming it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rag_app.errors import InvalidInputError
from rag_app.settings import Settings

_APP = Settings.model_fields  # the app's own defaults: chunking, models, top_k


def _app_default(name: str) -> Any:
    return _APP[name].default


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Corpus(_Section):
    documents: int = Field(default=1000, ge=0)
    pages_per_document: Decimal = Field(default=Decimal(40), ge=0)
    tokens_per_page: Decimal = Field(default=Decimal(500), ge=0)
    megabytes_per_document: Decimal = Field(default=Decimal(1), ge=0)
    media_hours: Decimal = Field(default=Decimal(100), ge=0)
    media_gigabytes_per_hour: Decimal = Field(default=Decimal(1), ge=0)
    transcript_tokens_per_hour: Decimal = Field(default=Decimal(9000), ge=0)
    documents_added_per_month: int = Field(default=20, ge=0)
    media_hours_added_per_month: Decimal = Field(default=Decimal(2), ge=0)


class Indexing(_Section):
    # Characters, within the app's own bounds (RAG_CHUNK_SIZE, RAG_CHUNK_OVERLAP).
    chunk_size: int = Field(default=_app_default("chunk_size"), ge=200, le=8_000)
    chunk_overlap: int = Field(default=_app_default("chunk_overlap"), ge=0, le=5_000)
    characters_per_token: Decimal = Field(default=Decimal("4.7"), ge=1, le=10)
    embedding_model: str = _app_default("bedrock_embedding_model_id")
    embedding_dimension: Literal[256, 512, 1024] = _app_default("bedrock_embedding_dimensions")
    title_characters: int = Field(default=60, ge=0, le=512)
    filterable_metadata_bytes: int = Field(default=0, ge=0, le=2048)  # the user's own keys

    @model_validator(mode="after")
    def _overlap(self) -> Indexing:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class Usage(_Section):
    queries_per_month: int = Field(default=4400, ge=0)
    passages_per_answer: int = Field(default=5, ge=1, le=100)
    question_tokens: int = Field(default=30, ge=1, le=2_000)
    answer_model: str = _app_default("bedrock_answer_model_id")
    output_tokens: int = Field(default=500, ge=0)
    # RAG_RERANKER / RAG_BEDROCK_RERANK_MODEL_ID: bedrock adds one Rerank call per question.
    reranker: Literal["none", "bedrock"] = _app_default("reranker")
    rerank_model: str = _app_default("bedrock_rerank_model_id")


class Network(_Section):
    availability_zones: int = Field(default=2, ge=1, le=6)
    nat_gateway: bool = False
    # rag:network.endpoints: full (an interface endpoint per AWS API, no NAT) or minimal
    # (one NAT gateway and the free S3 gateway endpoint, no interface endpoints).
    endpoints: Literal["full", "minimal"] = "full"
    nat_gigabytes_per_month: Decimal = Field(default=Decimal(5), ge=0)
    # Average LCUs: one LCU is 25 new connections/s or 1 GB/h processed; a few users
    # asking a few thousand questions a month use a small fraction of one.
    load_balancer_lcu: Decimal = Field(default=Decimal("0.1"), ge=0)


class Ecs(_Section):
    cpu: Literal[256, 512, 1024, 2048, 4096] = 1024  # Fargate CPU units (1024 = 1 vCPU)
    memory: int = Field(default=2048, ge=512, le=30720)  # MiB
    tasks: Decimal = Field(default=Decimal(1), gt=0)  # average running tasks
    cpu_architecture: Literal["ARM64", "X86_64"] = "ARM64"
    # ECS_ENDPOINTS in components/deploy.py: bedrock-runtime, secretsmanager, ecr.api,
    # ecr.dkr, logs, sts, textract, transcribe, sqs, s3vectors, ssm.
    interface_endpoints: int = Field(default=11, ge=0)
    secrets: int = Field(default=3, ge=0)  # the API keys, the migration source, web sign-in


_CPU = r"^\d+m?$"  # Kubernetes quantities as the stack config takes them: 500m, 2
_MEMORY = r"^\d+(Mi|Gi)$"  # 512Mi, 1Gi


def _quantity_as_text(value: Any) -> Any:
    # `--set eks.pod_cpu=2` arrives as the number 2 (and 0.5, refused, as 0.5).
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return str(value) if number else value


def cpu_quantity(value: str) -> Decimal:
    """A Kubernetes CPU quantity (``500m``, ``2``) in vCPUs."""
    return Decimal(value[:-1]) / 1000 if value.endswith("m") else Decimal(value)


def memory_gib(value: str) -> Decimal:
    """A Kubernetes memory quantity (``512Mi``, ``1Gi``) in GiB."""
    number = Decimal(value[:-2])
    return number if value.endswith("Gi") else number / 1024


class _Pods(_Section):
    """Kubernetes requests for one pod, as the stack config takes them (defaults: the API's
    pods, rag:eks.cpu and rag:eks.memory)."""

    pod_cpu: str = Field(default="500m", pattern=_CPU)
    pod_memory: str = Field(default="1Gi", pattern=_MEMORY)
    _quantities = field_validator("pod_cpu", "pod_memory", mode="before")(_quantity_as_text)

    @property
    def pod_vcpu(self) -> Decimal:
        return cpu_quantity(self.pod_cpu)

    @property
    def pod_memory_gib(self) -> Decimal:
        return memory_gib(self.pod_memory)


class Eks(_Pods):
    # EKS_ENDPOINTS in components/deploy.py: the eleven of Option 1 without s3vectors and
    # ssm, plus eks, eks-auth, ec2 and elasticloadbalancing for the Auto Mode nodes.
    interface_endpoints: int = Field(default=13, ge=0)
    replicas: int = Field(default=2, ge=1)  # the chart's replicaCount (rag:eks.replicas)
    # What Auto Mode's general-purpose NodePool launches for the pods: see option_2.
    node_instance_type: str = "c6a.large"
    nodes: int = Field(default=1, ge=1)
    node_volume_gigabytes: int = Field(default=80, ge=1)  # the default NodeClass's 80 GiB
    aurora_min_acu: Decimal = Field(default=Decimal("0.5"), ge=0, le=256)  # 0: auto-pause
    aurora_max_acu: Decimal = Field(default=Decimal(4), ge=1, le=256)
    aurora_average_acu: Decimal | None = Field(default=None, gt=0)  # None: the floor
    aurora_active_hours_per_month: Decimal | None = Field(default=None, ge=0)  # None: all
    aurora_io_millions_per_month: Decimal = Field(default=Decimal(1), ge=0)
    aurora_backup_retention_days: int = Field(default=7, ge=1, le=35)
    # All five control-plane log types are on; at idle the audit log is nearly all of it
    # (estimated in option_2's assumptions). The database exports its postgresql log.
    control_plane_log_gigabytes_per_month: Decimal = Field(default=Decimal(12), ge=0)
    database_log_gigabytes_per_month: Decimal = Field(default=Decimal("0.1"), ge=0)
    kms_keys: int = Field(default=1, ge=0)  # Kubernetes secrets encryption
    # A version past its standard support bills the extended rate (components/eks_versions).
    extended_support: bool = False
    secrets: int = Field(default=3, ge=0)  # the database login, the API keys, web sign-in

    @model_validator(mode="after")
    def _acu_range(self) -> Eks:
        if self.aurora_min_acu > self.aurora_max_acu:
            raise ValueError("aurora_min_acu must not exceed aurora_max_acu")
        if self.aurora_average_acu is not None and not (
            max(self.aurora_min_acu, Decimal("0.5"))
            <= self.aurora_average_acu
            <= self.aurora_max_acu
        ):
            raise ValueError(
                "aurora_average_acu must lie between the running floor "
                "(aurora_min_acu, at least 0.5) and aurora_max_acu"
            )
        if self.aurora_min_acu > 0 and self.aurora_active_hours_per_month is not None:
            raise ValueError(
                "aurora_active_hours_per_month applies only with auto-pause (aurora_min_acu = 0)"
            )
        return self

    @property
    def aurora_running_acu(self) -> Decimal:
        """The average capacity while the database is not paused."""
        if self.aurora_average_acu is not None:
            return self.aurora_average_acu
        return max(self.aurora_min_acu, Decimal("0.5"))


class Operations(_Section):
    # The app's own log: Option 1's ECS log group. Option 2's stack ships no pod logs.
    log_gigabytes_per_month: Decimal = Field(default=Decimal(1), ge=0)
    log_retention_days: int = Field(default=30, ge=1)  # every log group of both stacks
    image_gigabytes: Decimal = Field(default=Decimal("0.3"), ge=0)
    images_kept: int = Field(default=5, ge=0)
    kms_keys: int = Field(default=0, ge=0)  # your own: rag:documents/aurora.kmsKeyArn
    # Edge and operations, the same on both options: the WAF web ACL's rules (a rate rule,
    # three managed groups, the body-size rule), the requests it inspects, and AWS Backup.
    waf_rules: int = Field(default=5, ge=0)
    waf_requests_millions_per_month: Decimal = Field(default=Decimal("0.1"), ge=0)
    backup_gigabytes: Decimal = Field(default=Decimal(1), ge=0)  # documents (and Aurora)
    # CloudWatch alarms each stack declares (components/deploy.py): the option's, the
    # queue's two, the app's three (ingestion failures, Bedrock throttling and refusals), the
    # ALB's (both options) and, on Option 1, the workers' first-task alarm.
    alarms_option_1: int = Field(default=12, ge=0)
    alarms_option_2: int = Field(default=13, ge=0)


class Workers(_Pods):
    """The ingestion workers (rag:workers): Fargate tasks on Option 1, KEDA-scaled pods on
    Option 2, both from zero while the queue is empty. A worker runs while jobs wait or run,
    then until the scale-in lets it go."""

    ecs_cpu: Literal[1024, 2048, 4096, 8192, 16384] = 2048  # rag:workers.ecsCpu
    ecs_memory: int = Field(default=8192, ge=2048, le=122_880)  # MiB, rag:workers.ecsMemory
    pod_cpu: str = Field(default="1", pattern=_CPU)  # rag:workers.k8sCpu
    pod_memory: str = Field(default="4Gi", pattern=_MEMORY)  # rag:workers.k8sMemory
    # The node Auto Mode adds for a worker pod: 4 GiB requested does not fit beside the API
    # pods on the default c6a.large, so each running worker brings a node of its own.
    node_instance_type: str = "m6a.large"
    minutes_per_document: Decimal = Field(default=Decimal(2), ge=0)  # a job's run time
    # After the queue empties a worker stays until scale-in: ECS target tracking scales in
    # after 15 minutes below target; KEDA after its cooldown (the chart's 300 s) and poll.
    idle_minutes_per_burst: Decimal = Field(default=Decimal(15), ge=0)
    bursts_per_month: int = Field(default=20, ge=0)  # times the queue fills from empty


class Auth(_Section):
    cognito: bool = True  # rag:auth.cognito: the stacks' files turn the user pool on
    monthly_active_users: int = Field(default=20, ge=0)  # users who sign in in a month


class Scenario(_Section):
    region: str = "us-east-1"
    corpus: Corpus = Corpus()
    indexing: Indexing = Indexing()
    usage: Usage = Usage()
    network: Network = Network()
    ecs: Ecs = Ecs()
    eks: Eks = Eks()
    operations: Operations = Operations()
    workers: Workers = Workers()
    auth: Auth = Auth()


def _override_value(raw: str) -> Any:
    """``4400``, ``0.5``, ``true`` and quoted strings as TOML reads them; anything else as
    the string it is (``c6a.large``, ``us.amazon.nova-lite-v1:0``)."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def load_scenario(path: Path | None = None, overrides: Iterable[str] = ()) -> Scenario:
    """The scenario from the TOML file at ``path`` (or the defaults), with ``key=value``
    overrides (``corpus.documents=2000``, ``region=eu-west-1``) applied on top.
    InvalidInputError names every bad key."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as f:
                raw = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise InvalidInputError(f"cannot read {path}: {e}") from None
    for override in overrides:
        key, sep, value = override.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts) or len(parts) > 2:
            raise InvalidInputError(f"{override!r} is not KEY=VALUE or SECTION.KEY=VALUE")
        target = raw
        if len(parts) == 2:
            section = target.setdefault(parts[0], {})
            if not isinstance(section, dict):
                raise InvalidInputError(f"{parts[0]!r} is not a section")
            target = section
        target[parts[-1]] = _override_value(value.strip())
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'inputs'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in e.errors()
        ]
        raise InvalidInputError("invalid cost inputs:\n  " + "\n  ".join(problems)) from None

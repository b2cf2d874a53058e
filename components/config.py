"""The stack's configuration, validated once: `pulumi up` with a missing or wrong key stops
with a message naming the key (as written in Pulumi.<stack>.yaml) and what is allowed."""

from __future__ import annotations

import json
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
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


class StackConfig(_Section):
    platform: Literal["ecs", "eks"]
    network: NetworkConfig = NetworkConfig()
    models: ModelsConfig = ModelsConfig()
    documents: DocumentsConfig = DocumentsConfig()
    ecs: EcsConfig | None = None

    @model_validator(mode="after")
    def _platform_section(self) -> StackConfig:
        if self.platform == "ecs" and self.ecs is None:
            raise ValueError("rag:platform is ecs: the rag:ecs section is required")
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

"""The program: the one place where the platform choice (rag:platform) is matched."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.app_environment import AppTargets, app_environment
from components.config import StackConfig
from components.ecs_service import EcsService, EcsServiceArgs
from components.network import Network, NetworkArgs
from components.registry import ContainerImage, ContainerImageArgs
from components.storage import DocumentBucket, DocumentBucketArgs, S3VectorIndex, S3VectorIndexArgs


def _model_arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def deploy(config: StackConfig) -> None:
    match config.platform:
        case "ecs":
            deploy_ecs(config)
        case "eks":
            raise NotImplementedError(
                "rag:platform eks (Option 2: EKS + Aurora pgvector + the Helm chart) is not "
                "built yet; use rag:platform ecs"
            )


def deploy_ecs(config: StackConfig) -> None:
    assert config.ecs is not None  # validated: platform ecs has its section
    region = aws.get_region().region
    zones = list(aws.get_availability_zones(state="available").names)
    zones = zones[: config.network.availability_zones]
    network = Network(
        "rag",
        NetworkArgs(
            region=region,
            cidr_block=config.network.cidr_block,
            availability_zones=zones,
            nat_gateway=config.network.nat_gateway,
        ),
    )
    documents = DocumentBucket(
        "documents",
        DocumentBucketArgs(
            kms_key_arn=config.documents.kms_key_arn,
            noncurrent_version_days=config.documents.noncurrent_version_days,
            force_destroy=config.documents.force_destroy,
        ),
    )
    vectors = S3VectorIndex(
        "vectors",
        S3VectorIndexArgs(
            embedding_model_id=config.models.embedding_model_id,
            dimension=config.models.embedding_dimensions,
            kms_key_arn=config.documents.kms_key_arn,
        ),
    )
    image = ContainerImage(
        "app",
        ContainerImageArgs(
            image_tag=config.ecs.image_tag,
            image_uri=config.ecs.image_uri,
        ),
    )
    environment = app_environment(
        AppTargets(
            region=region,
            documents_bucket=documents.bucket.bucket,
            vector_bucket=vectors.bucket.vector_bucket_name,
        ),
        config.models,
    )
    service = EcsService(
        "app",
        EcsServiceArgs(
            config=config.ecs,
            network=network,
            image_uri=image.image_uri,
            environment=environment,
            documents_bucket_arn=documents.bucket.arn,
            vector_bucket_arn=vectors.bucket.vector_bucket_arn,
            vector_index_arn=vectors.index.index_arn,
            model_arns=[
                _model_arn(region, config.models.embedding_model_id),
                _model_arn(region, config.models.answer_model_id),
            ],
        ),
    )
    pulumi.export("service_url", service.url)
    pulumi.export("documents_bucket", documents.bucket.bucket)
    pulumi.export("vector_index_arn", vectors.index.index_arn)
    pulumi.export("image_uri", image.image_uri)
    pulumi.export("log_group", service.log_group.name)

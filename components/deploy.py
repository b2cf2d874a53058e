"""The program: the one place where the platform choice (rag:platform) is matched."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.api_keys import ApiKeysSecret, ApiKeysSecretArgs
from components.app_environment import AppTargets, DatabaseTarget, app_environment
from components.app_policy import AppGrants
from components.aurora import AuroraPgvector, AuroraPgvectorArgs
from components.catalog_table import CatalogReach, CatalogTable, CatalogTableArgs
from components.config import StackConfig
from components.ecs_service import EcsService, EcsServiceArgs
from components.eks_cluster import EksCluster, EksClusterArgs
from components.eks_service import EksService, EksServiceArgs
from components.network import COMMON_ENDPOINTS, Network, NetworkArgs
from components.registry import ContainerImage, ContainerImageArgs
from components.storage import DocumentBucket, DocumentBucketArgs, S3VectorIndex, S3VectorIndexArgs


def _model_arns(region: str, config: StackConfig) -> list[str]:
    return [
        f"arn:aws:bedrock:{region}::foundation-model/{model_id}"
        for model_id in (config.models.embedding_model_id, config.models.answer_model_id)
    ]


def deploy(config: StackConfig) -> None:
    match config.platform:
        case "ecs":
            deploy_ecs(config)
        case "eks":
            deploy_eks(config)


# Interface endpoints: the AWS APIs each option's workloads call, so no NAT is needed.
ECS_ENDPOINTS = (*COMMON_ENDPOINTS, "s3vectors", "ssm")
# Auto Mode nodes in private subnets without NAT also call EC2, EKS, EKS Auth (Pod
# Identity) and Elastic Load Balancing.
EKS_ENDPOINTS = (*COMMON_ENDPOINTS, "eks", "eks-auth", "ec2", "elasticloadbalancing")


def _network(
    config: StackConfig, region: str, endpoints: tuple[str, ...], *, load_balanced_app: bool
) -> Network:
    zones = list(aws.get_availability_zones(state="available").names)
    return Network(
        "rag",
        NetworkArgs(
            region=region,
            cidr_block=config.network.cidr_block,
            availability_zones=zones[: config.network.availability_zones],
            nat_gateway=config.network.nat_gateway,
            interface_endpoints=endpoints,
            load_balanced_app=load_balanced_app,
        ),
    )


def _documents(config: StackConfig) -> DocumentBucket:
    return DocumentBucket(
        "documents",
        DocumentBucketArgs(
            kms_key_arn=config.documents.kms_key_arn,
            noncurrent_version_days=config.documents.noncurrent_version_days,
            force_destroy=config.documents.force_destroy,
        ),
    )


def deploy_ecs(config: StackConfig) -> None:
    assert config.ecs is not None  # validated: platform ecs has its section
    region = aws.get_region().region
    network = _network(config, region, ECS_ENDPOINTS, load_balanced_app=True)
    documents = _documents(config)
    api_keys = ApiKeysSecret(
        "api-keys", ApiKeysSecretArgs(kms_key_arn=config.documents.kms_key_arn)
    )
    vectors = S3VectorIndex(
        "vectors",
        S3VectorIndexArgs(
            embedding_model_id=config.models.embedding_model_id,
            dimension=config.models.embedding_dimensions,
            kms_key_arn=config.documents.kms_key_arn,
        ),
    )
    catalog = CatalogTable(
        "catalog",
        CatalogTableArgs(
            kms_key_arn=config.documents.kms_key_arn,
            reach=CatalogReach(
                region=region,
                vpc_id=network.vpc.id,
                route_table_id=network.private_route_table.id,
                app_security_group_id=network.app_security_group.id,
            ),
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
            api_keys_secret=api_keys.arn,
            vector_bucket=vectors.bucket.vector_bucket_name,
            catalog_table=catalog.table.name,
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
            migration_source_cidr=config.migration.source_cidr,
            grants=AppGrants(
                region=region,
                documents_bucket_arn=documents.bucket.arn,
                model_arns=_model_arns(region, config),
                api_keys_secret_arn=api_keys.arn,
                vector_bucket_arn=vectors.bucket.vector_bucket_arn,
                vector_index_arn=vectors.index.index_arn,
            ),
        ),
    )
    aws.iam.RolePolicy(
        "app-catalog",
        role=service.task_role.id,
        policy=catalog.access_policy(),
        opts=pulumi.ResourceOptions(parent=service),
    )
    pulumi.export("service_url", service.url)
    pulumi.export("catalog_table", catalog.table.name)
    pulumi.export("documents_bucket", documents.bucket.bucket)
    pulumi.export("api_keys_secret", api_keys.arn)
    pulumi.export("vector_index_arn", vectors.index.index_arn)
    pulumi.export("image_uri", image.image_uri)
    pulumi.export("log_group", service.log_group.name)
    # For `aws ecs run-task` of the one-off task (README, Migrating).
    pulumi.export("cluster", service.cluster.name)
    pulumi.export("one_off_task", service.one_off_task.family)
    pulumi.export("task_subnets", [s.id for s in network.private_subnets])
    pulumi.export("task_security_group", network.app_security_group.id)
    pulumi.export("migration_source_secret", service.migration_source.arn)


def deploy_eks(config: StackConfig) -> None:
    assert config.eks is not None  # validated: platform eks has its sections
    assert config.aurora is not None
    region = aws.get_region().region
    network = _network(config, region, EKS_ENDPOINTS, load_balanced_app=False)
    documents = _documents(config)
    api_keys = ApiKeysSecret(
        "api-keys", ApiKeysSecretArgs(kms_key_arn=config.documents.kms_key_arn)
    )
    image = ContainerImage(
        "app",
        ContainerImageArgs(image_tag=config.eks.image_tag, image_uri=config.eks.image_uri),
    )
    cluster = EksCluster("eks", EksClusterArgs(config=config.eks, network=network))
    database = AuroraPgvector(
        "db",
        AuroraPgvectorArgs(
            config=config.aurora,
            network=network,
            client_security_group_id=cluster.pod_security_group_id,
            log_retention_days=config.eks.log_retention_days,
        ),
    )
    environment = app_environment(
        AppTargets(
            region=region,
            documents_bucket=documents.bucket.bucket,
            api_keys_secret=api_keys.arn,
            database=DatabaseTarget(host=database.endpoint, secret_arn=database.secret_arn),
        ),
        config.models,
    )
    service = EksService(
        "app",
        EksServiceArgs(
            config=config.eks,
            cluster=cluster,
            image_uri=image.image_uri,
            environment=environment,
            vpc_cidr=config.network.cidr_block,
            migration_source_cidr=config.migration.source_cidr,
            grants=AppGrants(
                region=region,
                documents_bucket_arn=documents.bucket.arn,
                model_arns=_model_arns(region, config),
                api_keys_secret_arn=api_keys.arn,
                database_secret_arn=database.secret_arn,
            ),
        ),
    )
    pulumi.export("cluster_name", cluster.cluster_name)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("service_url_command", service.url_command)
    pulumi.export("documents_bucket", documents.bucket.bucket)
    pulumi.export("api_keys_secret", api_keys.arn)
    pulumi.export("database_endpoint", database.endpoint)
    pulumi.export("database_secret_arn", database.secret_arn)
    pulumi.export("image_uri", image.image_uri)

"""The program: the one place where the platform choice (rag:platform) is matched."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.api_keys import ApiKeysSecret, ApiKeysSecretArgs
from components.app_environment import AppTargets, DatabaseTarget, app_environment
from components.app_policy import AppGrants
from components.audit_store import AuditBucket, AuditBucketArgs
from components.aurora import AuroraPgvector, AuroraPgvectorArgs
from components.bedrock_models import UnsupportedModelId, model_resource_arns
from components.catalog_table import CatalogReach, CatalogTable, CatalogTableArgs
from components.cognito import CognitoSignIn, CognitoSignInArgs
from components.config import ConfigError, StackConfig
from components.ecs_service import EcsService, EcsServiceArgs
from components.eks_cluster import EksCluster, EksClusterArgs
from components.eks_service import RELEASE, EksService, EksServiceArgs
from components.eks_workers import EksWorkers, EksWorkersArgs
from components.https import Https, HttpsArgs
from components.image_build import ImageBuild, ImageBuildArgs
from components.ingest_queue import IngestQueue, IngestQueueArgs, queue_alarms
from components.kms import DataKey
from components.network import COMMON_ENDPOINTS, Network, NetworkArgs
from components.operations import Alarm, Operations, OperationsArgs, flow_logs
from components.session_secret import SessionSecret, SessionSecretArgs
from components.storage import DocumentBucket, DocumentBucketArgs, S3VectorIndex, S3VectorIndexArgs
from components.waf import EdgeProtection, EdgeProtectionArgs
from components.worker_service import WorkerService, WorkerServiceArgs, api_queue_policy_document


def _model_arns(region: str, account: str, config: StackConfig) -> list[str]:
    arns: list[str] = []
    for key in ("embedding_model_id", "answer_model_id"):
        try:
            arns += model_resource_arns(getattr(config.models, key), region=region, account=account)
        except UnsupportedModelId as e:
            camel = "".join(w.title() if i else w for i, w in enumerate(key.split("_")))
            raise ConfigError(f"invalid stack configuration:\n  rag:models.{camel}: {e}") from e
    return sorted(set(arns))


def load_balancer_alarms(lb: dict[str, pulumi.Input[str]]) -> list[Alarm]:
    """The ALB's 5xx and latency alarms, the same on both options (Option 2's ALB is the one
    Auto Mode makes for the Ingress, found by its fixed name)."""
    return [
        Alarm("alb-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, 10,
              description="the app answered 5xx more than 10 times in 5 minutes"),
        Alarm("alb-elb-5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb, 10,
              description="the load balancer answered 5xx (no healthy target?)"),
        Alarm("alb-p95-latency", "AWS/ApplicationELB", "TargetResponseTime", lb, 20,
              extended_statistic="p95", description="p95 response time over 20 s"),
    ]  # fmt: skip


def deploy(config: StackConfig) -> None:
    match config.platform:
        case "ecs":
            deploy_ecs(config)
        case "eks":
            deploy_eks(config)


# Interface endpoints: the AWS APIs each option's workloads call, so no NAT is needed.
ECS_ENDPOINTS = (*COMMON_ENDPOINTS, "s3vectors", "ssm")
# Auto Mode nodes in private subnets without NAT also call EC2, EKS, EKS Auth (Pod
# Identity) and Elastic Load Balancing; the app's pods log in to Aurora (rds-db:connect
# is signed locally: no endpoint).
EKS_ENDPOINTS = (*COMMON_ENDPOINTS, "eks", "eks-auth", "ec2", "elasticloadbalancing")


@dataclass(frozen=True)
class Shared:
    """What both options build the same way."""

    region: str
    account: str
    protect: bool
    kms_key_arn: pulumi.Input[str] | None
    network: Network
    documents: DocumentBucket
    api_keys: ApiKeysSecret
    https: Https | None
    edge: EdgeProtection
    model_arns: list[str]
    session_secret: SessionSecret
    # The alarm topic, dashboard, access-log bucket and backups (components/operations.py).
    operations: Operations
    sign_in: CognitoSignIn | None = None  # rag:auth.cognito

    def sso_environment(self) -> dict[str, pulumi.Input[str]]:
        """The app's RAG_OIDC_* settings for the stack's user pool; none without one."""
        if self.sign_in is None:
            return {}
        return self.sign_in.app_environment(self.sign_in.callback_url)


def _shared(config: StackConfig, endpoints: tuple[str, ...], *, load_balanced: bool) -> Shared:
    region = aws.get_region().region
    account = aws.get_caller_identity().account_id
    model_arns = _model_arns(region, account, config)
    protect = not config.dev
    key: pulumi.Input[str] | None = config.documents.kms_key_arn
    if config.documents.create_kms_key:
        key = DataKey("data", region, account, protect=protect).arn
    zones = list(aws.get_availability_zones(state="available").names)
    network = Network(
        "rag",
        NetworkArgs(
            region=region,
            cidr_block=config.network.cidr_block,
            availability_zones=zones[: config.network.availability_zones],
            nat_gateway=config.network.uses_nat,
            interface_endpoints=endpoints if config.network.endpoints == "full" else (),
            load_balanced_app=load_balanced,
        ),
    )
    if config.network.flow_logs:
        flow_logs("rag", network.vpc.id, 30, network)
    documents = DocumentBucket(
        "documents",
        DocumentBucketArgs(
            kms_key_arn=key,
            noncurrent_version_days=config.documents.noncurrent_version_days,
            force_destroy=config.documents.force_destroy,
            protect=protect,
        ),
    )
    api_keys = ApiKeysSecret("api-keys", ApiKeysSecretArgs(kms_key_arn=key))
    https = Https("service", HttpsArgs(config.https)) if config.https.configured else None
    edge = EdgeProtection("edge", EdgeProtectionArgs(config.waf))
    session_secret = SessionSecret("session", SessionSecretArgs(kms_key_arn=key))
    operations = Operations(
        "ops",
        OperationsArgs(
            config=config.operations,
            region=region,
            account=account,
            protect=protect,
            kms_key_arn=key,
        ),
    )
    sign_in = None
    if config.auth.cognito is not None:
        public_url = config.public_url
        assert public_url is not None  # validated: rag:auth.cognito has its URL
        sign_in = CognitoSignIn(
            "sso",
            CognitoSignInArgs(
                region=region,
                domain_prefix=config.auth.cognito.domain_prefix,
                callback_url=f"{public_url}/auth/oidc/callback",
                sign_out_url=f"{public_url}/app/sign-in",
                groups=config.auth.cognito.groups,
            ),
        )
    return Shared(
        region,
        account,
        protect,
        key,
        network,
        documents,
        api_keys,
        https,
        edge,
        model_arns,
        session_secret,
        operations,
        sign_in,
    )


def _export_common(shared: Shared, image: ImageBuild) -> None:
    pulumi.export("documents_bucket", shared.documents.bucket.bucket)
    pulumi.export("api_keys_secret", shared.api_keys.arn)
    pulumi.export("image_uri", image.image_uri)
    pulumi.export("alarm_topic", shared.operations.topic.arn)
    pulumi.export("dashboard", shared.operations.dashboard.dashboard_name)
    pulumi.export("web_acl", shared.edge.arn)
    if shared.https is not None and shared.https.domain_name:
        pulumi.export("service_url", f"https://{shared.https.domain_name}")


def _ingest_queue(config: StackConfig, documents: DocumentBucket) -> IngestQueue:
    return IngestQueue(
        "ingest",
        IngestQueueArgs(
            documents_bucket_id=documents.bucket.id,
            documents_bucket_arn=documents.bucket.arn,
            max_receive_count=config.workers.max_receive_count,
            visibility_timeout_seconds=config.workers.visibility_timeout_seconds,
        ),
    )


# The API runs no ingestion: separate workers take every job from the queue.
API_RUNS_NO_JOBS = {"RAG_INGEST_WORKERS": "0"}


def deploy_ecs(config: StackConfig) -> None:
    assert config.ecs is not None  # validated: platform ecs has its section
    shared = _shared(config, ECS_ENDPOINTS, load_balanced=True)
    vectors = S3VectorIndex(
        "vectors",
        S3VectorIndexArgs(
            embedding_model_id=config.models.embedding_model_id,
            dimension=config.models.embedding_dimensions,
            kms_key_arn=shared.kms_key_arn,
            protect=shared.protect,
            previous_indexes=tuple(
                (p.model_id, p.dimensions) for p in config.models.previous_embeddings
            ),
        ),
    )
    catalog = CatalogTable(
        "catalog",
        CatalogTableArgs(
            kms_key_arn=shared.kms_key_arn,
            protect=shared.protect,
            reach=CatalogReach(
                region=shared.region,
                vpc_id=shared.network.vpc.id,
                route_table_id=shared.network.private_route_table.id,
                app_security_group_id=shared.network.app_security_group.id,
            ),
        ),
    )
    audit = AuditBucket(
        "audit",
        AuditBucketArgs(retention_days=config.audit.retention_days, kms_key_arn=shared.kms_key_arn),
    )
    image = ImageBuild(
        "app",
        ImageBuildArgs(
            architecture=config.ecs.cpu_architecture,
            log_retention_days=config.ecs.log_retention_days,
            kms_key_arn=shared.kms_key_arn,
            image_uri=config.ecs.image_uri,
        ),
    )
    queue = _ingest_queue(config, shared.documents)
    environment = (
        app_environment(
            AppTargets(
                region=shared.region,
                documents_bucket=shared.documents.bucket.bucket,
                api_keys_secret=shared.api_keys.arn,
                vector_bucket=vectors.bucket.vector_bucket_name,
                catalog_table=catalog.table.name,
                audit_bucket=audit.bucket.bucket,
                queue=queue.target(),
            ),
            config.models,
        )
        | shared.sso_environment()
    )
    if shared.protect:
        shared.operations.add_backup([shared.documents.bucket.arn, catalog.table.arn])
    grants = AppGrants(
        region=shared.region,
        documents_bucket_arn=shared.documents.bucket.arn,
        model_arns=shared.model_arns,
        api_keys_secret_arn=shared.api_keys.arn,
        vector_bucket_arn=vectors.bucket.vector_bucket_arn,
        vector_index_arn=vectors.index.index_arn,
        audit_bucket_arn=audit.bucket.arn,
        kms_key_arn=shared.kms_key_arn,
        catalog_table_arn=catalog.table.arn,
    )
    service = EcsService(
        "app",
        EcsServiceArgs(
            config=config.ecs,
            network=shared.network,
            image_uri=image.image_uri,
            environment={**environment, **API_RUNS_NO_JOBS},
            migration_source_cidr=config.migration.source_cidr,
            certificate_arn=shared.https.certificate_arn if shared.https else None,
            access_log_bucket=shared.operations.access_logs.bucket.bucket,
            deletion_protection=shared.protect,
            session_secret_arn=shared.session_secret.arn,
            grants=grants,
        ),
    )
    aws.iam.RolePolicy(
        "app-task-queue",
        role=service.task_role.id,
        policy=queue.queue.arn.apply(api_queue_policy_document),
        opts=pulumi.ResourceOptions(parent=service),
    )
    workers = WorkerService(
        "worker",
        WorkerServiceArgs(
            cluster=service.cluster,
            network=shared.network,
            image_uri=image.image_uri,  # the app's image: `rag-app worker`
            environment=environment,
            grants=grants,
            queue=queue,
            log_group_name=service.log_group.name,
            cpu=config.workers.ecs_cpu,
            memory=config.workers.ecs_memory,
            cpu_architecture=config.ecs.cpu_architecture,
            max_tasks=config.workers.max_workers,
            backlog_per_task=config.workers.backlog_per_worker,
            concurrency=config.workers.concurrency,
        ),
    )
    shared.edge.protect("edge-alb", service.load_balancer.arn)
    if shared.https is not None:
        shared.https.alias("service", service.load_balancer.dns_name, service.load_balancer.zone_id)
    lb = {"LoadBalancer": service.load_balancer.arn_suffix}
    ecs = {"ClusterName": service.cluster.name, "ServiceName": service.service.name}
    shared.operations.add_alarms(
        [
            *load_balancer_alarms(lb),
            Alarm("alb-unhealthy-targets", "AWS/ApplicationELB", "UnHealthyHostCount",
                  {**lb, "TargetGroup": service.target_group.arn_suffix}, 0,
                  statistic="Maximum", description="a task fails /health/ready"),
            Alarm("ecs-cpu", "AWS/ECS", "CPUUtilization", ecs, 85, statistic="Average",
                  evaluation_periods=3, description="tasks above 85% CPU for 15 minutes"),
            Alarm("ecs-memory", "AWS/ECS", "MemoryUtilization", ecs, 85, statistic="Average",
                  evaluation_periods=3, description="tasks above 85% memory for 15 minutes"),
            *queue_alarms(queue),
        ]
    )  # fmt: skip
    _export_common(shared, image)
    pulumi.export("load_balancer_url", service.url)
    pulumi.export("catalog_table", catalog.table.name)
    pulumi.export("vector_index_arn", vectors.index.index_arn)
    pulumi.export("audit_bucket", audit.bucket.bucket)
    pulumi.export("image_uri", image.image_uri)
    pulumi.export("log_group", service.log_group.name)
    pulumi.export("ingest_queue_url", queue.queue.url)
    pulumi.export("ingest_dead_letter_queue_url", queue.dead_letters.url)
    pulumi.export("worker_service", workers.service.name)
    # For `aws ecs run-task` of the one-off task (docs/deploy.md, Migrating).
    pulumi.export("cluster", service.cluster.name)
    pulumi.export("one_off_task", service.one_off_task.family)
    pulumi.export("task_subnets", [s.id for s in shared.network.private_subnets])
    pulumi.export("task_security_group", shared.network.app_security_group.id)
    pulumi.export("migration_source_secret", service.migration_source.arn)


def deploy_eks(config: StackConfig) -> None:
    assert config.eks is not None  # validated: platform eks has its sections
    assert config.aurora is not None
    shared = _shared(config, EKS_ENDPOINTS, load_balanced=False)
    image = ImageBuild(
        "app",
        ImageBuildArgs(
            architecture="ARM64" if config.eks.cpu_architecture == "arm64" else "X86_64",
            log_retention_days=config.eks.log_retention_days,
            kms_key_arn=shared.kms_key_arn,
            image_uri=config.eks.image_uri,
        ),
    )
    cluster = EksCluster(
        "eks",
        EksClusterArgs(
            config=config.eks,
            network=shared.network,
            certificate_arn=shared.https.certificate_arn if shared.https else None,
            access_log_bucket=shared.operations.access_logs.bucket.bucket,
        ),
    )
    database = AuroraPgvector(
        "db",
        AuroraPgvectorArgs(
            config=config.aurora,
            network=shared.network,
            client_security_group_id=cluster.pod_security_group_id,
            log_retention_days=config.eks.log_retention_days,
            protect=shared.protect,
            kms_key_arn=shared.kms_key_arn,
        ),
    )
    if shared.protect:
        shared.operations.add_backup([database.cluster.arn, shared.documents.bucket.arn])
    queue = _ingest_queue(config, shared.documents)
    targets = AppTargets(
        region=shared.region,
        documents_bucket=shared.documents.bucket.bucket,
        api_keys_secret=shared.api_keys.arn,
        database=DatabaseTarget(
            host=database.endpoint,
            secret_arn=database.secret_arn,
            iam_user=config.aurora.app_user,
        ),
        queue=queue.target(),
    )
    grants = AppGrants(
        region=shared.region,
        documents_bucket_arn=shared.documents.bucket.arn,
        model_arns=shared.model_arns,
        api_keys_secret_arn=shared.api_keys.arn,
        database_user_arn=database.user_arn(shared.region, shared.account, config.aurora.app_user),
        kms_key_arn=shared.kms_key_arn,
        session_secret_arn=shared.session_secret.arn,
    )
    master = AppTargets(
        region=targets.region,
        documents_bucket=targets.documents_bucket,
        api_keys_secret=targets.api_keys_secret,
        database=DatabaseTarget(host=database.endpoint, secret_arn=database.secret_arn),
    )
    s3_ranges = aws.ec2.get_managed_prefix_list_output(
        name=f"com.amazonaws.{shared.region}.s3"
    ).entries.apply(lambda entries: [e.cidr for e in entries])
    https_cidrs: pulumi.Input[list[str]] = (
        ["0.0.0.0/0"]
        if config.network.uses_nat
        else s3_ranges.apply(lambda cidrs: [config.network.cidr_block, *cidrs])
    )
    workers = EksWorkers(
        "worker",
        EksWorkersArgs(
            config=config.eks,
            workers=config.workers,
            cluster=cluster,
            grants=grants,
            queue=queue,
            region=shared.region,
        ),
    )
    service = EksService(
        "app",
        EksServiceArgs(
            config=config.eks,
            cluster=cluster,
            image_uri=image.image_uri,
            # The ConfigMap is shared by the API and the workers; the worker Deployment
            # sets its own concurrency and shutdown deadline.
            environment={
                **app_environment(targets, config.models),
                **API_RUNS_NO_JOBS,
                **shared.sso_environment(),
                # The pods read the web sign-in key as they read the database login.
                "RAG_SESSION_SECRET_ID": shared.session_secret.arn,
            },
            init_environment={
                **app_environment(master, config.models),
                # init-db creates (or renews) this least-privilege user, granted rds_iam.
                "RAG_DATABASE_USER": config.aurora.app_user,
            },
            vpc_cidr=config.network.cidr_block,
            https_cidrs=https_cidrs,
            https=shared.https is not None,
            web_acl_arn=shared.edge.arn,
            host=(shared.https.domain_name or "") if shared.https else "",
            migration_source_cidr=config.migration.source_cidr,
            grants=grants,
            init_grants=AppGrants(
                region=shared.region,
                documents_bucket_arn=shared.documents.bucket.arn,
                model_arns=shared.model_arns,
                api_keys_secret_arn=shared.api_keys.arn,
                database_secret_arn=database.secret_arn,
                kms_key_arn=shared.kms_key_arn,
            ),
            extra_values=workers.values.apply(lambda worker: {"worker": worker}),
            depends_on=(workers.keda,),
        ),
    )
    aws.iam.RolePolicy(
        "app-queue",
        role=service.role.id,
        policy=queue.queue.arn.apply(api_queue_policy_document),
        opts=pulumi.ResourceOptions(parent=service),
    )
    if shared.https is not None:
        shared.https.cname("service", service.load_balancer_hostname)
    db = {"DBClusterIdentifier": database.identifier}
    lb = {"LoadBalancer": service.load_balancer_arn_suffix}
    pods = {
        "ClusterName": cluster.cluster_name,
        "Namespace": config.eks.namespace,
        "PodName": RELEASE,
    }
    shared.operations.add_alarms(
        [
            *load_balancer_alarms(lb),
            Alarm("aurora-acu", "AWS/RDS", "ServerlessDatabaseCapacity", db,
                  config.aurora.max_capacity * 0.9, statistic="Average",
                  description="Aurora near its maximum ACUs"),
            Alarm("aurora-cpu", "AWS/RDS", "CPUUtilization", db, 85, statistic="Average",
                  evaluation_periods=3, description="Aurora above 85% CPU for 15 minutes"),
            Alarm("aurora-connections", "AWS/RDS", "DatabaseConnections", db, 200,
                  statistic="Maximum", description="more database connections than expected"),
            Alarm("pod-cpu", "ContainerInsights", "pod_cpu_utilization", pods, 85,
                  statistic="Average", evaluation_periods=3,
                  description="the app's pods above 85% CPU for 15 minutes"),
            Alarm("pod-memory", "ContainerInsights", "pod_memory_utilization", pods, 85,
                  statistic="Average", evaluation_periods=3,
                  description="the app's pods above 85% memory for 15 minutes"),
            *queue_alarms(queue),
        ]
    )  # fmt: skip
    _export_common(shared, image)
    pulumi.export("cluster_name", cluster.cluster_name)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("load_balancer_hostname", service.load_balancer_hostname)
    pulumi.export("service_url_command", service.url_command)
    pulumi.export("database_endpoint", database.endpoint)
    pulumi.export("database_secret_arn", database.secret_arn)
    pulumi.export("init_job", service.init_job.metadata.name)
    pulumi.export("ingest_queue_url", queue.queue.url)
    pulumi.export("ingest_dead_letter_queue_url", queue.dead_letters.url)

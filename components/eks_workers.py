"""Option 2's ingestion workers: the chart's worker Deployment (values ``worker.*``), scaled
by KEDA on the SQS job queue, with KEDA installed by this program.

Why SQS on Option 2 too (not the PostgreSQL queue): the inbox's S3 event notifications need
SQS anyway, KEDA's ``aws-sqs-queue`` scaler reads the queue's own counters (no database
credentials for the autoscaler, no polling load on Aurora, which may be paused), and both
options then run one queue engine in AWS. The PostgreSQL engine stays the local one.

IAM (EKS Pod Identity): the workers' service account gets the app's grants plus the
queue's worker actions; KEDA's operator gets ``sqs:GetQueueAttributes`` on the queue only.
The API's role (EksService) adds ``sqs:SendMessage`` in deploy.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.app_policy import AppGrants, allow, assume_role_policy
from components.config import EksConfig, WorkersConfig
from components.eks_cluster import EksCluster
from components.ingest_queue import IngestQueue
from components.worker_service import SHUTDOWN_SECONDS, worker_policy

KEDA_CHART = "keda"
KEDA_REPOSITORY = "https://kedacore.github.io/charts"
KEDA_VERSION = "2.17.2"  # podIdentity provider "aws" (EKS Pod Identity) needs 2.13+
KEDA_NAMESPACE = "keda"
KEDA_OPERATOR_ACCOUNT = "keda-operator"  # the chart's default service account name


@dataclass(frozen=True)
class EksWorkersArgs:
    config: EksConfig
    workers: WorkersConfig
    cluster: EksCluster
    grants: AppGrants
    queue: IngestQueue
    region: str


def worker_values(
    config: EksConfig, workers: WorkersConfig, queue_url: str, region: str
) -> dict[str, Any]:
    """The chart's ``worker`` values (pure)."""
    return {
        "enabled": True,
        "serviceAccountName": f"{config.service_account}-worker",
        "queueUrl": queue_url,
        "awsRegion": region,
        "queueLength": workers.backlog_per_worker,
        "maxReplicas": workers.max_workers,
        "concurrency": workers.concurrency,
        "shutdownSeconds": SHUTDOWN_SECONDS,
        "tmpSizeLimit": "4Gi",
        "resources": {
            "requests": {"cpu": workers.k8s_cpu, "memory": workers.k8s_memory},
            "limits": {"cpu": workers.k8s_cpu, "memory": workers.k8s_memory},
        },
        "keda": {"enabled": True},
    }


class EksWorkers(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EksWorkersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:EksWorkers", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg, queue = args.config, args.queue
        pod_trust = assume_role_policy("pods.eks.amazonaws.com", tag_session=True)
        self.role = aws.iam.Role(name, assume_role_policy=pod_trust, opts=child)
        aws.iam.RolePolicy(
            name,
            role=self.role.id,
            policy=worker_policy(args.grants, queue),
            opts=child,
        )
        on_cluster_deps = pulumi.ResourceOptions(parent=self, depends_on=[args.cluster.cluster])
        aws.eks.PodIdentityAssociation(
            name,
            cluster_name=args.cluster.cluster_name,
            namespace=cfg.namespace,
            service_account=f"{cfg.service_account}-worker",
            role_arn=self.role.arn,
            opts=on_cluster_deps,
        )
        keda_role = aws.iam.Role(f"{name}-keda", assume_role_policy=pod_trust, opts=child)
        aws.iam.RolePolicy(
            f"{name}-keda",
            role=keda_role.id,
            policy=queue.queue.arn.apply(
                lambda arn: allow("QueueDepth", ["sqs:GetQueueAttributes"], [arn])
            ),
            opts=child,
        )
        keda_identity = aws.eks.PodIdentityAssociation(
            f"{name}-keda",
            cluster_name=args.cluster.cluster_name,
            namespace=KEDA_NAMESPACE,
            service_account=KEDA_OPERATOR_ACCOUNT,
            role_arn=keda_role.arn,
            opts=on_cluster_deps,
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)
        keda_namespace = k8s.core.v1.Namespace(
            f"{name}-keda",
            metadata={
                "name": KEDA_NAMESPACE,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
            opts=on_cluster,
        )
        self.keda = k8s.helm.v4.Chart(
            f"{name}-keda",
            chart=KEDA_CHART,
            version=KEDA_VERSION,
            repository_opts={"repo": KEDA_REPOSITORY},
            namespace=KEDA_NAMESPACE,
            values={
                "podIdentity": {"aws": {"irsa": {"enabled": False}}},
                "serviceAccount": {"operator": {"name": KEDA_OPERATOR_ACCOUNT}},
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.cluster.provider,
                depends_on=[keda_namespace, keda_identity],
            ),
        )
        self.values = queue.queue.url.apply(
            lambda url: worker_values(cfg, args.workers, url, args.region)
        )
        self.register_outputs({"role_arn": self.role.arn, "keda_role_arn": keda_role.arn})

"""Option 2's app: the Helm chart in charts/rag-app, deployed by Pulumi into its own
namespace (Pod Security "restricted" enforced) with values built from the same
app_environment() as Option 1's task definition.

`kubernetes.helm.v4.Chart`, not `helm.v3.Release`: every object the chart renders becomes a
Pulumi resource of its own, so `pulumi preview` shows per-object diffs and no helm binary or
Tiller-style release state is involved. What it gives up is Helm hooks and `helm rollback`;
the chart needs neither (the schema migration runs in the app at start-up, and a rollback is
`pulumi up` of the previous image tag)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.app_policy import AppGrants, app_policy, assume_role_policy
from components.config import EksConfig
from components.eks_cluster import INGRESS_CLASS, EksCluster

CHART = "charts/rag-app"  # relative to the project directory, where `pulumi up` runs
RELEASE = "rag-app"  # contains the chart name, so objects are named "rag-app"


def split_image(uri: str) -> dict[str, str]:
    """``repo:tag`` or ``repo@sha256:...`` as the chart's image values."""
    if "@" in uri:
        repository, digest = uri.split("@", 1)
        return {"repository": repository, "digest": digest}
    repository, _, tag = uri.rpartition(":")
    if not repository or "/" in tag:
        raise ValueError(f"image {uri!r} has no tag or digest")
    return {"repository": repository, "tag": tag}


def chart_values(
    config: EksConfig,
    image_uri: str,
    environment: dict[str, str],
    vpc_cidr: str,
    migration_source_cidr: str | None = None,
) -> dict[str, Any]:
    """The chart's values for a stack (pure; the chart's values.schema.json checks them)."""
    return {
        "image": split_image(image_uri),
        "env": dict(environment),
        "serviceAccount": {"create": True, "name": config.service_account},
        "replicaCount": config.replicas,
        "autoscaling": {
            "enabled": config.max_replicas > config.replicas,
            "minReplicas": config.replicas,
            "maxReplicas": config.max_replicas,
            "targetCPUUtilizationPercentage": config.cpu_target_percent,
        },
        "podDisruptionBudget": {"enabled": config.replicas > 1, "minAvailable": 1},
        "resources": {
            "requests": {"cpu": config.cpu, "memory": config.memory},
            "limits": {"cpu": config.cpu, "memory": config.memory},
        },
        "ingress": {
            "enabled": True,
            "className": INGRESS_CLASS,
            "https": config.certificate_arn is not None,
        },
        "networkPolicy": {
            "enabled": True,
            "vpcCidr": vpc_cidr,
            "migrationSourceCidr": migration_source_cidr or "",
        },
        "nodeSelector": {"kubernetes.io/arch": config.cpu_architecture},
        "migration": {"enabled": False},  # helm.v4.Chart runs no hooks; the app migrates
    }


@dataclass(frozen=True)
class EksServiceArgs:
    config: EksConfig
    cluster: EksCluster
    grants: AppGrants  # what the pods may do: the same policy shape as Option 1's task role
    image_uri: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]]
    vpc_cidr: str
    migration_source_cidr: str | None = None
    # Extra chart values (the workers'), and what the chart must wait for (KEDA's CRDs).
    extra_values: pulumi.Input[dict[str, Any]] | None = None
    depends_on: tuple[pulumi.Resource, ...] = ()


class EksService(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EksServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:EksService", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)
        # EKS Pod Identity (its agent is built into Auto Mode) gives the chart's service
        # account this role; no OIDC provider or service-account annotation is involved.
        self.role = aws.iam.Role(
            name,
            assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", tag_session=True),
            opts=child,
        )
        aws.iam.RolePolicy(name, role=self.role.id, policy=app_policy(args.grants), opts=child)
        self.pod_identity = aws.eks.PodIdentityAssociation(
            name,
            cluster_name=args.cluster.cluster_name,
            namespace=cfg.namespace,
            service_account=cfg.service_account,
            role_arn=self.role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cluster.cluster]),
        )
        namespace = k8s.core.v1.Namespace(
            name,
            metadata={
                "name": cfg.namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
            opts=on_cluster,
        )
        keys = sorted(args.environment)
        values = pulumi.Output.all(
            args.extra_values or {}, args.image_uri, *[args.environment[k] for k in keys]
        ).apply(
            lambda resolved: {
                **chart_values(
                    cfg,
                    resolved[1],
                    dict(zip(keys, resolved[2:], strict=True)),
                    args.vpc_cidr,
                    args.migration_source_cidr,
                ),
                **resolved[0],
            }
        )
        self.chart = k8s.helm.v4.Chart(
            name,
            chart=CHART,
            name=RELEASE,
            namespace=cfg.namespace,
            values=values,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.cluster.provider,
                depends_on=[
                    namespace,
                    args.cluster.ingress_class,
                    self.pod_identity,
                    *args.depends_on,
                ],
            ),
        )
        self.url_command = (
            f"kubectl -n {cfg.namespace} get ingress -o "
            "jsonpath='{.items[0].status.loadBalancer.ingress[0].hostname}'"
        )
        self.register_outputs({"namespace": cfg.namespace, "role_arn": self.role.arn})

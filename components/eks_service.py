"""Option 2's app: the Helm chart in charts/rag-app, deployed by Pulumi into its own
namespace (Pod Security "restricted" enforced) with values built from the same
app_environment() as Option 1's task definition.

`kubernetes.helm.v4.Chart`, not `helm.v3.Release`: every object the chart renders becomes a
Pulumi resource of its own, so `pulumi preview` shows per-object diffs and no helm binary or
Tiller-style release state is involved. What it gives up is Helm hooks and `helm rollback`.

First deploy, in order: the image is built and pushed (its digest is in the values), then
the init step runs: a Kubernetes Job Pulumi creates and awaits (not a Helm hook, which
helm.v4.Chart does not run), `rag-app init-db` with the master login from the RDS-managed
secret, which migrates the schema and creates the app's least-privilege user. Only then
the chart: its pods log in as that user with IAM auth tokens, so their readiness (and the
Ingress's ALB address) can be awaited, within `rag:eks.awaitTimeoutSeconds`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.app_policy import AppGrants, app_policy, assume_role_policy
from components.config import EksConfig
from components.eks_cluster import INGRESS_CLASS, NODE_POOL, EksCluster

CHART = "charts/rag-app"  # relative to the project directory, where `pulumi up` runs
RELEASE = "rag-app"  # contains the chart name, so objects are named "rag-app"
POD_IDENTITY_AGENT = "169.254.170.23/32"  # EKS Pod Identity agent, ports 80 and 2703
INIT_SERVICE_ACCOUNT = "rag-app-init"


def split_image(uri: str) -> dict[str, str]:
    """``repo:tag`` or ``repo@sha256:...`` as the chart's image values."""
    if "@" in uri:
        repository, digest = uri.split("@", 1)
        return {"repository": repository, "digest": digest}
    repository, _, tag = uri.rpartition(":")
    if not repository or "/" in tag:
        raise ValueError(f"image {uri!r} has no tag or digest")
    return {"repository": repository, "tag": tag}


@dataclass(frozen=True)
class ChartInputs:
    """What the chart's values are made of, once every output is known."""

    image_uri: str
    environment: dict[str, str]
    vpc_cidr: str
    https_cidrs: list[str]
    https: bool
    web_acl_arn: str = ""
    host: str = ""
    migration_source_cidr: str | None = None
    load_balancer_name: str = ""  # fixes the ALB's name: the stack's alarms look it up


# Auto Mode's load balancer controller names the ALB after this annotation (it does not
# take group.name on an Ingress); the name, unlike the ARN, is known before the ALB exists.
LOAD_BALANCER_NAME = "alb.ingress.kubernetes.io/load-balancer-name"


def load_balancer_name(stack: str) -> str:
    """The ALB's name for ``stack``: at most 32 letters, digits and hyphens, no hyphen at
    either end (Elastic Load Balancing's rule)."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", f"rag-{stack}-app")
    return name[:32].strip("-")


def chart_values(config: EksConfig, inputs: ChartInputs) -> dict[str, Any]:
    """The chart's values for a stack (pure; the chart's values.schema.json checks them)."""
    return {
        "image": split_image(inputs.image_uri),
        "env": dict(inputs.environment),
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
            "https": inputs.https,
            "host": inputs.host,
            "webAclArn": inputs.web_acl_arn,
            "annotations": (
                {LOAD_BALANCER_NAME: inputs.load_balancer_name} if inputs.load_balancer_name else {}
            ),
        },
        "deploy": {"awaitTimeoutSeconds": config.await_timeout_seconds},
        "networkPolicy": {
            "enabled": True,
            "vpcCidr": inputs.vpc_cidr,
            "httpsCidrs": inputs.https_cidrs,
            "databasePort": 5432,
            "podIdentityAgent": POD_IDENTITY_AGENT,
            "migrationSourceCidr": inputs.migration_source_cidr or "",
        },
        "nodeSelector": {
            "kubernetes.io/arch": config.cpu_architecture,
            "karpenter.sh/nodepool": NODE_POOL,
        },
        "migration": {"enabled": False},  # helm.v4.Chart runs no hooks: see init_db_job
    }


@dataclass(frozen=True)
class EksServiceArgs:
    config: EksConfig
    cluster: EksCluster
    grants: AppGrants  # what the pods may do: the same policy shape as Option 1's task role
    init_grants: AppGrants  # the init step: the master login's secret, nothing to serve
    image_uri: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]]
    init_environment: dict[str, pulumi.Input[str]]
    vpc_cidr: str
    https_cidrs: pulumi.Input[list[str]]
    https: bool
    web_acl_arn: pulumi.Input[str] = ""
    host: str = ""
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
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)
        # EKS Pod Identity (its agent is built into Auto Mode) gives each service account a
        # role; no OIDC provider or service-account annotation is involved.
        self.role = self._pod_role(name, cfg.service_account, args.grants, args)
        init_role = self._pod_role(f"{name}-init", INIT_SERVICE_ACCOUNT, args.init_grants, args)
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
        self.init_job = self._init_job(name, args, namespace, init_role)
        keys = sorted(args.environment)
        values = pulumi.Output.all(
            args.extra_values or {},
            args.image_uri,
            args.https_cidrs,
            args.web_acl_arn,
            *[args.environment[k] for k in keys],
        ).apply(
            lambda resolved: {
                **chart_values(
                    cfg,
                    ChartInputs(
                        image_uri=resolved[1],
                        environment=dict(zip(keys, resolved[4:], strict=True)),
                        vpc_cidr=args.vpc_cidr,
                        https_cidrs=list(resolved[2]),
                        https=args.https,
                        web_acl_arn=resolved[3] or "",
                        host=args.host,
                        migration_source_cidr=args.migration_source_cidr,
                        load_balancer_name=load_balancer_name(pulumi.get_stack()),
                    ),
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
                    args.cluster.node_pool,
                    args.cluster.metrics_server,
                    self.init_job,
                    *args.depends_on,
                ],
            ),
        )
        self.url_command = (
            f"kubectl -n {cfg.namespace} get ingress {RELEASE} -o "
            "jsonpath='{.status.loadBalancer.ingress[0].hostname}'"
        )
        # The ALB Auto Mode made for the Ingress (read once the chart is up): its hostname
        # for the service's DNS record.
        ingress = k8s.networking.v1.Ingress.get(
            f"{name}-ingress",
            f"{cfg.namespace}/{RELEASE}",
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.cluster.provider, depends_on=[self.chart]
            ),
        )
        self.load_balancer_hostname: pulumi.Output[str] = ingress.status.apply(
            lambda status: (
                (status.load_balancer.ingress[0].hostname or "")
                if status and status.load_balancer and status.load_balancer.ingress
                else ""
            )
        )
        # Its CloudWatch dimension (app/<name>/<id>): looked up by the fixed name once the
        # Ingress has an address, so the ALB exists by then.
        balancer = aws.lb.get_load_balancer_output(
            name=self.load_balancer_hostname.apply(lambda _: load_balancer_name(pulumi.get_stack()))
        )
        self.load_balancer_arn_suffix: pulumi.Output[str] = balancer.arn_suffix
        self.register_outputs({"namespace": cfg.namespace, "role_arn": self.role.arn})

    def _pod_role(
        self, name: str, service_account: str, grants: AppGrants, args: EksServiceArgs
    ) -> aws.iam.Role:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            name,
            assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", tag_session=True),
            opts=child,
        )
        aws.iam.RolePolicy(name, role=role.id, policy=app_policy(grants), opts=child)
        aws.eks.PodIdentityAssociation(
            name,
            cluster_name=args.cluster.cluster_name,
            namespace=args.config.namespace,
            service_account=service_account,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cluster.cluster]),
        )
        return role

    def _init_job(
        self,
        name: str,
        args: EksServiceArgs,
        namespace: k8s.core.v1.Namespace,
        role: aws.iam.Role,
    ) -> k8s.batch.v1.Job:
        """`rag-app init-db` as the master user, awaited by Pulumi before the chart. Its
        name carries the image digest: a new image runs it again (Jobs are immutable)."""
        cfg = args.config
        on_cluster = pulumi.ResourceOptions(
            parent=self, provider=args.cluster.provider, depends_on=[namespace]
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-init",
            metadata={"name": INIT_SERVICE_ACCOUNT, "namespace": cfg.namespace},
            automount_service_account_token=False,
            opts=on_cluster,
        )
        keys = sorted(args.init_environment)
        env = pulumi.Output.all(*[args.init_environment[k] for k in keys]).apply(
            lambda values: [{"name": k, "value": v} for k, v in zip(keys, values, strict=True)]
        )
        security = {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        digest = pulumi.Output.from_input(args.image_uri).apply(
            lambda uri: uri.rsplit("sha256:", 1)[-1][:10]
        )
        # Plain dicts, not literals checked against the SDK's nested TypedDicts (mypy's
        # inference over those unions is what made it run out of memory).
        metadata: dict[str, Any] = {
            "name": digest.apply(lambda d: f"{RELEASE}-init-db-{d}"),
            "namespace": cfg.namespace,
            "labels": {
                "app.kubernetes.io/name": RELEASE,
                "app.kubernetes.io/instance": RELEASE,
                "app.kubernetes.io/component": "init-db",
            },
            "annotations": {"pulumi.com/timeoutSeconds": str(cfg.await_timeout_seconds)},
        }
        spec: dict[str, Any] = {
            "backoffLimit": 3,
            "activeDeadlineSeconds": cfg.await_timeout_seconds,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {
                    "labels": {
                        "app.kubernetes.io/name": RELEASE,
                        "app.kubernetes.io/instance": RELEASE,
                        "app.kubernetes.io/component": "init-db",
                    }
                },
                "spec": {
                    "serviceAccountName": INIT_SERVICE_ACCOUNT,
                    "automountServiceAccountToken": False,
                    "restartPolicy": "Never",
                    "nodeSelector": {
                        "kubernetes.io/arch": cfg.cpu_architecture,
                        "karpenter.sh/nodepool": NODE_POOL,
                    },
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "init-db",
                            "image": args.image_uri,
                            "command": ["rag-app", "init-db", "--iam"],
                            "env": env,
                            "securityContext": security,
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "512Mi"},
                                "limits": {"cpu": "500m", "memory": "512Mi"},
                            },
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                },
            },
        }
        return k8s.batch.v1.Job(
            f"{name}-init-db",
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.cluster.provider,
                depends_on=[account, namespace, args.cluster.node_pool],
                delete_before_replace=True,
            ),
        )

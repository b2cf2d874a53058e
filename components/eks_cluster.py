"""Option 2's compute: an EKS cluster in Auto Mode (AWS runs the nodes, load balancing and
storage), API-only authentication, every control-plane log type, Kubernetes secrets
encrypted with a rotating KMS key, the API endpoint private (public only from listed CIDRs),
a Kubernetes provider on it, and the ALB ingress class of Auto Mode."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components.app_policy import assume_role_policy
from components.config import EksConfig
from components.network import Network

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
INGRESS_CLASS = "alb"
ALB_CONTROLLER = "eks.amazonaws.com/alb"
# The app's NodePool and NodeClass: Auto Mode enforces NetworkPolicies only on nodes whose
# NodeClass asks for it, and only once the VPC CNI ConfigMap turns the controller on
# (https://docs.aws.amazon.com/eks/latest/userguide/auto-net-pol.html). The built-in
# pools use the built-in NodeClass, which cannot be edited.
NODE_POOL = "rag-app"


@dataclass(frozen=True)
class EksClusterArgs:
    config: EksConfig
    network: Network
    certificate_arn: pulumi.Input[str] | None = None  # None: a dev stack's plain HTTP
    access_log_bucket: pulumi.Input[str] | None = None


class EksCluster(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        self.cluster_name = cfg.cluster_name or f"rag-{pulumi.get_stack()}"
        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS {self.cluster_name}: Kubernetes secrets encryption",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=child,
        )
        # EKS would create this log group with no expiry; created first, it keeps a retention.
        logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{self.cluster_name}/cluster",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )
        self.cluster = eks.Cluster(
            name,
            name=self.cluster_name,
            version=cfg.kubernetes_version,
            vpc_id=args.network.vpc.id,
            private_subnet_ids=[s.id for s in args.network.private_subnets],
            public_subnet_ids=[s.id for s in args.network.public_subnets],
            auto_mode=eks.AutoModeOptionsArgs(enabled=True),
            authentication_mode=eks.AuthenticationMode.API,
            endpoint_private_access=True,
            endpoint_public_access=bool(cfg.public_access_cidrs),
            public_access_cidrs=cfg.public_access_cidrs or None,
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            encryption_config_key_arn=secrets_key.arn,
            # STANDARD: at the end of standard support EKS upgrades the cluster rather than
            # billing extended support (config refuses a version past its end).
            upgrade_policy={"support_type": "STANDARD"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )
        # Pods run with the cluster security group: let them reach the VPC endpoints.
        self.pod_security_group_id: pulumi.Output[str] = self.cluster.cluster_security_group_id
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-pods-to-endpoints",
            security_group_id=args.network.endpoint_security_group.id,
            referenced_security_group_id=self.pod_security_group_id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="AWS APIs from the cluster's pods",
            opts=child,
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.cluster.kubeconfig_json,
            enable_server_side_apply=True,
            opts=child,
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=self.provider)
        params_spec: dict[str, object] = {
            "scheme": "internal" if cfg.internal else "internet-facing",
            "loadBalancerAttributes": [
                {"key": "routing.http.drop_invalid_header_fields.enabled", "value": "true"},
                {"key": "routing.http.desync_mitigation_mode", "value": "defensive"},
                *(
                    [
                        {"key": "access_logs.s3.enabled", "value": "true"},
                        {"key": "access_logs.s3.bucket", "value": args.access_log_bucket},
                        {"key": "access_logs.s3.prefix", "value": "alb"},
                    ]
                    if args.access_log_bucket is not None
                    else []
                ),
            ],
        }
        if args.certificate_arn is not None:
            params_spec["certificateARNs"] = [args.certificate_arn]
        params = k8s.apiextensions.CustomResource(
            f"{name}-alb-params",
            api_version="eks.amazonaws.com/v1",
            kind="IngressClassParams",
            metadata={"name": INGRESS_CLASS},
            spec=params_spec,
            opts=on_cluster,
        )
        self.ingress_class = k8s.networking.v1.IngressClass(
            f"{name}-alb",
            metadata={"name": INGRESS_CLASS},
            spec={
                "controller": ALB_CONTROLLER,
                "parameters": {
                    "apiGroup": "eks.amazonaws.com",
                    "kind": "IngressClassParams",
                    "name": INGRESS_CLASS,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[params]),
        )
        network_policy = k8s.core.v1.ConfigMap(
            f"{name}-vpc-cni",
            metadata={"name": "amazon-vpc-cni", "namespace": "kube-system"},
            data={"enable-network-policy-controller": "true"},
            opts=on_cluster,
        )
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version="eks.amazonaws.com/v1",
            kind="NodeClass",
            metadata={"name": NODE_POOL},
            spec={
                "role": self.cluster.auto_mode_node_role_name,
                "subnetSelectorTerms": [{"id": s.id} for s in args.network.private_subnets],
                "securityGroupSelectorTerms": [{"id": self.pod_security_group_id}],
                "networkPolicy": "DefaultAllow",
                "networkPolicyEventLogs": "Enabled",
            },
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.provider, depends_on=[network_policy]
            ),
        )
        self.node_pool = k8s.apiextensions.CustomResource(
            f"{name}-node-pool",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": NODE_POOL},
            spec={
                "template": {
                    "spec": {
                        "nodeClassRef": {
                            "group": "eks.amazonaws.com",
                            "kind": "NodeClass",
                            "name": NODE_POOL,
                        },
                        "requirements": [
                            {
                                "key": "eks.amazonaws.com/instance-category",
                                "operator": "In",
                                "values": ["c", "m", "r"],
                            },
                            {
                                "key": "kubernetes.io/arch",
                                "operator": "In",
                                "values": [cfg.cpu_architecture],
                            },
                            {
                                "key": "karpenter.sh/capacity-type",
                                "operator": "In",
                                "values": ["on-demand"],
                            },
                        ],
                    }
                },
                "limits": {"cpu": "64"},
            },
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.provider, depends_on=[node_class]
            ),
        )
        # The HPA's CPU metrics: metrics-server is not part of EKS or Auto Mode.
        self.metrics_server = aws.eks.Addon(
            f"{name}-metrics-server",
            cluster_name=self.cluster_name,
            addon_name="metrics-server",
            resolve_conflicts_on_create="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]),
        )
        # Container Insights (pod CPU and memory for the alarms): the CloudWatch agent's
        # service account gets its role through Pod Identity.
        agent_role = aws.iam.Role(
            f"{name}-cloudwatch-agent",
            assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", tag_session=True),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-cloudwatch-agent",
            role=agent_role.name,
            policy_arn="arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
            opts=child,
        )
        aws.eks.Addon(
            f"{name}-observability",
            cluster_name=self.cluster_name,
            addon_name="amazon-cloudwatch-observability",
            pod_identity_associations=[
                {"role_arn": agent_role.arn, "service_account": "cloudwatch-agent"}
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]),
        )
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.register_outputs({"cluster_name": self.cluster_name})

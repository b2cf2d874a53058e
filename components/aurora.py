"""Option 2's database: Aurora PostgreSQL Serverless v2 with pgvector, in the private subnets,
reachable only from the cluster's pods, encrypted, TLS-only, with the master password kept
by RDS in Secrets Manager (never in config or state). The pgvector extension and the schema
are created by the app's own idempotent migration at start-up."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.app_policy import assume_role_policy
from components.config import AuroraConfig
from components.network import Network

DEV_STACK_TAG = "rag-dev-stack"  # marks a database that may be destroyed without a snapshot
PORT = 5432


@dataclass(frozen=True)
class AuroraPgvectorArgs:
    config: AuroraConfig
    network: Network
    client_security_group_id: pulumi.Input[str]  # the pods' (EKS cluster) security group
    log_retention_days: int
    protect: bool = False  # protect + retain_on_delete the cluster (non-dev stacks)
    kms_key_arn: pulumi.Input[str] | None = None  # the stack's key unless config names one
    database_name: str = "rag"
    master_username: str = "rag"


class AuroraPgvector(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AuroraPgvectorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:AuroraPgvector", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        identifier = f"rag-{pulumi.get_stack()}-{name}".lower()
        subnets = aws.rds.SubnetGroup(
            name, subnet_ids=[s.id for s in args.network.private_subnets], opts=child
        )
        self.security_group = aws.ec2.SecurityGroup(
            name,
            vpc_id=args.network.vpc.id,
            description="Aurora: PostgreSQL from the app's pods only",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-app",
            security_group_id=self.security_group.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description="PostgreSQL from the app",
            opts=child,
        )
        major = cfg.engine_version.split(".")[0]
        parameters = aws.rds.ClusterParameterGroup(
            name,
            family=f"aurora-postgresql{major}",
            description="rag-app: TLS only, slow statements logged",
            parameters=[
                {"name": "rds.force_ssl", "value": "1"},
                {"name": "log_min_duration_statement", "value": "1000"},
            ],
            opts=child,
        )
        # RDS would create this log group with no expiry; created first, it keeps a retention.
        logs = aws.cloudwatch.LogGroup(
            f"{name}-postgresql",
            name=f"/aws/rds/cluster/{identifier}/postgresql",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        scaling: dict[str, float | int] = {
            "min_capacity": cfg.min_capacity,
            "max_capacity": cfg.max_capacity,
        }
        if cfg.min_capacity == 0:
            scaling["seconds_until_auto_pause"] = cfg.seconds_until_auto_pause
        self.cluster = aws.rds.Cluster(
            name,
            cluster_identifier=identifier,
            engine="aurora-postgresql",
            engine_mode="provisioned",
            engine_version=cfg.engine_version,
            database_name=args.database_name,
            master_username=args.master_username,
            manage_master_user_password=True,
            storage_encrypted=True,
            kms_key_id=cfg.kms_key_arn or args.kms_key_arn,
            master_user_secret_kms_key_id=cfg.kms_key_arn or args.kms_key_arn,
            iam_database_authentication_enabled=True,
            deletion_protection=not cfg.dev,
            skip_final_snapshot=cfg.dev,
            final_snapshot_identifier=None if cfg.dev else f"{identifier}-final",
            backup_retention_period=cfg.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=["postgresql"],
            db_subnet_group_name=subnets.name,
            db_cluster_parameter_group_name=parameters.name,
            vpc_security_group_ids=[self.security_group.id],
            serverlessv2_scaling_configuration=scaling,
            tags={DEV_STACK_TAG: "true"} if cfg.dev else None,
            # Instances take AWS's minor upgrades (auto_minor_version_upgrade): a later
            # `pulumi up` must not try to go back to the configured minor version.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[logs],
                ignore_changes=["engineVersion"],
                protect=args.protect,
                retain_on_delete=args.protect,
            ),
        )
        monitoring_role = None
        if cfg.enhanced_monitoring_seconds:
            monitoring_role = aws.iam.Role(
                f"{name}-monitoring",
                assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com"),
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-monitoring",
                role=monitoring_role.name,
                policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
                opts=child,
            )
        zones = [s.availability_zone for s in args.network.private_subnets]
        # The writer, then each reader in the next zone: a failover target elsewhere.
        self.instances = [
            aws.rds.ClusterInstance(
                f"{name}-{i + 1}",
                cluster_identifier=self.cluster.id,
                instance_class="db.serverless",
                engine=self.cluster.engine,
                engine_version=self.cluster.engine_version,
                db_subnet_group_name=subnets.name,
                availability_zone=zones[i % len(zones)],
                promotion_tier=i,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                performance_insights_enabled=cfg.performance_insights,
                monitoring_interval=cfg.enhanced_monitoring_seconds,
                monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["engineVersion"]),
            )
            for i in range(1 + cfg.readers)
        ]
        self.instance = self.instances[0]
        self.reader_endpoint: pulumi.Output[str] = self.cluster.reader_endpoint
        self.identifier = identifier
        self.endpoint: pulumi.Output[str] = self.cluster.endpoint
        self.secret_arn: pulumi.Output[str] = self.cluster.master_user_secrets.apply(
            lambda secrets: secrets[0].secret_arn
        )
        self.resource_id: pulumi.Output[str] = self.cluster.cluster_resource_id
        self.register_outputs({"endpoint": self.endpoint, "secret_arn": self.secret_arn})

    def user_arn(self, region: str, account: str, user: str) -> pulumi.Output[str]:
        """The IAM resource of one database user: what ``rds-db:connect`` may name."""
        return self.resource_id.apply(
            lambda rid: f"arn:aws:rds-db:{region}:{account}:dbuser:{rid}/{user}"
        )

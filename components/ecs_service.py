"""Option 1's compute: the app on ECS Fargate in private subnets behind an HTTPS load
balancer, with a least-privilege task role and autoscaling on CPU."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.app_policy import AppGrants, allow, app_policy
from components.config import EcsConfig
from components.ecs_task_roles import ecs_task_roles
from components.https import TLS_POLICY
from components.network import Network
from components.session_secret import SESSION_SECRET_VARIABLE


@dataclass(frozen=True)
class EcsServiceArgs:
    config: EcsConfig
    network: Network
    image_uri: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]]  # app settings, kept in SSM Parameter Store
    grants: AppGrants
    migration_source_cidr: str | None = None  # the on-prem database, reached by VPN/DX
    certificate_arn: pulumi.Input[str] | None = None  # None: a dev stack's plain HTTP
    access_log_bucket: pulumi.Input[str] | None = None
    deletion_protection: bool = False
    port: int = 8000
    # The web sign-in key's secret (components/session_secret.py): the service's tasks get
    # it as RAG_SESSION_SECRET, through the execution role.
    session_secret_arn: pulumi.Input[str] | None = None


class EcsService(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EcsServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:EcsService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        self.cluster = aws.ecs.Cluster(
            name, settings=[{"name": "containerInsights", "value": "enabled"}], opts=child
        )
        self.log_group = aws.cloudwatch.LogGroup(
            name, retention_in_days=cfg.log_retention_days, opts=child
        )
        roles = ecs_task_roles(
            name, task_policy=app_policy(args.grants), environment=args.environment, parent=self
        )
        execution_role, self.task_role = roles.execution_role, roles.task_role
        settings = roles.settings
        region = aws.get_region_output().region

        def container(values: list[Any], *, one_off: bool = False) -> str:
            image, secrets, log_group, region_name = values
            # The one-off task runs any `rag-app` command (default: init-db); its
            # command comes from `aws ecs run-task --overrides` (README, Migrating).
            role: dict[str, Any] = (
                {"entryPoint": ["rag-app"], "command": ["init-db"]}
                if one_off
                else {"portMappings": [{"containerPort": args.port, "protocol": "tcp"}]}
            )
            return json.dumps(
                [
                    {
                        "name": "app",
                        "image": image,
                        "essential": True,
                        **role,
                        "secrets": secrets,
                        "readonlyRootFilesystem": True,
                        "privileged": False,
                        "user": "10001:10001",
                        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp"}],  # noqa: S108
                        "linuxParameters": {
                            "initProcessEnabled": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": log_group,
                                "awslogs-region": region_name,
                                "awslogs-stream-prefix": "task" if one_off else "app",
                            },
                        },
                    }
                ]
            )

        def task_definition(
            family: str, secrets: pulumi.Output[Any], *, one_off: bool
        ) -> aws.ecs.TaskDefinition:
            return aws.ecs.TaskDefinition(
                family,
                family=family,
                cpu=str(cfg.cpu),
                memory=str(cfg.memory),
                network_mode="awsvpc",
                requires_compatibilities=["FARGATE"],
                execution_role_arn=execution_role.arn,
                task_role_arn=self.task_role.arn,
                runtime_platform={
                    "cpu_architecture": cfg.cpu_architecture,
                    "operating_system_family": "LINUX",
                },
                volumes=[{"name": "tmp"}],
                container_definitions=pulumi.Output.all(
                    args.image_uri, secrets, self.log_group.name, region
                ).apply(lambda values: container(values, one_off=one_off)),
                opts=child,
            )

        service_secrets: pulumi.Output[Any] = settings
        if args.session_secret_arn is not None:
            service_secrets = self._session_secret(name, execution_role, args, settings)
        self.task_definition = task_definition(name, service_secrets, one_off=False)
        # A one-off task (migration from the on-prem database, init-db): the service's
        # image, settings and role, no port, plus the source database URL from a secret
        # the operator fills in (`aws secretsmanager put-secret-value`).
        self.migration_source = aws.secretsmanager.Secret(
            f"{name}-migration-source",
            name_prefix=f"rag-{pulumi.get_stack()}-migration-source-",
            description="MIGRATE_SOURCE_URL for `rag-app migrate from-postgres` (README)",
            recovery_window_in_days=7,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-execution-migration-source",
            role=execution_role.id,
            policy=self.migration_source.arn.apply(
                lambda arn: allow("MigrationSource", ["secretsmanager:GetSecretValue"], [arn])
            ),
            opts=child,
        )
        task_secrets = pulumi.Output.all(settings, self.migration_source.arn).apply(
            lambda a: [*a[0], {"name": "MIGRATE_SOURCE_URL", "valueFrom": a[1]}]
        )
        self.one_off_task = task_definition(f"{name}-task", task_secrets, one_off=True)
        if args.migration_source_cidr:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-migration-source",
                security_group_id=args.network.app_security_group.id,
                cidr_ipv4=args.migration_source_cidr,
                ip_protocol="tcp",
                from_port=5432,
                to_port=5432,
                description="PostgreSQL of the on-prem app, for the one-off migration",
                opts=child,
            )
        # With access logs on, the ALB checks at creation that it may write to the bucket.
        self.load_balancer = aws.lb.LoadBalancer(
            name,
            load_balancer_type="application",
            internal=False,
            security_groups=[args.network.load_balancer_security_group.id],
            subnets=[s.id for s in args.network.public_subnets],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            enable_deletion_protection=args.deletion_protection,
            access_logs=(
                {"bucket": args.access_log_bucket, "prefix": "alb", "enabled": True}
                if args.access_log_bucket is not None
                else None
            ),
            opts=child,
        )
        target_group = aws.lb.TargetGroup(
            name,
            port=args.port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.network.vpc.id,
            deregistration_delay=30,
            health_check={
                "path": "/health/ready",
                "matcher": "200",
                "interval": 15,
                "healthy_threshold": 2,
                "unhealthy_threshold": 3,
            },
            opts=child,
        )
        forward = [{"type": "forward", "target_group_arn": target_group.arn}]
        if args.certificate_arn is not None:
            aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=self.load_balancer.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=args.certificate_arn,
                default_actions=forward,
                opts=child,
            )
            http_actions: list[dict[str, Any]] = [
                {
                    "type": "redirect",
                    "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"},
                }
            ]
        else:  # a dev stack (rag:dev) without TLS
            http_actions = forward
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=http_actions,
            opts=child,
        )
        self.service = aws.ecs.Service(
            name,
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=cfg.min_tasks,
            launch_type="FARGATE",
            network_configuration={
                "subnets": [s.id for s in args.network.private_subnets],
                "security_groups": [args.network.app_security_group.id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {
                    "target_group_arn": target_group.arn,
                    "container_name": "app",
                    "container_port": args.port,
                }
            ],
            deployment_circuit_breaker={"enable": True, "rollback": True},
            # `pulumi up` ends when the tasks are healthy behind the ALB, or fails saying
            # they are not (the image is pushed before: its digest is in the definition).
            wait_for_steady_state=True,
            health_check_grace_period_seconds=60,
            propagate_tags="SERVICE",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desired_count"]),
        )
        scaling = aws.appautoscaling.Target(
            name,
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", self.service.name),
            min_capacity=cfg.min_tasks,
            max_capacity=cfg.max_tasks,
            opts=child,
        )
        aws.appautoscaling.Policy(
            name,
            policy_type="TargetTrackingScaling",
            service_namespace="ecs",
            resource_id=scaling.resource_id,
            scalable_dimension=scaling.scalable_dimension,
            target_tracking_scaling_policy_configuration={
                "target_value": cfg.cpu_target_percent,
                "predefined_metric_specification": {
                    "predefined_metric_type": "ECSServiceAverageCPUUtilization"
                },
            },
            opts=child,
        )
        self.target_group = target_group
        scheme = "https" if args.certificate_arn is not None else "http"
        self.url = pulumi.Output.concat(scheme, "://", self.load_balancer.dns_name)
        self.register_outputs({"url": self.url, "log_group": self.log_group.name})

    def _session_secret(
        self,
        name: str,
        execution_role: aws.iam.Role,
        args: EcsServiceArgs,
        settings: pulumi.Output[Any],
    ) -> pulumi.Output[Any]:
        """The settings plus RAG_SESSION_SECRET from its secret, which the execution role may
        read (and decrypt with the data key, through Secrets Manager only) and nothing else."""
        secret_arn = pulumi.Output.from_input(args.session_secret_arn)
        aws.iam.RolePolicy(
            f"{name}-execution-session-secret",
            role=execution_role.id,
            policy=pulumi.Output.all(secret_arn, args.grants.kms_key_arn, args.grants.region).apply(
                lambda a: session_secret_policy(a[0], a[1], a[2])
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.all(settings, secret_arn).apply(
            lambda a: [*a[0], {"name": SESSION_SECRET_VARIABLE, "valueFrom": a[1]}]
        )


def session_secret_policy(secret_arn: str, kms_key_arn: str | None, region: str) -> str:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "SessionSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [secret_arn],
        }
    ]
    if kms_key_arn is not None:
        statements.append(
            {
                "Sid": "SessionSecretKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [kms_key_arn],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
                },
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})

"""Operations for either option: a notification topic (e-mail from config), CloudWatch
alarms on the load balancer, the compute, the database and the app's own metrics (EMF lines
from rag_app/metrics.py), one dashboard, the ALB's access-log bucket, optional VPC flow logs
and an AWS Backup plan for the data an operator cannot recreate."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.app_policy import assume_role_policy
from components.config import OperationsConfig
from components.storage import DocumentBucket, DocumentBucketArgs
from rag_app import metrics

# The account that writes ALB access logs in Regions opened before August 2022
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html);
# newer Regions use the logdelivery.elasticloadbalancing.amazonaws.com service principal.
ELB_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-central-1": "054676820928",
}
ACCESS_LOG_PREFIX = "alb"


def access_log_statements(region: str, account: str) -> Any:
    def statements(bucket_arn: str) -> list[dict[str, Any]]:
        principal = (
            {"AWS": f"arn:aws:iam::{ELB_ACCOUNTS[region]}:root"}
            if region in ELB_ACCOUNTS
            else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
        )
        return [
            {
                "Sid": "AlbAccessLogs",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{ACCESS_LOG_PREFIX}/AWSLogs/{account}/*",
            }
        ]

    return statements


@dataclass(frozen=True)
class Alarm:
    name: str
    namespace: str
    metric: str
    dimensions: dict[str, pulumi.Input[str]]
    threshold: float
    statistic: str = "Sum"
    extended_statistic: str | None = None
    period: int = 300
    evaluation_periods: int = 2
    comparison: str = "GreaterThanThreshold"
    description: str = ""


@dataclass(frozen=True)
class OperationsArgs:
    config: OperationsConfig
    region: str
    account: str
    protect: bool
    kms_key_arn: pulumi.Input[str] | None = None


def app_alarms() -> list[Alarm]:
    """The app's own metrics (rag_app/metrics.py), the same on both options."""
    return [
        Alarm(
            "ingestion-failures",
            metrics.NAMESPACE,
            metrics.INGESTION_FAILURES,
            {},
            threshold=0,
            evaluation_periods=1,
            description="an upload failed to ingest (job status failed): see the app log",
        ),
        Alarm(
            "bedrock-throttling",
            metrics.NAMESPACE,
            metrics.BEDROCK_THROTTLES,
            {},
            threshold=50,
            description="Bedrock throttles the app: raise the model quota or lower the rate",
        ),
        Alarm(
            "bedrock-refusals",
            metrics.NAMESPACE,
            metrics.BEDROCK_REFUSALS,
            {},
            threshold=0,
            evaluation_periods=1,
            description="Bedrock refuses a model (access not enabled, unknown id): see "
            "/health/ready",
        ),
    ]


class Operations(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:Operations", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        self.topic = aws.sns.Topic(
            f"{name}-alarms",
            kms_master_key_id=args.kms_key_arn or "alias/aws/sns",
            opts=child,
        )
        if cfg.alarm_email:
            aws.sns.TopicSubscription(
                f"{name}-alarms-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=cfg.alarm_email,
                opts=child,
            )
        # ALB access logs accept SSE-S3 only (no KMS): the bucket is private and TLS-only.
        self.access_logs = DocumentBucket(
            f"{name}-access-logs",
            DocumentBucketArgs(
                noncurrent_version_days=1,
                expire_days=cfg.access_log_days,
                force_destroy=not args.protect,
                extra_statements=access_log_statements(args.region, args.account),
            ),
            opts=child,
        )
        self._args = args
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        self.register_outputs({"topic": self.topic.arn})

    def add_alarms(self, alarms: Sequence[Alarm]) -> None:
        """The option's alarms plus the app's own, all notifying the topic, and the stack's
        dashboard of them (call once, when the resources they watch exist)."""
        self.alarms = [self._alarm(a) for a in [*alarms, *app_alarms()]]
        self.dashboard = aws.cloudwatch.Dashboard(
            "dashboard",
            dashboard_name=f"rag-{pulumi.get_stack()}",
            dashboard_body=pulumi.Output.all(*[a.arn for a in self.alarms]).apply(
                lambda arns: json.dumps(
                    {
                        "widgets": [
                            {
                                "type": "alarm",
                                "x": 0,
                                "y": 0,
                                "width": 24,
                                "height": 6,
                                "properties": {"title": "Alarms", "alarms": sorted(arns)},
                            }
                        ]
                    }
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _alarm(self, alarm: Alarm) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            alarm.name,
            namespace=alarm.namespace,
            metric_name=alarm.metric,
            dimensions=alarm.dimensions or None,
            statistic=None if alarm.extended_statistic else alarm.statistic,
            extended_statistic=alarm.extended_statistic,
            period=alarm.period,
            evaluation_periods=alarm.evaluation_periods,
            threshold=alarm.threshold,
            comparison_operator=alarm.comparison,
            treat_missing_data="notBreaching",
            alarm_description=alarm.description,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def add_backup(self, resources: Sequence[pulumi.Input[str]]) -> None:
        """A daily AWS Backup of ``resources`` (ARNs), kept backupRetentionDays."""
        args, name = self._args, "backup"
        child = pulumi.ResourceOptions(parent=self)
        vault = aws.backup.Vault(name, kms_key_arn=args.kms_key_arn, opts=child)
        plan = aws.backup.Plan(
            name,
            rules=[
                {
                    "rule_name": "daily",
                    "target_vault_name": vault.name,
                    "schedule": "cron(0 4 * * ? *)",
                    "lifecycle": {"delete_after": args.config.backup_retention_days},
                }
            ],
            opts=child,
        )
        role = aws.iam.Role(
            name,
            assume_role_policy=assume_role_policy("backup.amazonaws.com"),
            opts=child,
        )
        for i, policy in enumerate(
            (
                "service-role/AWSBackupServiceRolePolicyForBackup",
                "service-role/AWSBackupServiceRolePolicyForRestores",
                "AWSBackupServiceRolePolicyForS3Backup",
                "AWSBackupServiceRolePolicyForS3Restore",
            )
        ):
            aws.iam.RolePolicyAttachment(
                f"{name}-{i}",
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child,
            )
        aws.backup.Selection(
            name,
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=list(resources),
            opts=child,
        )


def flow_logs(
    name: str, vpc_id: pulumi.Input[str], retention_days: int, parent: pulumi.Resource
) -> None:
    """VPC flow logs of rejected traffic to CloudWatch Logs (rag:network.flowLogs)."""
    child = pulumi.ResourceOptions(parent=parent)
    group = aws.cloudwatch.LogGroup(
        f"{name}-flow-logs", retention_in_days=retention_days, opts=child
    )
    role = aws.iam.Role(
        f"{name}-flow-logs",
        assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"),
        opts=child,
    )
    aws.iam.RolePolicy(
        f"{name}-flow-logs",
        role=role.id,
        policy=group.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    ],
                }
            )
        ),
        opts=child,
    )
    aws.ec2.FlowLog(
        f"{name}-flow-logs",
        vpc_id=vpc_id,
        traffic_type="REJECT",
        log_destination_type="cloud-watch-logs",
        log_destination=group.arn,
        iam_role_arn=role.arn,
        opts=child,
    )

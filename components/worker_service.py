"""Option 1's ingestion workers: a second ECS service from the app's image running
`rag-app worker`, with its own task size (OCR and speech jobs need more memory than the
API), no load balancer and no inbound port, scaled on the job queue's backlog per task
and down to zero tasks when the queue is empty.

Scaling (Application Auto Scaling on the service's desired count, 0..max):
- target tracking on backlog per task, (visible + in flight) / running tasks, in metric
  math over the queue's AWS/SQS metrics and the service's Container Insights task count;
  in-flight messages count so that a task still running a long job is not scaled in;
- target tracking multiplies the current capacity, so it cannot start from zero: a step
  policy adds the first task when messages are visible and no task runs (the same
  metrics, ``FILL`` making a missing task count 0).
ECS stops a task with SIGTERM then SIGKILL after ``stopTimeout`` (Fargate: at most 120 s);
the worker hands back a job it cannot finish within RAG_WORKER_SHUTDOWN_SECONDS, which is
set below that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.app_policy import AppGrants, app_policy
from components.ecs_task_roles import ecs_task_roles
from components.ingest_queue import IngestQueue, sender_statements, worker_statements
from components.network import Network

STOP_TIMEOUT_SECONDS = 120  # Fargate's maximum
SHUTDOWN_SECONDS = 90  # the worker's own deadline, inside the stop timeout


@dataclass(frozen=True)
class WorkerServiceArgs:
    cluster: aws.ecs.Cluster
    network: Network
    image_uri: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]]  # the app's settings, queue included
    grants: AppGrants
    queue: IngestQueue
    log_group_name: pulumi.Input[str]
    cpu: int = 2048
    memory: int = 8192
    cpu_architecture: str = "ARM64"
    max_tasks: int = 4
    backlog_per_task: int = 5  # jobs waiting or running per worker task
    concurrency: int = 1  # jobs one task runs at once (RAG_INGEST_CONCURRENCY)


def worker_policy_document(app_document: str, queue_arn: str, dead_letter_arn: str) -> str:
    """The app's policy document plus the worker's queue actions, in one document."""
    base = json.loads(app_document)
    base["Statement"] += worker_statements(queue_arn, dead_letter_arn)
    return json.dumps(base)


def worker_policy(grants: AppGrants, queue: IngestQueue) -> pulumi.Output[str]:
    """``worker_policy_document`` over the stack's outputs."""
    return pulumi.Output.all(app_policy(grants), queue.queue.arn, queue.dead_letters.arn).apply(
        lambda a: worker_policy_document(a[0], a[1], a[2])
    )


def api_queue_policy_document(queue_arn: str) -> str:
    """What the API task role adds for the queue: send, nothing else."""
    return json.dumps({"Version": "2012-10-17", "Statement": sender_statements(queue_arn)})


class WorkerService(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: WorkerServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:WorkerService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        queue = args.queue
        environment = {
            **args.environment,
            "RAG_INGEST_CONCURRENCY": str(args.concurrency),
            "RAG_WORKER_SHUTDOWN_SECONDS": str(SHUTDOWN_SECONDS),
        }
        environment.pop("RAG_PORT", None)
        environment.pop("RAG_HOST", None)
        roles = ecs_task_roles(
            name,
            task_policy=worker_policy(args.grants, queue),
            environment=environment,
            parent=self,
        )
        self.task_role = roles.task_role
        region = aws.get_region_output().region

        def container(values: list[Any]) -> str:
            image, secrets, log_group, region_name = values
            return json.dumps(
                [
                    {
                        "name": "worker",
                        "image": image,
                        "essential": True,
                        "entryPoint": ["rag-app"],
                        "command": ["worker"],
                        "stopTimeout": STOP_TIMEOUT_SECONDS,
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
                                "awslogs-stream-prefix": "worker",
                            },
                        },
                    }
                ]
            )

        self.task_definition = aws.ecs.TaskDefinition(
            name,
            family=name,
            cpu=str(args.cpu),
            memory=str(args.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            execution_role_arn=roles.execution_role.arn,
            task_role_arn=self.task_role.arn,
            runtime_platform={
                "cpu_architecture": args.cpu_architecture,
                "operating_system_family": "LINUX",
            },
            volumes=[{"name": "tmp"}],
            container_definitions=pulumi.Output.all(
                args.image_uri, roles.settings, args.log_group_name, region
            ).apply(container),
            opts=child,
        )
        self.service = aws.ecs.Service(
            name,
            cluster=args.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=0,  # Application Auto Scaling owns it from here
            launch_type="FARGATE",
            network_configuration={
                "subnets": [s.id for s in args.network.private_subnets],
                "security_groups": [args.network.app_security_group.id],
                "assign_public_ip": False,
            },
            deployment_circuit_breaker={"enable": True, "rollback": True},
            # Steady at once while no task runs; with tasks, up waits for the new ones.
            wait_for_steady_state=True,
            propagate_tags="SERVICE",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desired_count"]),
        )
        self.scaling = aws.appautoscaling.Target(
            name,
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster.name, "/", self.service.name),
            min_capacity=0,
            max_capacity=args.max_tasks,
            opts=child,
        )

        def sqs_metric(metric_id: str, metric: str) -> dict[str, Any]:
            return {
                "id": metric_id,
                "metric_stat": {
                    "metric": {
                        "namespace": "AWS/SQS",
                        "metric_name": metric,
                        "dimensions": [{"name": "QueueName", "value": queue.queue.name}],
                    },
                    "stat": "Sum",
                },
                "return_data": False,
            }

        tasks_metric = {
            "id": "tasks",
            "metric_stat": {
                "metric": {
                    "namespace": "ECS/ContainerInsights",
                    "metric_name": "RunningTaskCount",
                    "dimensions": [
                        {"name": "ClusterName", "value": args.cluster.name},
                        {"name": "ServiceName", "value": self.service.name},
                    ],
                },
                "stat": "Average",
            },
            "return_data": False,
        }
        aws.appautoscaling.Policy(
            f"{name}-backlog",
            policy_type="TargetTrackingScaling",
            service_namespace="ecs",
            resource_id=self.scaling.resource_id,
            scalable_dimension=self.scaling.scalable_dimension,
            target_tracking_scaling_policy_configuration={
                "target_value": args.backlog_per_task,
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
                "customized_metric_specification": {
                    "metrics": [
                        sqs_metric("visible", "ApproximateNumberOfMessagesVisible"),
                        sqs_metric("inflight", "ApproximateNumberOfMessagesNotVisible"),
                        tasks_metric,
                        {
                            "id": "backlog_per_task",
                            "expression": "(visible + inflight) / tasks",
                            "label": "Jobs waiting or running per worker task",
                            "return_data": True,
                        },
                    ]
                },
            },
            opts=child,
        )
        first = aws.appautoscaling.Policy(
            f"{name}-first-task",
            policy_type="StepScaling",
            service_namespace="ecs",
            resource_id=self.scaling.resource_id,
            scalable_dimension=self.scaling.scalable_dimension,
            step_scaling_policy_configuration={
                "adjustment_type": "ChangeInCapacity",
                "cooldown": 60,
                "metric_aggregation_type": "Maximum",
                "step_adjustments": [{"metric_interval_lower_bound": 0, "scaling_adjustment": 1}],
            },
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-jobs-without-workers",
            alarm_description="ingestion jobs are waiting and no worker task runs: start one",
            comparison_operator="GreaterThanOrEqualToThreshold",
            evaluation_periods=1,
            threshold=1,
            treat_missing_data="notBreaching",
            metric_queries=[
                {
                    "id": "visible",
                    "metric": {
                        "namespace": "AWS/SQS",
                        "metric_name": "ApproximateNumberOfMessagesVisible",
                        "dimensions": {"QueueName": queue.queue.name},
                        "period": 60,
                        "stat": "Maximum",
                    },
                },
                {
                    "id": "tasks",
                    "metric": {
                        "namespace": "ECS/ContainerInsights",
                        "metric_name": "RunningTaskCount",
                        "dimensions": {
                            "ClusterName": args.cluster.name,
                            "ServiceName": self.service.name,
                        },
                        "period": 60,
                        "stat": "Maximum",
                    },
                },
                {
                    "id": "waiting_unserved",
                    "expression": "IF(FILL(tasks, 0) == 0, visible, 0)",
                    "label": "Jobs waiting while no worker runs",
                    "return_data": True,
                },
            ],
            alarm_actions=[first.arn],
            opts=child,
        )
        self.register_outputs({"service": self.service.name, "task_role": self.task_role.arn})

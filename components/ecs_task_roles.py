"""What every ECS service of Option 1 (the API, the ingestion workers) has around its task
definition: an execution role, a task role with the service's own policy, and the app's
settings in SSM Parameter Store, which the execution role (and nothing else) may read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.app_policy import allow, assume_role_policy

EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


@dataclass(frozen=True)
class EcsTaskRoles:
    execution_role: aws.iam.Role
    task_role: aws.iam.Role
    # The container's `secrets`: one {"name": setting, "valueFrom": parameter ARN} per
    # setting, in the settings' sorted order.
    settings: pulumi.Output[list[dict[str, Any]]]


def ecs_task_roles(
    name: str,
    *,
    task_policy: pulumi.Input[str],
    environment: dict[str, pulumi.Input[str]],
    parent: pulumi.Resource,
) -> EcsTaskRoles:
    """Declares, under ``parent``, the roles ``{name}-execution`` and ``{name}-task`` (the
    latter with ``task_policy``) and one String parameter per setting, named
    ``/<stack>/{name}/<KEY>``. Settings reach the container as ``secrets``, never as plain
    environment values in the task definition. An empty ``environment`` gives no parameter
    and an execution policy on no resource."""
    child = pulumi.ResourceOptions(parent=parent)
    execution_role = aws.iam.Role(
        f"{name}-execution",
        assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
        opts=child,
    )
    aws.iam.RolePolicyAttachment(
        f"{name}-execution",
        role=execution_role.name,
        policy_arn=EXECUTION_POLICY_ARN,
        opts=child,
    )
    task_role = aws.iam.Role(
        f"{name}-task",
        assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
        opts=child,
    )
    aws.iam.RolePolicy(f"{name}-task", role=task_role.id, policy=task_policy, opts=child)
    parameters = {
        key: aws.ssm.Parameter(
            f"{name}-{key.lower().replace('_', '-')}",
            name=f"/{pulumi.get_stack()}/{name}/{key}",
            type="String",
            value=value,
            opts=child,
        )
        for key, value in sorted(environment.items())
    }
    arns = pulumi.Output.all(*[p.arn for p in parameters.values()])
    aws.iam.RolePolicy(
        f"{name}-execution",
        role=execution_role.id,
        policy=arns.apply(lambda a: allow("Settings", ["ssm:GetParameters"], list(a))),
        opts=child,
    )
    settings = arns.apply(
        lambda a: [{"name": key, "valueFrom": arn} for key, arn in zip(parameters, a, strict=True)]
    )
    return EcsTaskRoles(execution_role, task_role, settings)

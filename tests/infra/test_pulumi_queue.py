"""The ingestion queue and its workers in the recorded stacks (Pulumi mocks): the SQS queue
and its dead-letter queue, the inbox notification, Option 1's worker service and scaling,
the IAM split between the API and the workers, and the queue's alarms (the queue's policy
rules are in the mutation table, tests/infra/test_policy_mutations.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy.graph import Declared
from tests.support.pulumi_stacks import of, record, unwrap


@pytest.fixture(scope="module")
def ecs() -> list[Declared]:
    return record("ecs")


def named(resources: list[Declared], type_: str, name: str) -> Declared:
    (found,) = [r for r in of(resources, type_) if r.name == name]
    return found


def statements(resources: list[Declared], policy_name: str) -> list[dict[str, Any]]:
    policy = named(resources, "aws:iam/rolePolicy:RolePolicy", policy_name)
    return list(json.loads(policy.inputs["policy"])["Statement"])


def sqs_actions(resources: list[Declared], *policy_names: str) -> set[str]:
    return {
        action
        for name in policy_names
        for s in statements(resources, name)
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        if action.startswith("sqs:")
    }


def test_the_queue_is_encrypted_long_polled_and_redrives_to_its_dlq(ecs: list[Declared]) -> None:
    queue = named(ecs, "aws:sqs/queue:Queue", "ingest").inputs
    dlq = named(ecs, "aws:sqs/queue:Queue", "ingest-dlq").inputs
    assert queue["sqsManagedSseEnabled"] is True
    assert dlq["sqsManagedSseEnabled"] is True
    assert queue["receiveWaitTimeSeconds"] == 20
    assert queue["visibilityTimeoutSeconds"] == 120
    redrive = json.loads(queue["redrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:ingest-dlq",
        "maxReceiveCount": 5,
    }
    assert dlq["messageRetentionSeconds"] == 14 * 24 * 3600
    allow = json.loads(
        named(ecs, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "ingest-dlq").inputs[
            "redriveAllowPolicy"
        ]
    )
    assert allow == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": ["arn:aws:sqs:us-east-1:123456789012:ingest"],
    }


def test_the_inbox_prefix_notifies_the_queue_which_only_the_bucket_may_send_to(
    ecs: list[Declared],
) -> None:
    notification = named(ecs, "aws:s3/bucketNotification:BucketNotification", "ingest-inbox")
    (target,) = notification.inputs["queues"]
    assert target["queueArn"] == "arn:aws:sqs:us-east-1:123456789012:ingest"
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["filterPrefix"] == "inbox/"
    assert notification.inputs["bucket"] == "documents-id"
    policy = json.loads(named(ecs, "aws:sqs/queuePolicy:QueuePolicy", "ingest").inputs["policy"])
    s3, tls = policy["Statement"]
    assert s3["Principal"] == {"Service": "s3.amazonaws.com"}
    assert s3["Action"] == "sqs:SendMessage"
    assert s3["Condition"] == {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::documents-bucket"}}
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_api_only_sends_and_the_workers_work_the_queue(ecs: list[Declared]) -> None:
    assert sqs_actions(ecs, "app-task", "app-task-queue") == {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
    }
    assert sqs_actions(ecs, "worker-task") == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
    }
    for name in ("app-task-queue", "worker-task"):
        for statement in statements(ecs, name):
            if any(a.startswith("sqs:") for a in statement["Action"]):
                assert set(statement["Resource"]) <= {
                    "arn:aws:sqs:us-east-1:123456789012:ingest",
                    "arn:aws:sqs:us-east-1:123456789012:ingest-dlq",
                }


def _settings(resources: list[Declared], service: str) -> dict[str, str]:
    return {
        p.inputs["name"].rsplit("/", 1)[-1]: unwrap(p.inputs["value"])
        for p in of(resources, "aws:ssm/parameter:Parameter")
        if p.inputs["name"].split("/")[-2] == service
    }


def test_the_api_runs_no_jobs_and_the_workers_run_them_from_the_same_queue(
    ecs: list[Declared],
) -> None:
    api, worker = _settings(ecs, "app"), _settings(ecs, "worker")
    assert api["RAG_INGEST_WORKERS"] == "0"
    for settings in (api, worker):
        assert settings["RAG_QUEUE"] == "sqs"
        assert settings["RAG_SQS_QUEUE_URL"].endswith("/123456789012/ingest")
        assert settings["RAG_SQS_DEAD_LETTER_QUEUE_URL"].endswith("/123456789012/ingest-dlq")
        assert settings["RAG_QUEUE_MAX_ATTEMPTS"] == "5"
    assert "RAG_PORT" not in worker
    assert int(worker["RAG_WORKER_SHUTDOWN_SECONDS"]) < 120  # inside ECS's stopTimeout


def test_the_worker_service_has_its_own_task_size_and_no_port(ecs: list[Declared]) -> None:
    task = named(ecs, "aws:ecs/taskDefinition:TaskDefinition", "worker").inputs
    api_task = named(ecs, "aws:ecs/taskDefinition:TaskDefinition", "app").inputs
    assert (task["cpu"], task["memory"]) == ("2048", "8192")
    assert int(task["memory"]) > int(api_task["memory"])
    (container,) = json.loads(task["containerDefinitions"])
    assert container["command"] == ["worker"]
    assert container["entryPoint"] == ["rag-app"]
    assert "portMappings" not in container
    assert container["stopTimeout"] == 120
    assert container["readonlyRootFilesystem"] is True
    service = named(ecs, "aws:ecs/service:Service", "worker").inputs
    assert service["desiredCount"] == 0
    assert "loadBalancers" not in service
    assert service["networkConfiguration"]["assignPublicIp"] is False


def test_workers_scale_on_backlog_per_task_from_and_to_zero(ecs: list[Declared]) -> None:
    target = named(ecs, "aws:appautoscaling/target:Target", "worker").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (0, 4)
    backlog = named(ecs, "aws:appautoscaling/policy:Policy", "worker-backlog").inputs
    tracking = backlog["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 5
    metrics = {m["id"]: m for m in tracking["customizedMetricSpecification"]["metrics"]}
    assert metrics["backlog_per_task"]["expression"] == "(visible + inflight) / tasks"
    visible = metrics["visible"]["metricStat"]["metric"]
    assert (visible["namespace"], visible["metricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert visible["dimensions"] == [{"name": "QueueName", "value": "ingest"}]
    first = named(ecs, "aws:appautoscaling/policy:Policy", "worker-first-task")
    alarm = named(ecs, "aws:cloudwatch/metricAlarm:MetricAlarm", "worker-jobs-without-workers")
    assert alarm.inputs["alarmActions"] == [f"arn:aws:mock:us-east-1:123456789012:{first.name}"]
    queries = {q["id"]: q for q in alarm.inputs["metricQueries"]}
    assert queries["waiting_unserved"]["expression"] == "IF(FILL(tasks, 0) == 0, visible, 0)"


def test_the_queue_has_alarms_on_its_oldest_job_and_its_dead_letters(
    ecs: list[Declared],
) -> None:
    oldest = named(ecs, "aws:cloudwatch/metricAlarm:MetricAlarm", "queue-oldest-job").inputs
    assert (oldest["namespace"], oldest["metricName"]) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
    )
    assert oldest["dimensions"] == {"QueueName": "ingest"}
    assert oldest["threshold"] == 3600
    dead = named(ecs, "aws:cloudwatch/metricAlarm:MetricAlarm", "queue-dead-letters").inputs
    assert dead["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead["dimensions"] == {"QueueName": "ingest-dlq"}
    assert (dead["threshold"], dead["comparisonOperator"]) == (0, "GreaterThanThreshold")

"""The chart's ingestion workers as the eks stack renders them: a hardened Deployment of
`rag-app worker` with its own service account, no port and no inbound traffic, scaled by a
KEDA ScaledObject on the SQS queue; the API's Service and autoscaler never select it."""

from __future__ import annotations

from typing import Any

import pytest

from policy.graph import Declared
from tests.infra.test_chart import chart, render, stack_values, validate_all  # noqa: F401 - fixtures
from tests.support.helm_chart import HelmChart
from tests.support.pulumi_stacks import of, record

WORKER = {"app.kubernetes.io/component": "worker"}


def _worker_objects(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = [
        o
        for o in objects
        if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "worker"
    ]
    kinds = [o["kind"] for o in found]
    assert len(kinds) == len(set(kinds)), kinds
    return {o["kind"]: o for o in found}


def test_the_stack_renders_a_hardened_worker_scaled_on_the_queue(
    chart: HelmChart,  # noqa: F811
    stack_values: dict[str, Any],  # noqa: F811
) -> None:
    objects = render(chart, stack_values)
    validate_all(objects)
    workers = _worker_objects(objects)
    assert set(workers) == {
        "Deployment",
        "ServiceAccount",
        "NetworkPolicy",
        "ScaledObject",
        "TriggerAuthentication",
    }
    deployment = workers["Deployment"]["spec"]
    assert "replicas" not in deployment  # KEDA owns it
    pod = deployment["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["rag-app", "worker"]
    assert "ports" not in container
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["serviceAccountName"] == "rag-app-worker" != stack_values["serviceAccount"]["name"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert int(env["RAG_WORKER_SHUTDOWN_SECONDS"]) < pod["terminationGracePeriodSeconds"]
    assert container["resources"]["limits"]["memory"] == "4Gi"
    assert workers["NetworkPolicy"]["spec"]["ingress"] == []
    api = next(o for o in objects if o["kind"] == "Service")
    labels = pod["containers"] and deployment["template"]["metadata"]["labels"]
    assert not set(api["spec"]["selector"].items()) <= set(labels.items())
    scaled = workers["ScaledObject"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == workers["Deployment"]["metadata"]["name"]
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (0, 4)
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    assert trigger["metadata"]["queueURL"].endswith("/123456789012/ingest")
    assert trigger["metadata"]["queueLength"] == "5"
    assert workers["TriggerAuthentication"]["spec"] == {"podIdentity": {"provider": "aws"}}


def test_the_api_deployment_runs_no_jobs_and_shares_the_queue_settings(
    stack_values: dict[str, Any],  # noqa: F811
) -> None:
    env = stack_values["env"]
    assert env["RAG_INGEST_WORKERS"] == "0"
    assert env["RAG_QUEUE"] == "sqs"
    assert env["RAG_SQS_QUEUE_URL"] == stack_values["worker"]["queueUrl"]


@pytest.fixture(scope="module")
def eks() -> list[Declared]:
    return record("eks")


def test_keda_is_installed_and_each_role_gets_only_its_queue_actions(eks: list[Declared]) -> None:
    import json

    charts = {c.name: c.inputs for c in of(eks, "kubernetes:helm.sh/v4:Chart")}
    assert charts["worker-keda"]["chart"] == "keda"
    assert charts["worker-keda"]["repositoryOpts"] == {"repo": "https://kedacore.github.io/charts"}
    associations = {
        a.inputs["serviceAccount"]: a.inputs
        for a in of(eks, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    assert set(associations) == {"rag-app", "rag-app-init", "rag-app-worker", "keda-operator"}
    policies = {
        p.name: json.loads(p.inputs["policy"]) for p in of(eks, "aws:iam/rolePolicy:RolePolicy")
    }

    def sqs(name: str) -> set[str]:
        return {
            a
            for s in policies[name]["Statement"]
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
            if a.startswith("sqs:")
        }

    assert sqs("app") | sqs("app-queue") == {"sqs:SendMessage", "sqs:GetQueueAttributes"}
    assert "sqs:ReceiveMessage" in sqs("worker")
    assert sqs("worker-keda") == {"sqs:GetQueueAttributes"}
    assert sqs("app-init") == set()  # init-db touches the database only

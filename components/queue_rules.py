"""Policy rules for the ingestion queue, over the resources a program declares (as the
rules in components/policies.py, which registers them): queues encrypted, TLS-only, with a
dead-letter queue; queue permissions named and never wildcards."""

from __future__ import annotations

import json
from typing import Any

from components.plan import Declared

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
ROLE_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")


def _queues(resources: list[Declared]) -> list[Declared]:
    return [r for r in resources if r.type == QUEUE]


def _redrive(queue: Declared) -> dict[str, Any] | None:
    raw = queue.inputs.get("redrivePolicy")
    if not raw:
        return None
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    return parsed if isinstance(parsed, dict) else None


def queues_encrypted(resources: list[Declared]) -> list[str]:
    return [
        f"SQS queue {q.name}: no server-side encryption"
        for q in _queues(resources)
        if q.inputs.get("sqsManagedSseEnabled") is not True and not q.inputs.get("kmsMasterKeyId")
    ]


def queues_have_dead_letters(resources: list[Declared]) -> list[str]:
    """Every queue that is not itself a dead-letter target redrives to one, after a bounded
    number of receipts."""
    redrives = {q.name: _redrive(q) for q in _queues(resources)}
    targets = {str(r.get("deadLetterTargetArn", "")) for r in redrives.values() if r}
    problems = []
    for queue in _queues(resources):
        if any(t.endswith(f":{queue.name}") for t in targets):
            continue  # a dead-letter queue
        redrive = redrives[queue.name]
        if redrive is None or int(redrive.get("maxReceiveCount", 0)) < 1:
            problems.append(f"SQS queue {queue.name}: no dead-letter queue (redrive policy)")
    return problems


def queues_tls_only(resources: list[Declared]) -> list[str]:
    policies = [p for p in resources if p.type == QUEUE_POLICY]
    problems = []
    for queue in _queues(resources):
        # Queue URLs end with the queue's name (components/plan.py's mocks, and AWS).
        mine = [p for p in policies if str(p.inputs.get("queueUrl")).endswith(f"/{queue.name}")]
        if not any("aws:SecureTransport" in str(p.inputs.get("policy")) for p in mine):
            problems.append(f"SQS queue {queue.name}: no TLS-only queue policy")
    return problems


def queue_permissions_named(resources: list[Declared]) -> list[str]:
    """SQS actions granted one by one, on named queues: never ``sqs:*`` or Resource ``*``."""
    problems = []
    for policy in (r for r in resources if r.type in ROLE_POLICIES):
        document = policy.inputs.get("policy", "{}")
        parsed = json.loads(document) if isinstance(document, str) else document
        statements = parsed.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            if statement.get("Effect") != "Allow" or not any(a.startswith("sqs:") for a in actions):
                continue
            targets = statement.get("Resource", [])
            targets = targets if isinstance(targets, list) else [targets]
            if any("*" in a for a in actions) or any(
                not str(t).startswith("arn:aws:sqs:") for t in targets
            ):
                problems.append(f"IAM policy {policy.name}: SQS access not limited to named queues")
    return problems

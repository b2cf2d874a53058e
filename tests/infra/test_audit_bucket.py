"""Option 1's audit store in the ECS stack: a bucket created with Object Lock (compliance
mode, retention from the stack config), the app's role allowed to append and read under
the audit prefix and nothing that deletes or unlocks, and the rule that holds every stack
to it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy.graph import Declared
from policy.rules import PolicyConfig
from policy.rules import audit_store_append_only as rule
from tests.support.pulumi_stacks import of, record, replace

pytestmark = pytest.mark.slow  # records the ECS stack again (test_pulumi_program does too)
AUDIT_ARN = "arn:aws:s3:::audit-bucket"  # as the recording mocks name it


def audit_store_append_only(resources: list[Declared]) -> list[str]:
    return [finding.message for finding in rule(resources, PolicyConfig())]


@pytest.fixture(scope="module")
def ecs() -> list[Declared]:
    return record("ecs")


def _named(resources: list[Declared], type_: str, name: str) -> Declared:
    (found,) = [r for r in of(resources, type_) if r.name == name]
    return found


def test_the_audit_bucket_is_locked_in_compliance_mode(ecs: list[Declared]) -> None:
    bucket = _named(ecs, "aws:s3/bucket:Bucket", "audit")
    assert bucket.inputs["objectLockEnabled"] is True
    lock = _named(
        ecs, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "audit"
    )
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 2555}
    versioning = _named(ecs, "aws:s3/bucketVersioning:BucketVersioning", "audit")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert audit_store_append_only(ecs) == []


def test_the_app_may_only_append_and_read_the_audit_trail(ecs: list[Declared]) -> None:
    statements = [
        s
        for p in of(ecs, "aws:iam/rolePolicy:RolePolicy")
        for s in json.loads(p.inputs["policy"])["Statement"]
        if any(str(r).startswith(AUDIT_ARN) for r in s.get("Resource", []))
    ]
    assert {a for s in statements for a in s["Action"]} == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
    }
    task = next(t for t in of(ecs, "aws:ecs/taskDefinition:TaskDefinition") if t.name == "app")
    secrets = json.loads(task.inputs["containerDefinitions"])[0].get("secrets", [])
    assert "RAG_AUDIT_BUCKET" in {s["name"] for s in secrets}


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "s3:*", "Resource": f"{AUDIT_ARN}/*"},
        {"Effect": "Allow", "Action": ["s3:DeleteObjectVersion"], "Resource": [f"{AUDIT_ARN}/*"]},
        {"Effect": "Allow", "Action": ["s3:PutObjectRetention"], "Resource": ["*"]},
        {
            "Effect": "Allow",
            "Action": ["s3:PutBucketObjectLockConfiguration"],
            "Resource": AUDIT_ARN,
        },
    ],
)
def test_the_rule_refuses_any_grant_to_delete_or_unlock(
    ecs: list[Declared], statement: dict[str, Any]
) -> None:
    broken = replace(
        ecs, "aws:iam/rolePolicy:RolePolicy", policy=json.dumps({"Statement": [statement]})
    )
    assert audit_store_append_only(broken)


def test_the_rule_refuses_an_audit_bucket_without_a_compliance_lock(ecs: list[Declared]) -> None:
    governance = replace(
        ecs,
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        rule={"defaultRetention": {"mode": "GOVERNANCE", "days": 1}},
    )
    assert audit_store_append_only(governance) == [
        "audit bucket audit: no compliance-mode default retention"
    ]
    unlocked = [
        r
        for r in ecs
        if r.type != "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    ]
    assert audit_store_append_only(unlocked)

"""Pieces of the deploy-true stacks that are plain code: the EKS support calendar, the
Bedrock resources a model id needs, the WAF rules, the image build's context tag and its
runner (the real boto3 CodeBuild and ECR clients against moto's server)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import eks_versions
from components.bedrock_models import UnsupportedModelId, model_resource_arns
from components.config import WafConfig
from components.image_build import context_files, context_tag
from components.image_build_run import BuildFailed, build_image, pushed_digest
from components.waf import BODY_SIZE_RULE, web_acl_rules
from policy import rules
from tests.conftest import local_client
from tests.support.pulumi_stacks import ROOT


def test_the_committed_eks_stack_is_in_standard_support_today() -> None:
    """Fails the day the committed version's standard support ends: bump it then (the
    calendar: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html)."""
    config = yaml.safe_load((ROOT / "Pulumi.eks.yaml").read_text())["config"]
    version = config["rag:eks"]["kubernetesVersion"]
    today = dt.datetime.now(dt.UTC).date()
    assert eks_versions.in_standard_support(version, today), eks_versions.support_problem(
        version, today
    )


def test_the_calendar_knows_when_each_version_leaves_standard_support() -> None:
    assert eks_versions.in_standard_support("1.35", dt.date(2027, 3, 26))
    assert not eks_versions.in_standard_support("1.35", dt.date(2027, 3, 27))
    assert not eks_versions.in_standard_support("1.33", dt.date(2026, 12, 3))
    problem = eks_versions.support_problem("1.34", dt.date(2026, 12, 3))
    assert problem is not None
    assert "$0.60/h instead of $0.10/h" in problem
    assert "1.35" in problem
    assert "not in the EKS calendar" in str(eks_versions.support_problem("1.29", dt.date.today()))
    # The policy pack carries its own copy of the calendar: the same dates.
    assert rules.END_OF_STANDARD_SUPPORT == eks_versions.END_OF_STANDARD_SUPPORT


def test_the_policy_packs_copies_of_program_constants_agree() -> None:
    from components.eks_cluster import CONTROL_PLANE_LOGS
    from components.eks_service import POD_IDENTITY_AGENT
    from components.https import TLS_POLICY
    from components.waf import MANAGED_GROUPS
    from rag_app import metrics
    from rag_app.vectorstores.records import NON_FILTERABLE_FIELDS

    assert tuple(CONTROL_PLANE_LOGS) == rules.CONTROL_PLANE_LOGS
    assert rules.NON_FILTERABLE_FIELDS == NON_FILTERABLE_FIELDS
    assert rules.TLS13_POLICY == TLS_POLICY
    assert rules.POD_IDENTITY_AGENT == POD_IDENTITY_AGENT
    assert rules.MANAGED_GROUPS == MANAGED_GROUPS
    assert set(rules.APP_METRICS) <= {metrics.INGESTION_FAILURES, metrics.BEDROCK_THROTTLES}


def test_a_foundation_model_is_one_arn_without_an_account() -> None:
    assert model_resource_arns("amazon.nova-lite-v1:0", region="us-east-1", account="1") == [
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
    ]


def test_an_inference_profile_needs_its_arn_and_the_model_in_every_destination() -> None:
    arns = model_resource_arns("eu.amazon.nova-lite-v1:0", region="eu-west-1", account="42")
    assert arns[0] == "arn:aws:bedrock:eu-west-1:42:inference-profile/eu.amazon.nova-lite-v1:0"
    assert arns[1:] == [
        f"arn:aws:bedrock:{r}::foundation-model/amazon.nova-lite-v1:0"
        for r in ("eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3")
    ]


@pytest.mark.parametrize(
    ("model_id", "region", "message"),
    [
        ("global.anthropic.claude-sonnet-4-v1:0", "us-east-1", "global. inference profiles"),
        ("us.amazon.nova-lite-v1:0", "eu-west-1", "called from us-east-1"),
        ("arn:aws:bedrock:us-east-1:1:application-inference-profile/x", "us-east-1", "not an ARN"),
        ("nova lite", "us-east-1", "not a Bedrock model id"),
        ("us.", "us-east-1", "not <geo>.<provider>.<model>"),
    ],
)
def test_unsupported_model_ids_are_refused_with_a_message(
    model_id: str, region: str, message: str
) -> None:
    with pytest.raises(UnsupportedModelId, match=message.replace(".", r"\.")):
        model_resource_arns(model_id, region=region, account="1")


def test_the_web_acl_limits_each_ip_and_lets_uploads_through() -> None:
    acl = web_acl_rules(WafConfig(rate_limit=500, evaluation_window_seconds=60))
    assert acl[0]["statement"]["rate_based_statement"] == {
        "limit": 500,
        "aggregate_key_type": "IP",
        "evaluation_window_sec": 60,
    }
    crs = next(r for r in acl if r["name"] == "AWSManagedRulesCommonRuleSet")
    overrides = crs["statement"]["managed_rule_group_statement"]["rule_action_overrides"]
    assert overrides == [{"name": BODY_SIZE_RULE, "action_to_use": {"count": {}}}]
    last = acl[-1]["statement"]["and_statement"]["statements"]
    assert "SizeRestrictions_Body" in last[0]["label_match_statement"]["key"]
    assert [r["priority"] for r in acl] == list(range(len(acl)))


def test_the_image_tag_is_the_build_contexts_hash(tmp_path: Path) -> None:
    for name in ("Dockerfile", "pyproject.toml", "uv.lock", "README.md"):
        (tmp_path / name).write_text(name)
    (tmp_path / "rag_app" / "__pycache__").mkdir(parents=True)
    (tmp_path / "rag_app" / "app.py").write_text("print(1)\n")
    (tmp_path / "rag_app" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in context_files(tmp_path)] == [
        "Dockerfile",
        "README.md",
        "pyproject.toml",
        "rag_app/app.py",
        "uv.lock",
    ]
    first = context_tag(tmp_path)
    assert first == context_tag(tmp_path)
    (tmp_path / "tests" / "test_x.py").write_text("changed")  # not in the image
    assert context_tag(tmp_path) == first
    (tmp_path / "rag_app" / "app.py").write_text("print(2)\n")
    assert context_tag(tmp_path) != first
    assert first.startswith("src-")
    assert len(first) == len("src-") + 16


@pytest.fixture
def aws_build(moto_s3: Any) -> tuple[Any, Any]:
    endpoint = moto_s3.meta.endpoint_url
    ecr = local_client("ecr", endpoint)
    codebuild = local_client("codebuild", endpoint)
    for repo in ecr.describe_repositories()["repositories"]:
        ecr.delete_repository(repositoryName=repo["repositoryName"], force=True)
    ecr.create_repository(repositoryName="app", imageTagMutability="IMMUTABLE")
    return codebuild, ecr


def _push(ecr: Any, tag: str) -> str:
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "config": {"digest": "sha256:" + "1" * 64, "size": 1}, "layers": []}
    )  # fmt: skip
    ecr.put_image(repositoryName="app", imageManifest=manifest, imageTag=tag)
    return pushed_digest(ecr, "app", tag) or ""


def test_an_image_already_built_from_this_context_is_not_built_again(
    aws_build: tuple[Any, Any],
) -> None:
    codebuild, ecr = aws_build
    digest = _push(ecr, "src-0123456789abcdef")
    assert digest.startswith("sha256:")
    assert build_image(
        codebuild, ecr, project="rag-build", repository="app", tag="src-0123456789abcdef",
        source="bucket/source/src-0123456789abcdef.zip",
    ) == digest  # fmt: skip
    assert codebuild.list_builds()["ids"] == []


def test_a_build_that_pushes_nothing_fails_with_where_to_look(aws_build: tuple[Any, Any]) -> None:
    codebuild, ecr = aws_build
    role = "arn:aws:iam::123456789012:role/build"
    codebuild.create_project(
        name="rag-build",
        source={"type": "S3", "location": "bucket/source/x.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "ARM_CONTAINER", "image": "img", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=role,
    )  # fmt: skip
    assert pushed_digest(ecr, "app", "src-ffffffffffffffff") is None
    with pytest.raises(BuildFailed) as failure:
        build_image(
            codebuild, ecr, project="rag-build", repository="app", tag="src-ffffffffffffffff",
            source="bucket/source/src-ffffffffffffffff.zip", poll_seconds=0.01,
            timeout_seconds=30,
        )  # fmt: skip
    message = str(failure.value)
    assert "rag-build" in message
    assert "src-ffffffffffffffff" in message or "ended" in message
    assert len(codebuild.list_builds()["ids"]) == 1


def test_the_digest_in_the_mocks_is_well_formed() -> None:
    from policy.plan import MOCK_DIGEST

    assert hashlib.sha256().hexdigest().__len__() == len(MOCK_DIGEST)

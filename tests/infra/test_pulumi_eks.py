"""Option 2 under Pulumi's mocks: Aurora Serverless v2 with pgvector, EKS in Auto Mode, Pod
Identity for the chart's service account, and the chart's values from app_environment()."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.app_environment import AppTargets, DatabaseTarget, QueueTarget, app_environment
from components.config import ConfigError, ModelsConfig, parse_stack_config
from components.deploy import API_RUNS_NO_JOBS
from components.eks_service import LOAD_BALANCER_NAME, load_balancer_name, split_image
from policy.plan import Declared, stack_file_config, summary
from rag_app.settings import Settings
from tests.support.pulumi_stacks import ROOT, of, one, record

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-db"
DB_HOST = "db.cluster-abc.us-east-1.rds.amazonaws.com"
API_KEYS_ARN = "arn:aws:mock:us-east-1:123456789012:api-keys"
DATA_KEY = "arn:aws:kms:us-east-1:123456789012:key/0000aaaa-data"  # the mocks' ARN


@pytest.fixture(scope="module")
def eks() -> list[Declared]:
    return record("eks")


@pytest.fixture(scope="module")
def eks_dev() -> list[Declared]:
    config = stack_file_config("eks")
    aurora = json.loads(config["rag:aurora"])
    config["rag:aurora"] = json.dumps({**aurora, "dev": True, "minCapacity": 0})
    config["rag:dev"] = "true"
    return record("eks", config)


def app_side(resources: list[Declared]) -> list[Declared]:
    """Without the ingestion workers' resources (KEDA, their roles: test_pulumi_queue.py)."""
    return [r for r in resources if not r.name.startswith("worker") and r.name != "app-queue"]


def chart_values(resources: list[Declared]) -> dict[str, Any]:
    return dict(one(app_side(resources), "kubernetes:helm.sh/v4:Chart").inputs["values"])


def test_option_2_declares_its_components_and_nothing_of_option_1(eks: list[Declared]) -> None:
    types = {r.type for r in eks}
    assert {
        "rag:components:Network",
        "rag:components:DocumentBucket",
        "rag:components:ImageBuild",
        "kubernetes:batch/v1:Job",
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:eks.amazonaws.com/v1:NodeClass",
        "kubernetes:karpenter.sh/v1:NodePool",
        "aws:eks/addon:Addon",
        "rag:components:AuroraPgvector",
        "rag:components:EksCluster",
        "rag:components:EksService",
        "eks:index:Cluster",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "kubernetes:helm.sh/v4:Chart",
        "kubernetes:networking.k8s.io/v1:IngressClass",
        "kubernetes:eks.amazonaws.com/v1:IngressClassParams",
    } <= types
    assert not any(t.startswith(("aws:ecs/", "aws:s3/vectors", "aws:lb/")) for t in types)
    addons = {a.inputs["addonName"] for a in of(eks, "aws:eks/addon:Addon")}
    assert addons == {"metrics-server", "amazon-cloudwatch-observability"}
    endpoints = {
        e.inputs["serviceName"].split(".", 3)[-1]
        for e in of(eks, "aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert {"eks", "eks-auth", "ec2", "elasticloadbalancing", "bedrock-runtime"} <= endpoints
    assert "s3vectors" not in endpoints


def test_aurora_is_serverless_v2_encrypted_private_and_protected(eks: list[Declared]) -> None:
    db = one(eks, "aws:rds/cluster:Cluster").inputs
    assert (db["engine"], db["engineMode"], db["engineVersion"]) == (
        "aurora-postgresql",
        "provisioned",
        "16.8",
    )
    assert db["storageEncrypted"] is True
    assert db["manageMasterUserPassword"] is True
    assert db["iamDatabaseAuthenticationEnabled"] is True
    assert db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == "rag-eks-db-final"
    assert db["backupRetentionPeriod"] == 7
    assert db["enabledCloudwatchLogsExports"] == ["postgresql"]
    assert db["serverlessv2ScalingConfiguration"] == {"minCapacity": 0.5, "maxCapacity": 4}
    writer, reader = (i.inputs for i in of(eks, "aws:rds/clusterInstance:ClusterInstance"))
    assert writer["instanceClass"] == reader["instanceClass"] == "db.serverless"
    assert writer["publiclyAccessible"] is reader["publiclyAccessible"] is False
    assert {writer["availabilityZone"], reader["availabilityZone"]} == {"us-east-1a", "us-east-1b"}
    cluster = one(eks, "aws:rds/cluster:Cluster")
    assert "engineVersion" in cluster.ignore_changes  # AWS's minor upgrades are not undone
    assert cluster.protect
    assert cluster.retain_on_delete
    assert db["kmsKeyId"] == DATA_KEY
    subnets = one(eks, "aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"]
    assert subnets == ["rag-private-0-id", "rag-private-1-id"]
    parameters = one(eks, "aws:rds/clusterParameterGroup:ClusterParameterGroup").inputs
    assert parameters["family"] == "aurora-postgresql16"
    assert {"name": "rds.force_ssl", "value": "1"} in parameters["parameters"]
    logs = {g.inputs.get("name"): g.inputs for g in of(eks, "aws:cloudwatch/logGroup:LogGroup")}
    assert logs["/aws/rds/cluster/rag-eks-db/postgresql"]["retentionInDays"] == 30


def test_no_password_reaches_config_or_state(eks: list[Declared]) -> None:
    recorded = json.dumps([r.inputs for r in eks]).lower()
    assert "masterpassword" not in recorded
    assert '"password"' not in recorded
    assert "password" not in json.dumps(chart_values(eks)).lower()


def test_only_the_pods_reach_the_database(eks: list[Declared]) -> None:
    db_group = one(eks, "aws:rds/cluster:Cluster").inputs["vpcSecurityGroupIds"]
    rules = [
        r.inputs
        for r in of(eks, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if [r.inputs["securityGroupId"]] == db_group
    ]
    assert rules == [
        {
            "securityGroupId": "db-id",
            "referencedSecurityGroupId": "sg-eks-cluster",
            "ipProtocol": "tcp",
            "fromPort": 5432,
            "toPort": 5432,
            "description": "PostgreSQL from the app",
        }
    ]
    group = next(g for g in of(eks, "aws:ec2/securityGroup:SecurityGroup") if g.name == "db")
    assert "ingress" not in group.inputs


def test_a_dev_stack_may_pause_and_be_destroyed(eks_dev: list[Declared]) -> None:
    db = one(eks_dev, "aws:rds/cluster:Cluster").inputs
    assert db["deletionProtection"] is False
    assert db["skipFinalSnapshot"] is True
    assert db["serverlessv2ScalingConfiguration"] == {
        "minCapacity": 0,
        "maxCapacity": 4,
        "secondsUntilAutoPause": 3600,
    }


def test_cluster_is_auto_mode_api_auth_logged_encrypted(eks: list[Declared]) -> None:
    cluster = one(eks, "eks:index:Cluster").inputs
    assert cluster["autoMode"]["enabled"] is True
    assert cluster["authenticationMode"] == "API"
    assert sorted(cluster["enabledClusterLogTypes"]) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )
    key = next(k for k in of(eks, "aws:kms/key:Key") if k.name == "eks-secrets")
    assert (
        cluster["encryptionConfigKeyArn"]
        == "arn:aws:kms:us-east-1:123456789012:key/0000aaaa-eks-secrets"
    )
    assert cluster["version"] == "1.35"
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}
    assert key.inputs["enableKeyRotation"] is True
    assert cluster["endpointPrivateAccess"] is True
    assert cluster["publicAccessCidrs"] == ["203.0.113.10/32"]
    assert cluster["privateSubnetIds"] == ["rag-private-0-id", "rag-private-1-id"]
    ingress_class = one(eks, "kubernetes:networking.k8s.io/v1:IngressClass").inputs
    assert ingress_class["spec"]["controller"] == "eks.amazonaws.com/alb"
    params = one(eks, "kubernetes:eks.amazonaws.com/v1:IngressClassParams").inputs
    assert params["spec"]["scheme"] == "internet-facing"
    validation = one(eks, "aws:acm/certificateValidation:CertificateValidation")
    assert params["spec"]["certificateARNs"] == [validation.inputs["certificateArn"]]
    assert chart_values(eks)["ingress"]["https"] is True
    assert ingress_class["spec"]["parameters"]["name"] == params["metadata"]["name"]


def test_pod_identity_binds_the_charts_service_account_to_a_scoped_role(
    eks: list[Declared],
) -> None:
    association = next(
        a.inputs
        for a in of(eks, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.name == "app"
    )
    values = chart_values(eks)
    chart = one(app_side(eks), "kubernetes:helm.sh/v4:Chart").inputs
    assert association["serviceAccount"] == values["serviceAccount"]["name"] == "rag-app"
    assert association["namespace"] == chart["namespace"] == "rag"
    assert association["clusterName"] == one(eks, "eks:index:Cluster").inputs["name"]
    role = next(r for r in of(eks, "aws:iam/role:Role") if r.name == "app")
    assert association["roleArn"] == f"arn:aws:mock:us-east-1:123456789012:{role.name}"
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    policy = json.loads(
        next(p for p in of(eks, "aws:iam/rolePolicy:RolePolicy") if p.name == "app").inputs[
            "policy"
        ]
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {
        "Documents",
        "DocumentsList",
        "Models",
        "ApiKeys",
        "DocumentAnalysis",
        "Rerank",
        "RerankModel",
        "DatabaseConnect",
        "DataKey",
        "SessionSecret",
    }
    assert by_sid["ApiKeys"]["Resource"] == [API_KEYS_ARN]
    # The pods log in as the least-privilege user only; the master secret is the init
    # Job's role's alone.
    assert by_sid["DatabaseConnect"] == {
        "Sid": "DatabaseConnect",
        "Effect": "Allow",
        "Action": ["rds-db:connect"],
        "Resource": [
            "arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-ABCDEFGHIJKL0123456789/rag_app"
        ],
    }
    init = json.loads(
        next(p for p in of(eks, "aws:iam/rolePolicy:RolePolicy") if p.name == "app-init").inputs[
            "policy"
        ]
    )
    assert {s["Sid"] for s in init["Statement"]} >= {"DatabaseLogin"}
    assert "DatabaseConnect" not in {s["Sid"] for s in init["Statement"]}
    namespace = one(app_side(eks), "kubernetes:core/v1:Namespace").inputs["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_chart_values_carry_exactly_the_app_environment(
    eks: list[Declared], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = app_environment(
        AppTargets(
            region="us-east-1",
            documents_bucket="documents-bucket",
            api_keys_secret=API_KEYS_ARN,
            database=DatabaseTarget(host=DB_HOST, secret_arn=SECRET_ARN, iam_user="rag_app"),
            queue=QueueTarget(
                url="https://sqs.us-east-1.amazonaws.com/123456789012/ingest",
                dead_letter_url="https://sqs.us-east-1.amazonaws.com/123456789012/ingest-dlq",
                max_receive_count=5,
                visibility_timeout_seconds=120,
            ),
        ),
        ModelsConfig(answer_model_id="us.amazon.nova-lite-v1:0"),
    )
    env = chart_values(eks)["env"]
    # SSO through the stack's Cognito pool: tests/infra/test_cognito_wiring.py.
    env = {k: v for k, v in env.items() if not k.startswith("RAG_OIDC_")}
    # Plus where the pods find the web sign-in key every replica shares.
    assert env == {
        **expected,
        **API_RUNS_NO_JOBS,
        "RAG_SESSION_SECRET_ID": "arn:aws:mock:us-east-1:123456789012:session",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert (settings.vector_store, settings.catalog) == ("pgvector", "postgres")
    assert settings.database_secret_arn is None
    assert (settings.database_iam_auth, settings.database_user) == (True, "rag_app")
    assert settings.database_url is None
    assert settings.needs_postgres


def test_the_chart_pulumi_deploys_is_the_one_in_the_repository(eks: list[Declared]) -> None:
    chart = one(app_side(eks), "kubernetes:helm.sh/v4:Chart").inputs
    assert (ROOT / chart["chart"] / "Chart.yaml").is_file()
    # The pushed image by digest (the build's output), never a tag.
    assert chart_values(eks)["image"] == {
        "repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
        "digest": "sha256:" + "0" * 64,
    }


def test_image_uris_split_into_chart_values() -> None:
    assert split_image("r.example:5000/app:1.2") == {
        "repository": "r.example:5000/app",
        "tag": "1.2",
    }
    digest = "sha256:" + "a" * 64
    assert split_image(f"r/app@{digest}") == {"repository": "r/app", "digest": digest}
    with pytest.raises(ValueError, match="no tag or digest"):
        split_image("r.example:5000/app")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"platform": "eks"}, "the rag:eks and rag:aurora sections are required"),
        (
            {"platform": "eks", "dev": True, "eks": {}, "aurora": {"engineVersion": "15.10"}},
            "rag:aurora.engineVersion: '15.10': pgvector 0.8 needs Aurora PostgreSQL 16.8",
        ),
        (
            {"platform": "eks", "dev": True, "eks": {}, "aurora": {"minCapacity": 0}},
            "minCapacity 0 (auto-pause; about 15 s to resume) is for dev stacks",
        ),
        (
            {"platform": "eks", "eks": {}, "aurora": {}},
            "rag:https needs domainName + hostedZone",
        ),
        (
            {
                "platform": "eks",
                "dev": True,
                "eks": {"publicAccessCidrs": ["0.0.0.0/0"]},
                "aurora": {},
            },
            "must not open the Kubernetes API to 0.0.0.0/0",
        ),
        (
            {"platform": "eks", "dev": True, "eks": {}, "aurora": {"maxCapacity": 300}},
            "rag:aurora.maxCapacity: Input should be less than or equal to 256",
        ),
        (
            {"platform": "eks", "dev": True, "eks": {"kubernetesVersion": "1.33"}, "aurora": {}},
            "'1.33' left EKS standard support on 2026-07-29",
        ),
        (
            {
                "platform": "eks",
                "https": {"certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"},
                "eks": {},
                "aurora": {"dev": True},
            },
            "rag:aurora.dev: true needs the whole stack marked rag:dev: true",
        ),
    ],
)
def test_bad_eks_config_names_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_stack_config(raw)
    assert message in str(info.value)


def test_the_committed_diagrams_match_the_program(eks: list[Declared]) -> None:
    committed = json.loads((ROOT / "docs" / "plan-eks.json").read_text())
    assert sorted((r["type"], r["name"]) for r in committed) == sorted(
        (r.type, r.name) for r in eks
    )
    assert f"```mermaid\n{summary(eks)}\n```" in (ROOT / "docs" / "plan-eks.md").read_text()


def test_the_ingress_alb_has_the_5xx_and_latency_alarms_on_its_fixed_name(
    eks: list[Declared],
) -> None:
    annotations = chart_values(eks)["ingress"]["annotations"]
    assert annotations == {LOAD_BALANCER_NAME: "rag-eks-app"}
    alarms = {a.name: a for a in of(eks, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {"alb-5xx", "alb-elb-5xx", "alb-p95-latency"} <= set(alarms)
    for name in ("alb-5xx", "alb-elb-5xx", "alb-p95-latency"):
        alarm = alarms[name]
        assert alarm.inputs["namespace"] == "AWS/ApplicationELB"
        # The controller's ALB, looked up by that name once the Ingress has an address.
        assert alarm.inputs["dimensions"] == {"LoadBalancer": "app/rag-eks-app/0123456789abcdef"}
        assert any(d.endswith("Ingress::app-ingress") for d in alarm.dependencies)
        assert alarm.inputs["alarmActions"]  # operational: they notify the topic
    assert alarms["alb-p95-latency"].inputs["extendedStatistic"] == "p95"


@pytest.mark.parametrize(
    ("stack", "name"),
    [
        ("eks", "rag-eks-app"),
        ("prod_eu.1", "rag-prod-eu-1-app"),
        ("a-very-long-stack-name-for-the-legal-team", "rag-a-very-long-stack-name-for-t"),
        ("x" * 40, "rag-" + "x" * 28),
    ],
)
def test_load_balancer_names_follow_elbs_rule(stack: str, name: str) -> None:
    made = load_balancer_name(stack)
    assert made == name
    assert len(made) <= 32
    assert re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", made)

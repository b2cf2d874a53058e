"""charts/rag-app rendered by the real Helm Go SDK (helm-python-sdk, in a process of its own:
tests/support/helm_chart.py), every object validated
against the Kubernetes OpenAPI schemas offline (kubernetes-validate, strict), the values
schema enforced, and checkov's Kubernetes checks run on what Pulumi would deploy."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.eks_versions import END_OF_STANDARD_SUPPORT, in_standard_support
from policy.graph import Declared
from tests.support.helm_chart import HelmChart, HelmRefused
from tests.support.pulumi_stacks import ROOT, of, record

CHART = ROOT / "charts" / "rag-app"
# Every Kubernetes version in EKS standard support today (Pulumi.eks.yaml runs one of them).
KUBERNETES = [
    f"{v}.0"
    for v in sorted(END_OF_STANDARD_SUPPORT)
    if in_standard_support(v, dt.datetime.now(dt.UTC).date())
]
IMAGE = {"image": {"repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"}}

# checkov findings we accept, each with its reason (the README's chart section repeats them).
ACCEPTED = {
    # The stacks pull by digest (components/image_build.py); a digest names one image, so
    # IfNotPresent cannot run a stale one and spares ECR pulls.
    "CKV_K8S_15": "imagePullPolicy IfNotPresent with images pinned by digest",
}


@pytest.fixture(scope="module")
def chart() -> Iterator[HelmChart]:
    loaded = HelmChart(CHART)
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def stack_values() -> dict[str, Any]:
    """The values Pulumi passes for the eks stack (recorded under mocks)."""
    resources: list[Declared] = record("eks")
    (app,) = [r for r in of(resources, "kubernetes:helm.sh/v4:Chart") if r.name == "app"]
    return dict(app.inputs["values"])


def render(chart: HelmChart, values: dict[str, Any]) -> list[dict[str, Any]]:
    files = chart.render(values)
    return [
        doc
        for path, text in sorted(files.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def is_worker(obj: dict[str, Any]) -> bool:
    """The ingestion workers' objects (tests/infra/test_chart_workers.py)."""
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "worker"


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The objects by kind, but the one-off tasks' CronJobs (one per task) and the workers'."""
    objects = [o for o in objects if o["kind"] != "CronJob" and not is_worker(o)]
    kinds = [o["kind"] for o in objects]
    assert len(kinds) == len(set(kinds)), kinds
    return {o["kind"]: o for o in objects}


def validate_all(objects: list[dict[str, Any]]) -> None:
    assert KUBERNETES, "no Kubernetes version is in EKS standard support: update the calendar"
    for version in KUBERNETES:
        for obj in objects:
            if obj["apiVersion"].startswith("keda.sh/"):
                continue  # KEDA's CRDs: checked in tests/infra/test_chart_workers.py
            kubernetes_validate.validate(obj, version, strict=True)


def test_default_values_need_an_image(chart: HelmChart) -> None:
    with pytest.raises(HelmRefused, match=r"image\.repository is required") as refused:
        render(chart, {})
    assert refused.value.kind == "HelmRenderError"


def test_defaults_render_valid_hardened_objects(chart: HelmChart) -> None:
    objects = render(chart, IMAGE)
    validate_all(objects)
    kinds = by_kind(objects)
    assert set(kinds) == {
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    }
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["resources"]["limits"]["memory"] == "2Gi"
    assert all(o["metadata"].get("namespace") == "rag" for o in objects)


def test_the_stacks_values_render_what_pulumi_wires_up(
    chart: HelmChart, stack_values: dict[str, Any]
) -> None:
    objects = render(chart, stack_values)
    validate_all(objects)
    kinds = by_kind(objects)
    assert kinds["ConfigMap"]["data"] == stack_values["env"]
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == stack_values["serviceAccount"]["name"]
    assert kinds["ServiceAccount"]["metadata"]["name"] == stack_values["serviceAccount"]["name"]
    (container,) = pod["containers"]
    assert container["image"] == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "0" * 64
    )
    assert container["envFrom"] == [
        {"configMapRef": {"name": kinds["ConfigMap"]["metadata"]["name"]}}
    ]
    ingress = kinds["Ingress"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"] == "ip"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == kinds["Service"]["metadata"]["name"]
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 4)
    policy = kinds["NetworkPolicy"]["spec"]
    assert policy["ingress"][0]["from"] == [{"ipBlock": {"cidr": "10.40.0.0/16"}}]
    egress = {
        (peer["ipBlock"]["cidr"], port["port"])
        for rule in policy["egress"]
        for peer in rule.get("to", [{"ipBlock": {"cidr": "any"}}])
        for port in rule["ports"]
    }
    # The pods keep their AWS credentials (Pod Identity agent), DNS, the database, HTTPS
    # to the VPC's endpoints and the S3 gateway's ranges, and nothing else.
    assert egress == {
        ("any", 53),
        ("169.254.170.23/32", 80),
        ("169.254.170.23/32", 2703),
        ("10.40.0.0/16", 443),
        ("3.5.0.0/19", 443),
        ("52.216.0.0/15", 443),
        ("10.40.0.0/16", 5432),
    }
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"].startswith("arn:aws:wafv2:")
    assert annotations["alb.ingress.kubernetes.io/ssl-policy"] == (
        "ELBSecurityPolicy-TLS13-1-2-2021-06"
    )
    assert ingress["spec"]["rules"][0]["host"] == "rag.example-legal.com"
    for kind in ("Deployment", "Ingress"):
        assert kinds[kind]["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == "900"


def test_https_ingress_redirects_and_a_digest_pins_the_image(chart: HelmChart) -> None:
    digest = "sha256:" + "ab" * 32
    values = {"image": {**IMAGE["image"], "digest": digest}, "ingress": {"https": True}}
    kinds = by_kind(render(chart, values))
    annotations = kinds["Ingress"]["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [
        {"HTTP": 80},
        {"HTTPS": 443},
    ]
    (container,) = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{IMAGE['image']['repository']}@{digest}"


def test_the_optional_migration_job_is_a_hardened_pre_install_hook(chart: HelmChart) -> None:
    objects = render(chart, {**IMAGE, "migration": {"enabled": True}})
    validate_all(objects)
    job = by_kind(objects)["Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["rag-app", "init-db"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({**IMAGE, "replicas": 3}, "additional properties 'replicas' not allowed"),
        ({**IMAGE, "ingress": {"clasName": "alb"}}, "additional properties 'clasName' not allowed"),
        ({**IMAGE, "replicaCount": "two"}, "got string, want integer"),
        ({**IMAGE, "env": {"RAG_DATABASE_PASSWORD": "x"}}, "invalid propertyName"),
        ({**IMAGE, "env": {"DATABASE_URL": "postgresql://u:p@h/db"}}, "invalid propertyName"),
        ({**IMAGE, "env": {"RAG_PORT": 8000}}, "got number, want string"),
        # The web sign-in key: the pods read it from Secrets Manager (RAG_SESSION_SECRET_ID).
        ({**IMAGE, "env": {"RAG_SESSION_SECRET": "x"}}, "invalid propertyName"),
        ({**IMAGE, "env": {"RAG_OIDC_CLIENT_SECRET": "x"}}, "invalid propertyName"),
        ({**IMAGE, "env": {"RAG_GITHUB_TOKEN": "x"}}, "invalid propertyName"),
    ],
)
def test_the_values_schema_refuses_unknown_and_secret_keys(
    chart: HelmChart, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmRefused, match=message) as refused:
        render(chart, values)
    assert refused.value.kind == "HelmValuesError"


def test_helm_lint_finds_no_errors(chart: HelmChart) -> None:
    result = chart.lint(IMAGE)
    assert result["errors"] == []
    assert [m for m in result["messages"] if m["severity"] > 1] == []


@pytest.mark.needs_tool("checkov")
def test_checkov_kubernetes_checks_pass_on_the_stacks_manifests(
    chart: HelmChart, stack_values: dict[str, Any], tmp_path: Path
) -> None:
    checkov = os.environ.get("CHECKOV", "checkov")
    values = {**stack_values, "migration": {"enabled": True}}  # scan the Job's pod too
    manifest = tmp_path / "rag-app.yaml"
    manifest.write_text(yaml.safe_dump_all(render(chart, values)))
    command = [checkov, "--framework", "kubernetes", "--file", str(manifest)]
    command += ["--output", "json", "--skip-download", "--quiet"]
    command += ["--skip-check", ",".join(ACCEPTED)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    report = json.loads(result.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 80
    print(f"checkov: {report['summary']['passed']} passed, skipped {sorted(ACCEPTED)}")


def test_replicas_spread_over_nodes_and_zones_on_the_stacks_architecture(
    chart: HelmChart, stack_values: dict[str, Any]
) -> None:
    pod = by_kind(render(chart, stack_values))["Deployment"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {
        "kubernetes.io/arch": "amd64",
        "karpenter.sh/nodepool": "rag-app",  # the NodeClass that enforces NetworkPolicies
    }
    keys = [c["topologyKey"] for c in pod["topologySpreadConstraints"]]
    assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    alone = by_kind(render(chart, {**IMAGE, "spreadAcrossNodes": False}))
    assert "topologySpreadConstraints" not in alone["Deployment"]["spec"]["template"]["spec"]


def test_one_off_tasks_are_suspended_cronjobs_with_the_apps_pod(
    chart: HelmChart, stack_values: dict[str, Any]
) -> None:
    values = {
        **stack_values,
        "networkPolicy": {**stack_values["networkPolicy"], "migrationSourceCidr": "192.168.0.0/16"},
    }
    objects = render(chart, values)
    validate_all(objects)
    crons = {o["metadata"]["name"]: o for o in objects if o["kind"] == "CronJob"}
    assert set(crons) == {"rag-app-migrate", "rag-app-migrate-dry-run", "rag-app-init-db"}
    migrate = crons["rag-app-migrate-dry-run"]
    assert migrate["spec"]["suspend"] is True
    pod = migrate["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == stack_values["serviceAccount"]["name"]
    (container,) = pod["containers"]
    assert (container["command"], container["args"]) == (
        ["rag-app"],
        ["migrate", "from-postgres", "--dry-run"],
    )
    env = {e["name"]: e for e in container["env"]}
    assert env["MIGRATE_SOURCE_URL_FILE"]["value"] == "/run/secrets/migration-source/url"
    assert env["MIGRATE_MAPPING"]["valueFrom"]["configMapKeyRef"]["optional"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["migration-source"]["secret"]["optional"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    policy = by_kind([o for o in objects if o["kind"] == "NetworkPolicy"])["NetworkPolicy"]
    assert {"ipBlock": {"cidr": "192.168.0.0/16"}} in policy["spec"]["egress"][-1]["to"]


def test_jobs_are_not_counted_as_the_servers_replicas(
    chart: HelmChart, stack_values: dict[str, Any]
) -> None:
    objects = render(chart, {**stack_values, "migration": {"enabled": True}})
    kinds = by_kind(objects)
    selector = kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "server"
    assert kinds["Service"]["spec"]["selector"] == selector
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    pods = [kinds["Job"]["spec"]["template"]] + [
        o["spec"]["jobTemplate"]["spec"]["template"] for o in objects if o["kind"] == "CronJob"
    ]
    for pod in pods:
        labels = pod["metadata"]["labels"]
        assert not all(labels.get(k) == v for k, v in selector.items())
    # The NetworkPolicy still covers every pod of the release, jobs included.
    policy = kinds["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
    assert "app.kubernetes.io/component" not in policy


def test_every_replica_reads_the_one_session_secret(
    chart: HelmChart, stack_values: dict[str, Any]
) -> None:
    """All pods get the same RAG_SESSION_SECRET_ID (from the ConfigMap every replica mounts),
    so a sign-in sealed by one pod opens on the next; the key itself is never in a value."""
    objects = render(chart, stack_values)
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap" and "data" in o]
    secret_id = config_map["data"]["RAG_SESSION_SECRET_ID"]
    assert secret_id == "arn:aws:mock:us-east-1:123456789012:session"
    assert "RAG_SESSION_SECRET" not in config_map["data"]
    kinds = by_kind(objects)  # the API's Deployment; the workers serve no browser
    deployment, autoscaler = kinds["Deployment"], kinds["HorizontalPodAutoscaler"]
    assert autoscaler["spec"]["minReplicas"] >= 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    sources = [s["configMapRef"]["name"] for s in container["envFrom"]]
    assert config_map["metadata"]["name"] in sources


def test_the_test_process_never_loads_helms_go_runtime(chart: HelmChart) -> None:
    """Go's runtime stays in the chart's own process (tests/support/helm_chart.py)."""
    assert chart.render(IMAGE)
    assert "helm_python" not in sys.modules

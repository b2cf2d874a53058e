"""The mutation table: regressions planted in the recorded stacks (or their config), each of
which a policy rule (or the config's validation) must catch. Run with ``-s`` to see the
table; every row names the rule that caught it."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from components.bedrock_models import UnsupportedModelId, model_resource_arns
from components.config import ConfigError, parse_stack_config
from policy.graph import Declared
from policy.rules import PolicyConfig, violations
from tests.support.pulumi_stacks import record

Mutate = Callable[[list[Declared]], list[Declared]]


def edit(type_: str, change: Callable[[Declared], None], name: str | None = None) -> Mutate:
    def mutate(resources: list[Declared]) -> list[Declared]:
        out = copy.deepcopy(resources)
        for r in out:
            if r.type == type_ and (name is None or r.name == name):
                change(r)
        return out

    return mutate


def drop(type_: str, name: str | None = None) -> Mutate:
    return lambda rs: [r for r in rs if not (r.type == type_ and (name is None or r.name == name))]


def values(change: Callable[[dict[str, Any]], None]) -> Mutate:
    # The app's chart (not KEDA's, installed beside it from its Helm repository).
    return edit("kubernetes:helm.sh/v4:Chart", lambda r: change(r.inputs["values"]), "app")


def policy_statement(name: str, statement: dict[str, Any]) -> Mutate:
    def change(r: Declared) -> None:
        document = json.loads(r.inputs["policy"])
        document["Statement"].append(statement)
        r.inputs["policy"] = json.dumps(document)

    return edit("aws:iam/rolePolicy:RolePolicy", change, name)


def container(**changes: Any) -> Mutate:
    def change(r: Declared) -> None:
        (c,) = json.loads(r.inputs["containerDefinitions"])
        r.inputs["containerDefinitions"] = json.dumps([{**c, **changes}])

    return edit("aws:ecs/taskDefinition:TaskDefinition", change, "app")


def setter(**inputs: Any) -> Callable[[Declared], None]:
    return lambda r: r.inputs.update(inputs)


def _widen_alb_egress(r: Declared) -> None:
    r.inputs.update(cidrIpv4="0.0.0.0/0", ipProtocol="-1")
    r.inputs.pop("referencedSecurityGroupId", None)
    r.property_dependencies.pop("referencedSecurityGroupId", None)


def _http_only(rs: list[Declared]) -> list[Declared]:
    out = drop("aws:lb/listener:Listener", "app-https")(rs)
    return edit(
        "aws:lb/listener:Listener",
        setter(defaultActions=[{"type": "forward", "targetGroupArn": "tg"}]),
        "app-http",
    )(out)


def _fixed_index_name(r: Declared) -> None:
    r.name = "vectors"


def _nodeclass_without_policy(r: Declared) -> None:
    r.inputs["spec"].pop("networkPolicy")


def _no_rate_rule(r: Declared) -> None:
    r.inputs["rules"] = [x for x in r.inputs["rules"] if "rateBasedStatement" not in x["statement"]]


def _no_body_override(r: Declared) -> None:
    for rule in r.inputs["rules"]:
        group = rule["statement"].get("managedRuleGroupStatement") or {}
        group.pop("ruleActionOverrides", None)


def _unprotect(r: Declared) -> None:
    r.protect = r.retain_on_delete = False


def _no_ignore(r: Declared) -> None:
    r.ignore_changes = []


def _alarm_without_topic(r: Declared) -> None:
    r.property_dependencies = {}


FIRST_TASK = (
    "urn:pulumi:ecs::rag-app::rag:components:WorkerService"
    "$aws:appautoscaling/policy:Policy::worker-first-task"
)
API_SERVICE = "urn:pulumi:ecs::rag-app::rag:components:EcsService$aws:ecs/service:Service::app"
WORKER_SERVICE = (
    "urn:pulumi:ecs::rag-app::rag:components:WorkerService$aws:ecs/service:Service::worker"
)


def _scales_instead_of_notifying(r: Declared) -> None:
    """An operational alarm whose only action is now the workers' scaling policy."""
    r.property_dependencies["alarmActions"] = [FIRST_TASK]


def _scales_a_service_it_does_not_watch(r: Declared) -> None:
    """The first-task alarm watching the API's service instead of the workers'."""
    r.property_dependencies["metricQueries"] = [
        API_SERVICE if u == WORKER_SERVICE else u for u in r.from_("metricQueries")
    ]


def _acts_on_an_unknown_resource(r: Declared) -> None:
    r.property_dependencies["alarmActions"] = [
        *r.from_("alarmActions"),
        "urn:pulumi:ecs::rag-app::aws:lambda/function:Function::remediate",
    ]


def _no_certificate(r: Declared) -> None:
    r.inputs["spec"].pop("certificateARNs")


# (regression, stack, mutation, the rule expected to catch it)
MUTATIONS: list[tuple[str, str, Mutate, str]] = [
    ("NetworkPolicy port 5432 -> 5433", "eks",
     values(lambda v: v["networkPolicy"].update(databasePort=5433)),
     "network-policy-enforced-and-keeps-credentials"),
    ("ALB security group egress widened to everything", "ecs",
     edit("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", _widen_alb_egress,
          "rag-alb-to-app"),
     "security-group-rules-standalone"),
    ("ECR tags made mutable", "ecs",
     edit("aws:ecr/repository:Repository", setter(imageTagMutability="MUTABLE")),
     "ecr-immutable-and-scanned"),
    ("plain HTTP on a non-dev stack", "ecs", _http_only, "https-everywhere"),
    ("wildcard KMS grant in the task role", "ecs",
     policy_statement("app-task", {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),
     "iam-resources-named"),
    ("documents bucket unprotected", "ecs",
     edit("aws:s3/bucket:Bucket", _unprotect, "documents"), "data-protected"),
    ("Aurora cluster unprotected", "eks",
     edit("aws:rds/cluster:Cluster", _unprotect), "data-protected"),
    ("vector index replaced by a model change (fixed resource name)", "ecs",
     edit("aws:s3/vectorsIndex:VectorsIndex", _fixed_index_name),
     "vector-indexes-match-the-app"),
    ("NetworkPolicy without the Pod Identity egress", "eks",
     values(lambda v: v["networkPolicy"].update(podIdentityAgent="10.0.0.0/8")),
     "network-policy-enforced-and-keeps-credentials"),
    ("WAF without the rate rule", "ecs",
     edit("aws:wafv2/webAcl:WebAcl", _no_rate_rule), "web-acl-on-every-alb"),
    ("WAF blocks uploads (no SizeRestrictions_BODY override)", "ecs",
     edit("aws:wafv2/webAcl:WebAcl", _no_body_override), "web-acl-on-every-alb"),
    ("WAF not associated with the ALB", "ecs",
     drop("aws:wafv2/webAclAssociation:WebAclAssociation"), "web-acl-on-every-alb"),
    ("EKS Ingress without the WAF", "eks",
     values(lambda v: v["ingress"].update(webAclArn="")), "web-acl-on-every-alb"),
    ("EKS 1.33 (extended support)", "eks",
     edit("eks:index:Cluster", setter(version="1.33")), "kubernetes-clusters-hardened"),
    ("EKS upgrade policy EXTENDED", "eks",
     edit("eks:index:Cluster", setter(upgradePolicy={"supportType": "EXTENDED"})),
     "kubernetes-clusters-hardened"),
    ("HPA without metrics-server", "eks",
     drop("aws:eks/addon:Addon", "eks-metrics-server"), "kubernetes-clusters-hardened"),
    ("VPC CNI network-policy controller off", "eks",
     drop("kubernetes:core/v1:ConfigMap", "eks-vpc-cni"),
     "network-policy-enforced-and-keeps-credentials"),
    ("NodeClass without networkPolicy", "eks",
     edit("kubernetes:eks.amazonaws.com/v1:NodeClass", _nodeclass_without_policy),
     "network-policy-enforced-and-keeps-credentials"),
    ("Aurora engineVersion not ignored (downgrade after a minor upgrade)", "eks",
     edit("aws:rds/cluster:Cluster", _no_ignore), "databases-encrypted-private-protected"),
    ("Aurora deletion protection off", "eks",
     edit("aws:rds/cluster:Cluster", setter(deletionProtection=False)),
     "databases-encrypted-private-protected"),
    ("rds-db:connect as any database user", "eks",
     policy_statement("app", {"Effect": "Allow", "Action": ["rds-db:connect"],
                              "Resource": ["arn:aws:rds-db:us-east-1:1:dbuser:cluster-X/*"]}),
     "iam-resources-named"),
    ("task definition image by tag", "ecs",
     container(image="123.dkr.ecr.us-east-1.amazonaws.com/app:0.1.0"),
     "images-pinned-by-digest"),
    ("chart image by tag", "eks",
     values(lambda v: v.update(image={"repository": "r/app", "tag": "0.1.0"})),
     "images-pinned-by-digest"),
    ("ECS does not wait for healthy tasks", "ecs",
     edit("aws:ecs/service:Service", setter(waitForSteadyState=False)),
     "deployments-roll-back-and-wait"),
    ("HTTPS listener on an old TLS policy", "ecs",
     edit("aws:lb/listener:Listener", setter(sslPolicy="ELBSecurityPolicy-2016-08"),
          "app-https"),
     "https-everywhere"),
    ("HTTP listener forwards instead of redirecting", "ecs",
     edit("aws:lb/listener:Listener", setter(defaultActions=[{"type": "forward"}]), "app-http"),
     "https-everywhere"),
    ("EKS ingress class without a certificate", "eks",
     edit("kubernetes:eks.amazonaws.com/v1:IngressClassParams", _no_certificate),
     "https-everywhere"),
    ("ALB access logs off", "ecs",
     edit("aws:lb/loadBalancer:LoadBalancer", setter(accessLogs={"enabled": False})),
     "load-balancers-log-access"),
    ("alarm notifies nobody", "ecs",
     edit("aws:cloudwatch/metricAlarm:MetricAlarm", _alarm_without_topic, "bedrock-throttling"),
     "alarms-notify"),
    ("operational alarm drives scaling instead of notifying", "ecs",
     edit("aws:cloudwatch/metricAlarm:MetricAlarm", _scales_instead_of_notifying, "alb-5xx"),
     "alarms-notify"),
    ("app-metric alarm drives scaling instead of notifying", "ecs",
     edit("aws:cloudwatch/metricAlarm:MetricAlarm", _scales_instead_of_notifying,
          "ingestion-failures"),
     "alarms-notify"),
    ("scaling alarm watches another service than it scales", "ecs",
     edit("aws:cloudwatch/metricAlarm:MetricAlarm", _scales_a_service_it_does_not_watch,
          "worker-jobs-without-workers"),
     "alarms-notify"),
    ("alarm acts on a resource outside topics and scaling", "ecs",
     edit("aws:cloudwatch/metricAlarm:MetricAlarm", _acts_on_an_unknown_resource, "alb-5xx"),
     "alarms-notify"),
    ("no alarm on the app's ingestion failures", "eks",
     drop("aws:cloudwatch/metricAlarm:MetricAlarm", "ingestion-failures"), "alarms-notify"),
    ("documents bucket in no backup plan", "ecs",
     drop("aws:backup/selection:Selection"), "backups-planned"),
    ("tasks with public IPs", "ecs",
     edit("aws:ecs/service:Service",
          lambda r: r.inputs["networkConfiguration"].update(assignPublicIp=True)),
     "no-public-ips-on-tasks"),
    ("security group with an inline rule", "ecs",
     edit("aws:ec2/securityGroup:SecurityGroup",
          setter(ingress=[{"protocol": "tcp", "fromPort": 22, "toPort": 22}]), "rag-app"),
     "security-group-rules-standalone"),
    ("documents bucket public access allowed", "ecs",
     edit("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
          setter(restrictPublicBuckets=False), "documents"),
     "buckets-block-public-access"),
    ("data key without rotation", "ecs",
     edit("aws:kms/key:Key", setter(enableKeyRotation=False)), "kms-keys-rotate"),
    ("log group kept forever", "eks",
     edit("aws:cloudwatch/logGroup:LogGroup", setter(retentionInDays=0), "app-build"),
     "logs-expire"),
    ("container runs as root", "ecs", container(user="0"), "containers-hardened"),
    ("catalog table without point-in-time recovery", "ecs",
     edit("aws:dynamodb/table:Table", setter(pointInTimeRecovery={"enabled": False})),
     "catalog-tables-protected"),
    ("catalog table deletion protection off", "ecs",
     edit("aws:dynamodb/table:Table", setter(deletionProtectionEnabled=False)),
     "catalog-tables-protected"),
    ("catalog table on provisioned capacity", "ecs",
     edit("aws:dynamodb/table:Table", setter(billingMode="PROVISIONED")),
     "catalog-tables-protected"),
    ("catalog table unprotected", "ecs",
     edit("aws:dynamodb/table:Table", _unprotect), "data-protected"),
    ("the task role may scan every table", "ecs",
     policy_statement("app-task", {"Effect": "Allow", "Action": ["dynamodb:Scan"],
                                   "Resource": ["arn:aws:dynamodb:us-east-1:1:table/*"]}),
     "catalog-tables-protected"),
    ("the session key left out of the serving task", "ecs",
     container(secrets=[{"name": "RAG_HOST", "valueFrom": "arn:aws:ssm:p"}]),
     "sessions-share-a-secret-key"),
    ("the session key put in the chart's values", "eks",
     values(lambda v: v["env"].update(RAG_SESSION_SECRET="hunter2")),
     "sessions-share-a-secret-key"),
    ("the pods not told where the session key is", "eks",
     values(lambda v: v["env"].pop("RAG_SESSION_SECRET_ID")),
     "sessions-share-a-secret-key"),
    ("job queue unencrypted", "ecs",
     edit("aws:sqs/queue:Queue", setter(sqsManagedSseEnabled=False), "ingest"),
     "queues-encrypted"),
    ("job queue without its dead-letter queue", "eks",
     edit("aws:sqs/queue:Queue", setter(redrivePolicy=None), "ingest"),
     "queues-have-dead-letters"),
    ("dead-letter queue policy without TLS-only", "ecs",
     drop("aws:sqs/queuePolicy:QueuePolicy", "ingest-dlq"), "queues-tls-only"),
    ("the API may delete jobs", "ecs",
     policy_statement("app-task-queue", {"Effect": "Allow", "Resource": ["arn:aws:sqs:x:1:q"],
                                         "Action": ["sqs:SendMessage", "sqs:DeleteMessage"]}),
     "queue-permissions-least-privilege"),
    ("workers may do anything to any queue", "eks",
     policy_statement("worker", {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}),
     "queue-permissions-least-privilege"),
]  # fmt: skip


@pytest.fixture(scope="module")
def stacks() -> dict[str, list[Declared]]:
    return {"ecs": record("ecs"), "eks": record("eks")}


def test_every_planted_regression_is_caught(stacks: dict[str, list[Declared]]) -> None:
    config = PolicyConfig()
    rows, missed = [], []
    for regression, stack, mutate, expected in MUTATIONS:
        assert violations(stacks[stack], config) == {}, stack  # the baseline is clean
        found = violations(mutate(stacks[stack]), config)
        caught = expected in found
        rows.append((regression, stack, ", ".join(sorted(found)) or "-", caught))
        if not caught:
            missed.append((regression, found))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'planted regression':<{width}}  stack  caught by")
    for regression, stack, by, caught in rows:
        print(f"{regression:<{width}}  {stack:<5}  {by}{'' if caught else '  MISSED'}")
    print(f"{sum(r[3] for r in rows)}/{len(rows)} caught")
    assert len(MUTATIONS) >= 25
    assert missed == []


CONFIG_MUTATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("no HTTPS and not a dev stack", {"platform": "ecs", "ecs": {}},
     "plain HTTP is only for a stack marked rag:dev"),
    ("EKS 1.34 after its standard support", {"platform": "eks", "dev": True,
     "eks": {"kubernetesVersion": "1.34"}, "aurora": {}}, "left EKS standard support"),
    ("an Aurora dev database on a production stack", {"platform": "eks",
     "https": {"certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}, "eks": {},
     "aurora": {"dev": True}}, "needs the whole stack marked rag:dev"),
    ("an image by tag in config", {"platform": "ecs", "dev": True,
     "ecs": {"imageUri": "r/app:latest"}}, "rag:ecs.imageUri"),
]  # fmt: skip


@pytest.mark.parametrize(("regression", "raw", "message"), CONFIG_MUTATIONS)
def test_config_regressions_stop_the_program(
    regression: str, raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_stack_config(raw)


def test_an_inference_profile_called_outside_its_geography_is_refused() -> None:
    with pytest.raises(UnsupportedModelId):
        model_resource_arns("us.amazon.nova-lite-v1:0", region="eu-west-1", account="1")


def test_the_table_mutates_copies_not_the_recording(stacks: dict[str, list[Declared]]) -> None:
    before = [dataclasses.asdict(r) for r in stacks["ecs"]]
    for _, stack, mutate, _ in MUTATIONS:
        if stack == "ecs":
            mutate(stacks["ecs"])
    assert [dataclasses.asdict(r) for r in stacks["ecs"]] == before


def test_a_scaling_only_alarm_passes_and_an_operational_one_must_notify(
    stacks: dict[str, list[Declared]],
) -> None:
    """The planted good cases beside the table's bad ones: the workers' first-task alarm
    (its only action scales the service it watches) passes, and so does an operational
    alarm that both notifies and scales."""
    config = PolicyConfig()
    ecs = stacks["ecs"]
    (first,) = [r for r in ecs if r.name == "worker-jobs-without-workers"]
    assert first.from_("alarmActions") == [FIRST_TASK]
    assert "alarms-notify" not in violations(ecs, config)

    def both(r: Declared) -> None:
        r.property_dependencies["alarmActions"] = [*r.from_("alarmActions"), FIRST_TASK]

    notifies_and_scales = edit("aws:cloudwatch/metricAlarm:MetricAlarm", both, "alb-5xx")(ecs)
    assert "alarms-notify" not in violations(notifies_and_scales, config)
    bad = edit("aws:cloudwatch/metricAlarm:MetricAlarm", _scales_instead_of_notifying, "alb-5xx")(
        ecs
    )
    assert violations(bad, config)["alarms-notify"] == ["alarm alb-5xx: notifies no SNS topic"]

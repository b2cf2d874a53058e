"""Rules every stack must pass, as plain functions over the resources a program declares.

The same functions run in two places: the Pulumi policy pack (``policy/__main__.py``, for
``pulumi preview --policy-pack policy`` and ``pulumi up --policy-pack policy``) over what the
engine hands it, and the tests over the graph ``policy.plan`` records under mocks. Each rule
returns its findings; each has a test with a resource that breaks it (tests/
test_policy_pack.py) and planted regressions it must catch (the mutation table).

A dev stack is recognised by its *name* (``PolicyConfig.dev_stacks``, the policy pack's
config), never by anything the program declares, so a program cannot exempt itself.
Only the standard library: the pack's own environment needs nothing of the app.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from policy.graph import Declared

# Mirrors of the program's constants (a test checks they agree): the pack runs without it.
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
NON_FILTERABLE_FIELDS = ("text", "title", "chunk_no", "char_start", "char_end")
TLS13_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
POD_IDENTITY_AGENT = "169.254.170.23/32"
MANAGED_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)
END_OF_STANDARD_SUPPORT = {
    "1.33": dt.date(2026, 7, 29),
    "1.34": dt.date(2026, 12, 2),
    "1.35": dt.date(2027, 3, 27),
}
# Actions AWS defines without resource-level permissions: "*" is the only form IAM takes.
NO_RESOURCE_LEVEL = frozenset(
    {
        "textract:StartDocumentTextDetection",
        "textract:GetDocumentTextDetection",
        "transcribe:StartTranscriptionJob",
        "transcribe:GetTranscriptionJob",
        "transcribe:DeleteTranscriptionJob",
        "ecr:GetAuthorizationToken",
        "bedrock:Rerank",  # the rerank-prereq page's example policy grants it on "*"
    }
)
# What the app's catalog may do on its DynamoDB table (components.app_policy.CATALOG_ACTIONS).
CATALOG_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query")
# The app's own metrics (rag_app/metrics.py) that must have an alarm.
APP_METRICS = ("IngestionFailures", "BedrockThrottles")


@dataclass(frozen=True)
class PolicyConfig:
    dev_stacks: str = r"^(dev|.+-dev)$"  # stack names that may serve plain HTTP, unprotected
    today: dt.date | None = None  # None: the real date (tests pin it)

    def is_dev(self, stack: str) -> bool:
        return re.match(self.dev_stacks, stack) is not None

    def on(self) -> dt.date:
        return self.today or dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class Finding:
    message: str
    urn: str = ""


Rule = Callable[[list[Declared], PolicyConfig], list[Finding]]


def _of(resources: Iterable[Declared], *types: str) -> list[Declared]:
    return [r for r in resources if r.type in types]


def _on(resources: list[Declared], type_: str, target: Declared, key: str) -> list[Declared]:
    """Resources of ``type_`` whose input ``key`` comes from ``target``."""
    return [r for r in _of(resources, type_) if target.urn in r.from_(key)]


def _stack_is_dev(resources: list[Declared], config: PolicyConfig) -> bool:
    stacks = {r.stack for r in resources if r.stack}
    return bool(stacks) and all(config.is_dev(s) for s in stacks)


def _chart_values(resources: list[Declared]) -> list[tuple[Declared, dict[str, Any]]]:
    """The app's charts (from this repository) and their values; a third-party chart from
    a Helm repository (KEDA, with its own images and no Ingress) is not held to them."""
    return [
        (c, c.inputs.get("values") or {})
        for c in _of(resources, "kubernetes:helm.sh/v4:Chart")
        if not c.inputs.get("repositoryOpts")
    ]


def _statements(document: Any) -> list[dict[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else (document or {})
    statements = parsed.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- storage ------------------------------------------------------------------------------


def buckets_block_public_access(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return [
        Finding(f"bucket {b.name}: public access is not fully blocked", b.urn)
        for b in _of(resources, "aws:s3/bucket:Bucket")
        if not any(
            all(x.inputs.get(f) is True for f in flags)
            for x in _on(
                resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b, "bucket"
            )
        )
    ]


def buckets_encrypted_and_tls_only(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    sse = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    found = []
    for bucket in _of(resources, "aws:s3/bucket:Bucket"):
        if not _on(resources, sse, bucket, "bucket"):
            found.append(Finding(f"bucket {bucket.name}: no default encryption", bucket.urn))
        policies = _on(resources, "aws:s3/bucketPolicy:BucketPolicy", bucket, "bucket")
        if not any("aws:SecureTransport" in str(p.inputs.get("policy")) for p in policies):
            found.append(Finding(f"bucket {bucket.name}: no TLS-only bucket policy", bucket.urn))
    return found


def data_protected(resources: list[Declared], config: PolicyConfig) -> list[Finding]:
    """What an operator cannot recreate (documents, vectors, the database, the catalog
    table, the data key): protect and retain_on_delete, except on a dev stack."""
    if _stack_is_dev(resources, config):
        return []
    data = [
        *(b for b in _of(resources, "aws:s3/bucket:Bucket") if b.name == "documents"),
        *_of(
            resources,
            "aws:s3/vectorsVectorBucket:VectorsVectorBucket",
            "aws:s3/vectorsIndex:VectorsIndex",
            "aws:rds/cluster:Cluster",
            "aws:dynamodb/table:Table",
        ),
        *(k for k in _of(resources, "aws:kms/key:Key") if k.name == "data"),
    ]
    return [
        Finding(f"{r.type.split(':')[-1]} {r.name}: not protect + retainOnDelete", r.urn)
        for r in data
        if not (r.protect and r.retain_on_delete)
    ]


def vector_indexes_match_the_app(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    found = []
    for index in _of(resources, "aws:s3/vectorsIndex:VectorsIndex"):
        keys = (index.inputs.get("metadataConfiguration") or {}).get(
            "nonFilterableMetadataKeys", []
        )
        if (index.inputs.get("distanceMetric"), index.inputs.get("dataType")) != (
            "cosine",
            "float32",
        ):
            found.append(Finding(f"vector index {index.name}: not cosine/float32", index.urn))
        if sorted(keys) != sorted(NON_FILTERABLE_FIELDS):
            found.append(
                Finding(f"vector index {index.name}: non-filterable keys differ", index.urn)
            )
        # Named by its index name, a new model declares a new index beside the old one;
        # under one fixed name a model change would replace it (delete every vector).
        if index.inputs.get("indexName") != index.name:
            found.append(
                Finding(
                    f"vector index {index.name}: the resource is not named by its index name "
                    f"({index.inputs.get('indexName')}), so a model change replaces it",
                    index.urn,
                )
            )
    return found


def kms_keys_rotate(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    return [
        Finding(f"KMS key {k.name}: rotation off", k.urn)
        for k in _of(resources, "aws:kms/key:Key")
        if k.inputs.get("enableKeyRotation") is not True
    ]


def backups_planned(resources: list[Declared], config: PolicyConfig) -> list[Finding]:
    if _stack_is_dev(resources, config):
        return []
    selected = {
        urn
        for s in _of(resources, "aws:backup/selection:Selection")
        for urn in s.from_("resources")
    }
    wanted = [
        *(b for b in _of(resources, "aws:s3/bucket:Bucket") if b.name == "documents"),
        *_of(resources, "aws:rds/cluster:Cluster"),
    ]
    return [
        Finding(f"{r.type.split(':')[-1]} {r.name}: in no AWS Backup plan", r.urn)
        for r in wanted
        if r.urn not in selected
    ]


# -- compute ------------------------------------------------------------------------------


def no_public_ips_on_tasks(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    return [
        Finding(f"ECS service {s.name}: tasks get public IPs", s.urn)
        for s in _of(resources, "aws:ecs/service:Service")
        if (s.inputs.get("networkConfiguration") or {}).get("assignPublicIp") is not False
    ]


def deployments_roll_back_and_wait(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    found = []
    for s in _of(resources, "aws:ecs/service:Service"):
        if s.inputs.get("deploymentCircuitBreaker") != {"enable": True, "rollback": True}:
            found.append(Finding(f"ECS service {s.name}: no circuit breaker with rollback", s.urn))
        if s.inputs.get("waitForSteadyState") is not True:
            found.append(
                Finding(f"ECS service {s.name}: pulumi up does not wait for healthy tasks", s.urn)
            )
    return found


def containers_hardened(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    found = []
    for task in _of(resources, "aws:ecs/taskDefinition:TaskDefinition"):
        for container in json.loads(task.inputs.get("containerDefinitions") or "[]"):
            where = f"task {task.name} container {container.get('name')}"
            if container.get("readonlyRootFilesystem") is not True:
                found.append(Finding(f"{where}: root filesystem is writable", task.urn))
            if container.get("privileged"):
                found.append(Finding(f"{where}: privileged", task.urn))
            if str(container.get("user", "root")).split(":")[0] in ("root", "0"):
                found.append(Finding(f"{where}: runs as root", task.urn))
            if container.get("environment"):
                found.append(Finding(f"{where}: plain environment values", task.urn))
    return found


def images_pinned_by_digest(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    found = []
    for task in _of(resources, "aws:ecs/taskDefinition:TaskDefinition"):
        for container in json.loads(task.inputs.get("containerDefinitions") or "[]"):
            if "@sha256:" not in str(container.get("image", "")):
                found.append(Finding(f"task {task.name}: image not pinned by digest", task.urn))
    for chart, values in _chart_values(resources):
        if not str((values.get("image") or {}).get("digest", "")).startswith("sha256:"):
            found.append(Finding(f"chart {chart.name}: image not pinned by digest", chart.urn))
    for job in _of(resources, "kubernetes:batch/v1:Job"):
        containers = job.inputs.get("spec", {}).get("template", {}).get("spec", {})
        for c in containers.get("containers", []):
            if "@sha256:" not in str(c.get("image", "")):
                found.append(Finding(f"job {job.name}: image not pinned by digest", job.urn))
    return found


def ecr_immutable_and_scanned(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    found = []
    for repo in _of(resources, "aws:ecr/repository:Repository"):
        if repo.inputs.get("imageTagMutability") != "IMMUTABLE":
            found.append(Finding(f"ECR repository {repo.name}: tags are mutable", repo.urn))
        if (repo.inputs.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
            found.append(Finding(f"ECR repository {repo.name}: no scan on push", repo.urn))
    return found


# -- edge ---------------------------------------------------------------------------------


def https_everywhere(resources: list[Declared], config: PolicyConfig) -> list[Finding]:
    """Every load balancer listens on HTTPS with the TLS 1.3 policy and redirects HTTP; the
    EKS Ingress has a certificate and HTTPS. Plain HTTP only on a dev stack's name."""
    if _stack_is_dev(resources, config):
        return []
    found = []
    listeners = _of(resources, "aws:lb/listener:Listener")
    for lb in _of(resources, "aws:lb/loadBalancer:LoadBalancer"):
        if lb.inputs.get("dropInvalidHeaderFields") is not True:
            found.append(Finding(f"load balancer {lb.name}: invalid headers kept", lb.urn))
        own = [x for x in listeners if lb.urn in x.from_("loadBalancerArn")]
        https = [x for x in own if x.inputs.get("protocol") == "HTTPS"]
        if not https:
            found.append(Finding(f"load balancer {lb.name}: no HTTPS listener", lb.urn))
        for listener in https:
            if listener.inputs.get("sslPolicy") != TLS13_POLICY:
                found.append(
                    Finding(f"listener {listener.name}: not the TLS 1.3 policy", listener.urn)
                )
        for listener in own:
            actions = listener.inputs.get("defaultActions") or []
            if listener.inputs.get("protocol") == "HTTP" and not all(
                a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
                for a in actions
            ):
                found.append(
                    Finding(f"listener {listener.name}: HTTP not redirected", listener.urn)
                )
    for chart, values in _chart_values(resources):
        if (values.get("ingress") or {}).get("https") is not True:
            found.append(Finding(f"chart {chart.name}: the Ingress serves plain HTTP", chart.urn))
    if _chart_values(resources):
        params = [
            p
            for p in _of(resources, "kubernetes:eks.amazonaws.com/v1:IngressClassParams")
            if (p.inputs.get("spec") or {}).get("certificateARNs")
        ]
        if not params:
            found.append(Finding("the ALB ingress class has no certificate"))
    return found


def web_acl_on_every_alb(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """A WAF web ACL with a per-IP rate rule and AWS's managed groups (the body-size rule
    counted, so uploads pass) protects every internet-facing load balancer."""
    found = []
    acls = _of(resources, "aws:wafv2/webAcl:WebAcl")
    for acl in acls:
        rules = acl.inputs.get("rules") or []
        statements = [r.get("statement") or {} for r in rules]
        rate = [s["rateBasedStatement"] for s in statements if "rateBasedStatement" in s]
        if not rate or rate[0].get("aggregateKeyType") != "IP":
            found.append(Finding(f"web ACL {acl.name}: no rate-based rule per client IP", acl.urn))
        groups = {
            s["managedRuleGroupStatement"].get("name"): s["managedRuleGroupStatement"]
            for s in statements
            if "managedRuleGroupStatement" in s
        }
        for group in MANAGED_GROUPS:
            if group not in groups:
                found.append(Finding(f"web ACL {acl.name}: no {group}", acl.urn))
        overrides = (groups.get("AWSManagedRulesCommonRuleSet") or {}).get(
            "ruleActionOverrides"
        ) or []
        if not any(o.get("name") == "SizeRestrictions_BODY" for o in overrides):
            found.append(Finding(f"web ACL {acl.name}: the 8 KB body rule blocks uploads", acl.urn))
    protected = {
        urn
        for a in _of(resources, "aws:wafv2/webAclAssociation:WebAclAssociation")
        for urn in a.from_("resourceArn")
    }
    for lb in _of(resources, "aws:lb/loadBalancer:LoadBalancer"):
        if lb.inputs.get("internal") is not True and lb.urn not in protected:
            found.append(Finding(f"load balancer {lb.name}: no WAF web ACL", lb.urn))
    for chart, values in _chart_values(resources):
        if not (values.get("ingress") or {}).get("webAclArn"):
            found.append(Finding(f"chart {chart.name}: the Ingress has no WAF web ACL", chart.urn))
    return found


def load_balancers_log_access(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    found = [
        Finding(f"load balancer {lb.name}: no access logs", lb.urn)
        for lb in _of(resources, "aws:lb/loadBalancer:LoadBalancer")
        if (lb.inputs.get("accessLogs") or {}).get("enabled") is not True
    ]
    for params in _of(resources, "kubernetes:eks.amazonaws.com/v1:IngressClassParams"):
        attributes = {
            a.get("key"): a.get("value")
            for a in (params.inputs.get("spec") or {}).get("loadBalancerAttributes", [])
        }
        if attributes.get("access_logs.s3.enabled") != "true":
            found.append(Finding(f"ingress class {params.name}: no ALB access logs", params.urn))
    return found


# -- network ------------------------------------------------------------------------------


def security_group_rules_standalone(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """Rules only as standalone resources, and no rule opening every port to everywhere."""
    found = [
        Finding(f"security group {g.name}: inline rules", g.urn)
        for g in _of(resources, "aws:ec2/securityGroup:SecurityGroup")
        if g.inputs.get("ingress") or g.inputs.get("egress")
    ]
    for rule in _of(
        resources,
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ):
        i = rule.inputs
        if i.get("ipProtocol") in ("-1", "all") or (
            i.get("cidrIpv4") == "0.0.0.0/0" and (i.get("fromPort"), i.get("toPort")) == (0, 65535)
        ):
            found.append(Finding(f"security group rule {rule.name}: every port open", rule.urn))
    # The load balancer reaches the app's port on the app's group, nothing else.
    groups = {g.urn: g for g in _of(resources, "aws:ec2/securityGroup:SecurityGroup")}
    for rule in _of(resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
        owners = [groups[u] for u in rule.from_("securityGroupId") if u in groups]
        if any(g.name.endswith("-alb") for g in owners) and not rule.from_(
            "referencedSecurityGroupId"
        ):
            found.append(
                Finding(
                    f"security group rule {rule.name}: the ALB egresses beyond the app", rule.urn
                )
            )
    return found


def network_policy_enforced_and_keeps_credentials(
    resources: list[Declared], _: PolicyConfig
) -> list[Finding]:
    """On EKS: the NetworkPolicy is on, enforced (VPC CNI controller + a NodeClass asking for
    it, which the pods run on) and lets the pods reach the Pod Identity agent, DNS and the
    database."""
    charts = _chart_values(resources)
    if not charts:
        return []
    found = []
    cni = [
        c
        for c in _of(resources, "kubernetes:core/v1:ConfigMap")
        if (c.inputs.get("metadata") or {}).get("name") == "amazon-vpc-cni"
        and (c.inputs.get("data") or {}).get("enable-network-policy-controller") == "true"
    ]
    if not cni:
        found.append(Finding("the VPC CNI's network-policy controller is not enabled"))
    classes = {
        (n.inputs.get("metadata") or {}).get("name")
        for n in _of(resources, "kubernetes:eks.amazonaws.com/v1:NodeClass")
        if (n.inputs.get("spec") or {}).get("networkPolicy") in ("DefaultAllow", "DefaultDeny")
    }
    pools = {
        (p.inputs.get("metadata") or {}).get("name")
        for p in _of(resources, "kubernetes:karpenter.sh/v1:NodePool")
        if (p.inputs.get("spec") or {})
        .get("template", {})
        .get("spec", {})
        .get("nodeClassRef", {})
        .get("name")
        in classes
    }
    for chart, values in charts:
        policy = values.get("networkPolicy") or {}
        if policy.get("enabled") is not True:
            found.append(Finding(f"chart {chart.name}: no NetworkPolicy", chart.urn))
        if policy.get("podIdentityAgent") != POD_IDENTITY_AGENT:
            found.append(
                Finding(f"chart {chart.name}: egress to the Pod Identity agent blocked", chart.urn)
            )
        if policy.get("databasePort") != 5432:
            found.append(Finding(f"chart {chart.name}: egress to PostgreSQL blocked", chart.urn))
        pool = (values.get("nodeSelector") or {}).get("karpenter.sh/nodepool")
        if pool not in pools:
            found.append(
                Finding(
                    f"chart {chart.name}: pods not on a NodeClass enforcing policies", chart.urn
                )
            )
    return found


# -- identity -----------------------------------------------------------------------------


def _region_bound_exception(statement: dict[str, Any]) -> bool:
    actions = set(_listify(statement.get("Action", [])))
    if actions == {"ecr:GetAuthorizationToken"}:
        return True
    region = statement.get("Condition", {}).get("StringEquals", {}).get("aws:RequestedRegion")
    return bool(actions) and actions <= NO_RESOURCE_LEVEL and bool(region)


def iam_resources_named(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """No Allow on ``"Resource": "*"`` or ``service:*`` actions in the policies this program
    writes, except for actions without resource-level permissions (held to a region); KMS
    only on a named key and only through the data services; database logins only for one
    named user."""
    found = []
    for policy in _of(resources, "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        for statement in _statements(policy.inputs.get("policy", "{}")):
            if statement.get("Effect") != "Allow":
                continue
            targets = [str(t) for t in _listify(statement.get("Resource", []))]
            actions = [str(a) for a in _listify(statement.get("Action", []))]
            where = f"IAM policy {policy.name}"
            if "*" in targets and not _region_bound_exception(statement):
                found.append(Finding(f"{where}: Allow on Resource '*'", policy.urn))
            if any(a == "*" or a.endswith(":*") for a in actions):
                found.append(Finding(f"{where}: a wildcard action ({actions})", policy.urn))
            if any(a.startswith("kms:") for a in actions) and (
                any(":key/" not in t for t in targets)
                or "kms:ViaService" not in json.dumps(statement.get("Condition", {}))
            ):
                found.append(
                    Finding(f"{where}: KMS not held to a key and its services", policy.urn)
                )
            for target in targets:
                if target.startswith("arn:aws:rds-db:") and (
                    target.endswith("/*") or ":dbuser:*" in target
                ):
                    found.append(Finding(f"{where}: rds-db:connect as any user", policy.urn))
    return found


def logs_expire(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    return [
        Finding(f"log group {g.name}: no retention", g.urn)
        for g in _of(resources, "aws:cloudwatch/logGroup:LogGroup")
        if not g.inputs.get("retentionInDays")
    ]


# -- databases and clusters ---------------------------------------------------------------


def databases_encrypted_private_protected(
    resources: list[Declared], config: PolicyConfig
) -> list[Finding]:
    """Aurora: encrypted, RDS-managed password, IAM auth on, backups kept, deletion
    protection and a final snapshot unless the stack is a dev stack, instances never public,
    and AWS's minor upgrades never undone by the next `pulumi up`."""
    dev = _stack_is_dev(resources, config)
    found = []
    for db in _of(resources, "aws:rds/cluster:Cluster"):
        i, where = db.inputs, f"database {db.name}"
        if i.get("storageEncrypted") is not True:
            found.append(Finding(f"{where}: storage not encrypted", db.urn))
        if i.get("manageMasterUserPassword") is not True or "masterPassword" in i:
            found.append(Finding(f"{where}: master password not managed by RDS", db.urn))
        if i.get("iamDatabaseAuthenticationEnabled") is not True:
            found.append(Finding(f"{where}: IAM database authentication off", db.urn))
        if not i.get("backupRetentionPeriod"):
            found.append(Finding(f"{where}: no backup retention", db.urn))
        if not dev and not (
            i.get("deletionProtection") is True and i.get("skipFinalSnapshot") is not True
        ):
            found.append(Finding(f"{where}: no deletion protection or final snapshot", db.urn))
        if "engineVersion" not in db.ignore_changes:
            found.append(
                Finding(f"{where}: engineVersion not ignored (minor upgrades are on)", db.urn)
            )
    for x in _of(resources, "aws:rds/clusterInstance:ClusterInstance"):
        if x.inputs.get("publiclyAccessible") is not False:
            found.append(Finding(f"database instance {x.name}: publicly accessible", x.urn))
        if x.inputs.get("autoMinorVersionUpgrade") is not False and (
            "engineVersion" not in x.ignore_changes
        ):
            found.append(Finding(f"database instance {x.name}: engineVersion not ignored", x.urn))
    return found


def kubernetes_clusters_hardened(resources: list[Declared], config: PolicyConfig) -> list[Finding]:
    """EKS (a remote component: its inputs are all there is to check): Auto Mode, API auth,
    KMS secrets, every log type, a private or CIDR-limited endpoint, a version in standard
    support and the STANDARD upgrade policy; metrics-server for the HPA."""
    found = []
    for cluster in _of(resources, "eks:index:Cluster"):
        i, where = cluster.inputs, f"EKS cluster {cluster.name}"
        if (i.get("autoMode") or {}).get("enabled") is not True:
            found.append(Finding(f"{where}: not in Auto Mode", cluster.urn))
        if i.get("authenticationMode") != "API":
            found.append(Finding(f"{where}: authentication mode is not API", cluster.urn))
        if not i.get("encryptionConfigKeyArn"):
            found.append(Finding(f"{where}: secrets not encrypted with KMS", cluster.urn))
        if sorted(i.get("enabledClusterLogTypes") or []) != sorted(CONTROL_PLANE_LOGS):
            found.append(Finding(f"{where}: not every control-plane log type", cluster.urn))
        if i.get("endpointPublicAccess") is not False and (
            not i.get("publicAccessCidrs") or "0.0.0.0/0" in i["publicAccessCidrs"]
        ):
            found.append(Finding(f"{where}: API endpoint open to the internet", cluster.urn))
        version = str(i.get("version"))
        end = END_OF_STANDARD_SUPPORT.get(version)
        if end is None or config.on() >= end:
            found.append(Finding(f"{where}: {version} is not in EKS standard support", cluster.urn))
        if (i.get("upgradePolicy") or {}).get("supportType") != "STANDARD":
            found.append(Finding(f"{where}: upgrade policy bills extended support", cluster.urn))
    addons = {a.inputs.get("addonName") for a in _of(resources, "aws:eks/addon:Addon")}
    for chart, values in _chart_values(resources):
        if (values.get("autoscaling") or {}).get("enabled") and "metrics-server" not in addons:
            found.append(Finding(f"chart {chart.name}: an HPA without metrics-server", chart.urn))
    return found


# -- operations ---------------------------------------------------------------------------


def alarms_notify(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """Alarms on the app's own metrics exist, and every alarm acts, only on the stack's own
    SNS topics and scaling policies. An alarm may leave the topic out only when it drives
    scaling alone: each of its actions is a scaling policy of a service whose metrics the
    alarm watches (the workers' first task: no worker runs while jobs wait). Any other alarm
    is operational and notifies a topic, and so does every alarm on the app's metrics."""
    alarms = _of(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")
    topics = {t.urn for t in _of(resources, "aws:sns/topic:Topic")}
    policies = {p.urn: p for p in _of(resources, "aws:appautoscaling/policy:Policy")}
    by_urn = {r.urn: r for r in resources}
    found = []
    for a in alarms:
        actions = set(a.from_("alarmActions"))
        if actions - topics - set(policies):
            found.append(
                Finding(
                    f"alarm {a.name}: acts on a resource that is neither the "
                    "stack's SNS topic nor a scaling policy",
                    a.urn,
                )
            )
        if actions & topics:
            continue
        scaling = [policies[u] for u in actions if u in policies]
        watched = set(a.from_("metricQueries")) | set(a.from_("dimensions"))
        drives_what_it_watches = bool(scaling) and all(
            _scaled_services(p, by_urn) and _scaled_services(p, by_urn) <= watched for p in scaling
        )
        if not drives_what_it_watches or _metrics_of(a) & set(APP_METRICS):
            found.append(Finding(f"alarm {a.name}: notifies no SNS topic", a.urn))
    watched_metrics = set().union(*(_metrics_of(a) for a in alarms)) if alarms else set()
    found += [Finding(f"no alarm on {m}") for m in APP_METRICS if m not in watched_metrics]
    return found


def _scaled_services(policy: Declared, by_urn: dict[str, Declared]) -> set[str]:
    """The ECS services a scaling policy scales: through its scalable target's resource id
    (``service/<cluster>/<service>``), from the inputs' dependencies (known at preview)."""
    urns: set[str] = set()
    for target_urn in policy.from_("resourceId"):
        target = by_urn.get(target_urn)
        urns |= set(target.from_("resourceId")) if target else {target_urn}
    return {u for u in urns if "aws:ecs/service:Service::" in u}


def _metrics_of(alarm: Declared) -> set[str]:
    """The metric names an alarm reads: its own, or its metric queries'."""
    names = {alarm.inputs.get("metricName")}
    for query in alarm.inputs.get("metricQueries") or []:
        names.add((query.get("metric") or {}).get("metricName"))
    return {n for n in names if isinstance(n, str)}


def catalog_tables_protected(resources: list[Declared], config: PolicyConfig) -> list[Finding]:
    """DynamoDB tables (Option 1's catalog): on demand, point-in-time recovery, encrypted
    with KMS, deletion-protected (except on a dev stack). A policy granting DynamoDB actions
    grants only the catalog's (no Scan, no table administration) on named tables and their
    indexes (``<table ARN>`` and ``<table ARN>/index/*``), and comes from a declared table."""
    found = []
    dev = _stack_is_dev(resources, config)
    tables = _of(resources, "aws:dynamodb/table:Table")
    for table in tables:
        inputs, where = table.inputs, f"table {table.name}"
        if inputs.get("billingMode") != "PAY_PER_REQUEST":
            found.append(Finding(f"{where}: not on demand (PAY_PER_REQUEST)", table.urn))
        if (inputs.get("pointInTimeRecovery") or {}).get("enabled") is not True:
            found.append(Finding(f"{where}: no point-in-time recovery", table.urn))
        if (inputs.get("serverSideEncryption") or {}).get("enabled") is not True:
            found.append(Finding(f"{where}: not encrypted with a KMS key", table.urn))
        if not dev and inputs.get("deletionProtectionEnabled") is not True:
            found.append(Finding(f"{where}: no deletion protection", table.urn))
    urns = {t.urn for t in tables}
    for policy in _of(resources, "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        for statement in _statements(policy.inputs.get("policy", "{}")):
            actions = [str(a) for a in _listify(statement.get("Action", []))]
            if statement.get("Effect") != "Allow" or not any(
                a == "*" or a.lower().startswith("dynamodb:") for a in actions
            ):
                continue
            where = f"IAM policy {policy.name}"
            beyond = sorted(set(actions) - set(CATALOG_ACTIONS))
            if beyond:
                found.append(
                    Finding(f"{where}: DynamoDB actions beyond the catalog's {beyond}", policy.urn)
                )
            targets = [str(t) for t in _listify(statement.get("Resource", []))]
            tables_named = {t for t in targets if "*" not in t}
            if (
                not tables_named
                or not urns & set(policy.from_("policy"))
                or any("*" in t and t.removesuffix("/index/*") not in tables_named for t in targets)
            ):
                found.append(Finding(f"{where}: DynamoDB beyond a named table", policy.urn))
    return found


# What would let a role remove or rewrite audit objects, or loosen their lock.
AUDIT_DESTRUCTIVE = (
    "s3:deleteobject",
    "s3:deleteobjectversion",
    "s3:putobjectretention",
    "s3:putobjectlegalhold",
    "s3:bypassgovernanceretention",
    "s3:putbucketobjectlockconfiguration",
    "s3:putlifecycleconfiguration",
    "s3:putbucketversioning",
    "s3:putbucketpolicy",
    "s3:deletebucket",
)
AUDIT_TAG = "rag:audit-trail"  # mirrors components.audit_store.AUDIT_TAG


def _bucket_arns(bucket: Declared) -> set[str]:
    """The ARNs a policy may name the bucket by: its set name, or the name the tests'
    mocks give it (``<name>-bucket``); an auto-named bucket's ARN is unknown at preview."""
    names = {f"{bucket.name}-bucket"}
    if isinstance(bucket.inputs.get("bucket"), str):
        names.add(bucket.inputs["bucket"])
    return {f"arn:aws:s3:::{n}" for n in names}


def _covers(target: str, arn: str) -> bool:
    """``target`` (an IAM resource, maybe with wildcards) names the bucket or objects in it."""
    return (
        target.startswith(f"{arn}/")
        or fnmatch.fnmatchcase(arn, target)
        or fnmatch.fnmatchcase(f"{arn}/x", target)
    )


def audit_store_append_only(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """A bucket tagged as the audit trail has Object Lock on, a compliance-mode default
    retention and versioning; no policy this program writes lets anyone delete, rewrite the
    retention of, or unlock what is in it."""
    findings: list[Finding] = []
    lock_type = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    for bucket in _of(resources, "aws:s3/bucket:Bucket"):
        if AUDIT_TAG not in (bucket.inputs.get("tags") or {}):
            continue
        where = f"audit bucket {bucket.name}"
        if bucket.inputs.get("objectLockEnabled") is not True:
            findings.append(Finding(f"{where}: created without Object Lock", bucket.urn))
        retention = [
            (lock.inputs.get("rule") or {}).get("defaultRetention") or {}
            for lock in _on(resources, lock_type, bucket, "bucket")
        ]
        if not any(
            r.get("mode") == "COMPLIANCE" and (r.get("days") or r.get("years")) for r in retention
        ):
            findings.append(Finding(f"{where}: no compliance-mode default retention", bucket.urn))
        versioning = _on(resources, "aws:s3/bucketVersioning:BucketVersioning", bucket, "bucket")
        if not any(
            (v.inputs.get("versioningConfiguration") or {}).get("status") == "Enabled"
            for v in versioning
        ):
            findings.append(Finding(f"{where}: versioning not enabled", bucket.urn))
        arns = _bucket_arns(bucket)
        for policy in _of(resources, "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
            for statement in _statements(policy.inputs.get("policy", "{}")):
                if statement.get("Effect") != "Allow":
                    continue
                actions = [str(a).lower() for a in _listify(statement.get("Action", []))]
                granted = [
                    a for a in AUDIT_DESTRUCTIVE if any(fnmatch.fnmatchcase(a, p) for p in actions)
                ]
                targets = [str(t) for t in _listify(statement.get("Resource", []))]
                if granted and any(_covers(t, arn) for t in targets for arn in arns):
                    findings.append(
                        Finding(
                            f"IAM policy {policy.name}: allows {', '.join(granted)} on {where}",
                            policy.urn,
                        )
                    )
    return findings


SESSION_SECRET = "RAG_SESSION_SECRET"  # noqa: S105 - the variable's name (session_secret.py)


def sessions_share_a_secret_key(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """Every replica seals web sign-ins with one key from Secrets Manager: the serving ECS
    task gets RAG_SESSION_SECRET as a secret (never a plain value or a String parameter),
    the chart's pods name the secret (RAG_SESSION_SECRET_ID) and never carry the value."""
    found = []
    for parameter in _of(resources, "aws:ssm/parameter:Parameter"):
        if str(parameter.inputs.get("name", "")).endswith(f"/{SESSION_SECRET}"):
            found.append(Finding(f"parameter {parameter.name}: the session key in clear"))
    for task in _of(resources, "aws:ecs/taskDefinition:TaskDefinition"):
        for container in json.loads(task.inputs.get("containerDefinitions") or "[]"):
            if not container.get("portMappings"):
                continue  # a one-off task serves no browser
            where = f"task {task.name} container {container.get('name')}"
            if any(e.get("name") == SESSION_SECRET for e in container.get("environment") or []):
                found.append(Finding(f"{where}: the session key as a plain value", task.urn))
            sources = [
                str(s.get("valueFrom", ""))
                for s in container.get("secrets") or []
                if s.get("name") == SESSION_SECRET
            ]
            if not sources or any(":ssm:" in v or ":parameter/" in v for v in sources):
                found.append(
                    Finding(f"{where}: no {SESSION_SECRET} from Secrets Manager", task.urn)
                )
    for chart, values in _chart_values(resources):
        env = values.get("env") or {}
        if SESSION_SECRET in env:
            found.append(Finding(f"chart {chart.name}: the session key as a value", chart.urn))
        if not env.get(f"{SESSION_SECRET}_ID"):
            found.append(Finding(f"chart {chart.name}: no {SESSION_SECRET}_ID", chart.urn))
    return found


# -- queues -------------------------------------------------------------------------------

QUEUE = "aws:sqs/queue:Queue"


def _redrive(queue: Declared) -> dict[str, Any] | None:
    raw = queue.inputs.get("redrivePolicy")
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _dead_letter_queues(resources: list[Declared]) -> set[str]:
    """URNs of the queues another queue redrives to (by dependency, or by name in the ARN)."""
    queues = _of(resources, QUEUE)
    targets = {str((_redrive(q) or {}).get("deadLetterTargetArn", "")) for q in queues}
    return {
        d.urn
        for d in queues
        if any(d.urn in q.from_("redrivePolicy") for q in queues)
        or any(t.endswith(f":{d.name}") for t in targets)
    }


def queues_encrypted(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """Every SQS queue encrypts at rest (SSE-SQS or a KMS key)."""
    return [
        Finding(f"SQS queue {q.name}: no server-side encryption", q.urn)
        for q in _of(resources, QUEUE)
        if q.inputs.get("sqsManagedSseEnabled") is not True and not q.inputs.get("kmsMasterKeyId")
    ]


def queues_have_dead_letters(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """Every queue that is not itself a dead-letter queue redrives to one after a bounded
    number of receipts, so a job that fails every time stops being retried."""
    dead_letters = _dead_letter_queues(resources)
    found = []
    for queue in _of(resources, QUEUE):
        if queue.urn in dead_letters:
            continue
        redrive = _redrive(queue)
        if redrive is None or not 1 <= int(redrive.get("maxReceiveCount") or 0) <= 1000:
            found.append(
                Finding(f"SQS queue {queue.name}: no dead-letter queue (redrive policy)", queue.urn)
            )
    return found


def queues_tls_only(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """Every queue's policy denies requests without TLS."""
    return [
        Finding(f"SQS queue {q.name}: no TLS-only queue policy", q.urn)
        for q in _of(resources, QUEUE)
        if not any(
            "aws:SecureTransport" in str(p.inputs.get("policy"))
            for p in _on(resources, "aws:sqs/queuePolicy:QueuePolicy", q, "queueUrl")
        )
    ]


def queue_permissions_least_privilege(resources: list[Declared], _: PolicyConfig) -> list[Finding]:
    """SQS actions granted one by one on named queues (never ``sqs:*`` or a wildcard
    resource), and the split holds: a role that may receive jobs is a worker's, and no role
    that sends jobs without receiving them (the API's) may delete or redrive them."""
    found = []
    for policy in _of(resources, "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        for statement in _statements(policy.inputs.get("policy", "{}")):
            actions = [str(a) for a in _listify(statement.get("Action", []))]
            if statement.get("Effect") != "Allow" or not any(
                a.lower().startswith("sqs:") for a in actions
            ):
                continue
            targets = [str(t) for t in _listify(statement.get("Resource", []))]
            if any("*" in a for a in actions) or any(
                "*" in t or not t.startswith("arn:aws:sqs:") for t in targets
            ):
                found.append(
                    Finding(
                        f"IAM policy {policy.name}: SQS access not limited to named queues",
                        policy.urn,
                    )
                )
            if (
                "sqs:SendMessage" in actions
                and "sqs:ReceiveMessage" not in actions
                and ({"sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} & set(actions))
            ):
                found.append(
                    Finding(
                        f"IAM policy {policy.name}: a sender may delete or hide jobs",
                        policy.urn,
                    )
                )
    return found


RULES: dict[str, Rule] = {
    "buckets-block-public-access": buckets_block_public_access,
    "buckets-encrypted-and-tls-only": buckets_encrypted_and_tls_only,
    "data-protected": data_protected,
    "vector-indexes-match-the-app": vector_indexes_match_the_app,
    "kms-keys-rotate": kms_keys_rotate,
    "backups-planned": backups_planned,
    "no-public-ips-on-tasks": no_public_ips_on_tasks,
    "deployments-roll-back-and-wait": deployments_roll_back_and_wait,
    "containers-hardened": containers_hardened,
    "images-pinned-by-digest": images_pinned_by_digest,
    "ecr-immutable-and-scanned": ecr_immutable_and_scanned,
    "https-everywhere": https_everywhere,
    "web-acl-on-every-alb": web_acl_on_every_alb,
    "load-balancers-log-access": load_balancers_log_access,
    "security-group-rules-standalone": security_group_rules_standalone,
    "network-policy-enforced-and-keeps-credentials": network_policy_enforced_and_keeps_credentials,
    "iam-resources-named": iam_resources_named,
    "logs-expire": logs_expire,
    "databases-encrypted-private-protected": databases_encrypted_private_protected,
    "kubernetes-clusters-hardened": kubernetes_clusters_hardened,
    "alarms-notify": alarms_notify,
    "audit-store-append-only": audit_store_append_only,
    "catalog-tables-protected": catalog_tables_protected,
    "sessions-share-a-secret-key": sessions_share_a_secret_key,
    "queues-encrypted": queues_encrypted,
    "queues-have-dead-letters": queues_have_dead_letters,
    "queues-tls-only": queues_tls_only,
    "queue-permissions-least-privilege": queue_permissions_least_privilege,
}


def violations(
    resources: list[Declared], config: PolicyConfig | None = None
) -> dict[str, list[str]]:
    config = config or PolicyConfig()
    return {
        name: [f.message for f in found]
        for name, rule in RULES.items()
        if (found := rule(resources, config))
    }

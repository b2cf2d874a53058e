"""Rules every stack must pass, as plain functions over the resources a program declares
(recorded under mocks by components/plan.py). Each returns its violations; CI runs them
on every stack file, and each has a test with a resource that breaks it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from components.aurora import DEV_STACK_TAG
from components.ecs_service import PLAIN_HTTP_TAG
from components.plan import ACCOUNT, REGION, Declared

Rule = Callable[[list[Declared]], list[str]]


def _arn_of(resource: Declared) -> str:
    """The ARN the recording mocks give a resource (components/plan.py)."""
    return f"arn:aws:mock:{REGION}:{ACCOUNT}:{resource.name}"


def _of(resources: Iterable[Declared], type_: str) -> list[Declared]:
    return [r for r in resources if r.type == type_]


def _targets(resources: list[Declared], type_: str, bucket_id: str) -> list[Declared]:
    return [r for r in _of(resources, type_) if r.inputs.get("bucket") == bucket_id]


def buckets_block_public_access(resources: list[Declared]) -> list[str]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    problems = []
    for bucket in _of(resources, "aws:s3/bucket:Bucket"):
        blocks = _targets(
            resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{bucket.name}-id"
        )
        if not any(all(b.inputs.get(f) is True for f in flags) for b in blocks):
            problems.append(f"bucket {bucket.name}: public access is not fully blocked")
    return problems


def buckets_encrypted_and_tls_only(resources: list[Declared]) -> list[str]:
    problems = []
    for bucket in _of(resources, "aws:s3/bucket:Bucket"):
        bucket_id = f"{bucket.name}-id"
        sse = (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        if not _targets(resources, sse, bucket_id):
            problems.append(f"bucket {bucket.name}: no default encryption")
        policies = _targets(resources, "aws:s3/bucketPolicy:BucketPolicy", bucket_id)
        if not any("aws:SecureTransport" in str(p.inputs.get("policy")) for p in policies):
            problems.append(f"bucket {bucket.name}: no TLS-only bucket policy")
    return problems


def no_public_ips_on_tasks(resources: list[Declared]) -> list[str]:
    return [
        f"ECS service {s.name}: tasks get public IPs"
        for s in _of(resources, "aws:ecs/service:Service")
        if s.inputs.get("networkConfiguration", {}).get("assignPublicIp") is not False
    ]


def deployments_roll_back(resources: list[Declared]) -> list[str]:
    return [
        f"ECS service {s.name}: no deployment circuit breaker with rollback"
        for s in _of(resources, "aws:ecs/service:Service")
        if s.inputs.get("deploymentCircuitBreaker") != {"enable": True, "rollback": True}
    ]


def containers_hardened(resources: list[Declared]) -> list[str]:
    problems = []
    for task in _of(resources, "aws:ecs/taskDefinition:TaskDefinition"):
        for container in json.loads(task.inputs["containerDefinitions"]):
            where = f"task {task.name} container {container['name']}"
            if container.get("readonlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            if container.get("privileged"):
                problems.append(f"{where}: privileged")
            if str(container.get("user", "root")).split(":")[0] in ("root", "0"):
                problems.append(f"{where}: runs as root")
            if container.get("environment"):
                problems.append(f"{where}: plain environment values (use SSM/Secrets Manager)")
    return problems


def load_balancers_https(resources: list[Declared]) -> list[str]:
    problems = []
    listeners = _of(resources, "aws:lb/listener:Listener")
    for lb in _of(resources, "aws:lb/loadBalancer:LoadBalancer"):
        own = [x for x in listeners if x.inputs.get("loadBalancerArn") == _arn_of(lb)]
        if lb.inputs.get("dropInvalidHeaderFields") is not True:
            problems.append(f"load balancer {lb.name}: invalid header fields are not dropped")
        https = [x for x in own if x.inputs.get("protocol") == "HTTPS"]
        if not https and PLAIN_HTTP_TAG not in (lb.inputs.get("tags") or {}):
            problems.append(f"load balancer {lb.name}: no HTTPS listener")
        for listener in own:
            if (
                listener.inputs.get("protocol") == "HTTP"
                and https
                and not any(
                    a.get("type") == "redirect" for a in listener.inputs.get("defaultActions", [])
                )
            ):
                problems.append(f"listener {listener.name}: HTTP does not redirect to HTTPS")
    return problems


def logs_expire(resources: list[Declared]) -> list[str]:
    return [
        f"log group {g.name}: no retention"
        for g in _of(resources, "aws:cloudwatch/logGroup:LogGroup")
        if not g.inputs.get("retentionInDays")
    ]


def _statements(document: Any) -> list[dict[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = parsed.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


# Actions AWS defines without resource-level permissions: "*" is the only form IAM takes
# for them, so the rule asks for a region condition instead.
NO_RESOURCE_LEVEL = frozenset(
    {
        "textract:StartDocumentTextDetection",
        "textract:GetDocumentTextDetection",
        "transcribe:StartTranscriptionJob",
        "transcribe:GetTranscriptionJob",
        "transcribe:DeleteTranscriptionJob",
    }
)


def _region_bound_exception(statement: dict[str, Any]) -> bool:
    actions = statement.get("Action", [])
    actions = actions if isinstance(actions, list) else [actions]
    region = statement.get("Condition", {}).get("StringEquals", {}).get("aws:RequestedRegion")
    return bool(actions) and set(actions) <= NO_RESOURCE_LEVEL and bool(region)


def iam_resources_named(resources: list[Declared]) -> list[str]:
    """No Allow on ``"Resource": "*"`` in the policies this program writes (AWS-managed
    policies attached by ARN are AWS's own), except for actions that have no
    resource-level permissions, and then only held to a region."""
    problems = []
    for policy in _of(resources, "aws:iam/rolePolicy:RolePolicy") + _of(
        resources, "aws:iam/policy:Policy"
    ):
        for statement in _statements(policy.inputs.get("policy", "{}")):
            targets = statement.get("Resource", [])
            targets = targets if isinstance(targets, list) else [targets]
            if (
                statement.get("Effect") == "Allow"
                and any(t == "*" for t in targets)
                and not _region_bound_exception(statement)
            ):
                problems.append(f"IAM policy {policy.name}: Allow on Resource '*'")
    return problems


def vector_indexes_match_the_app(resources: list[Declared]) -> list[str]:
    from rag_app.vectorstores.records import NON_FILTERABLE_FIELDS

    problems = []
    for index in _of(resources, "aws:s3/vectorsIndex:VectorsIndex"):
        keys = index.inputs.get("metadataConfiguration", {}).get("nonFilterableMetadataKeys", [])
        if (index.inputs.get("distanceMetric"), index.inputs.get("dataType")) != (
            "cosine",
            "float32",
        ):
            problems.append(f"vector index {index.name}: not cosine/float32")
        if sorted(keys) != sorted(NON_FILTERABLE_FIELDS):
            problems.append(f"vector index {index.name}: non-filterable keys differ from the app's")
    return problems


def catalog_tables_protected(resources: list[Declared]) -> list[str]:
    """DynamoDB tables: on demand, point-in-time recovery, encrypted, deletion-protected;
    and no IAM policy grants DynamoDB actions beyond a named table and its indexes."""
    problems = []
    tables = _of(resources, "aws:dynamodb/table:Table")
    named = {_arn_of(t) for t in tables} | {f"{_arn_of(t)}/index/*" for t in tables}
    for table in tables:
        inputs = table.inputs
        if inputs.get("billingMode") != "PAY_PER_REQUEST":
            problems.append(f"table {table.name}: not on-demand")
        if not inputs.get("pointInTimeRecovery", {}).get("enabled"):
            problems.append(f"table {table.name}: no point-in-time recovery")
        if not inputs.get("serverSideEncryption", {}).get("enabled"):
            problems.append(f"table {table.name}: not encrypted with KMS")
        if not inputs.get("deletionProtectionEnabled"):
            problems.append(f"table {table.name}: no deletion protection")
    for policy in _of(resources, "aws:iam/rolePolicy:RolePolicy"):
        for statement in _statements(policy.inputs.get("policy")):
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if not any(str(a).startswith("dynamodb:") or a == "*" for a in actions):
                continue
            resources_ = statement.get("Resource", [])
            resources_ = [resources_] if isinstance(resources_, str) else resources_
            if any(a in ("dynamodb:*", "*") for a in actions) or not set(resources_) <= named:
                problems.append(f"IAM policy {policy.name}: DynamoDB beyond a named table")
    return problems


def databases_encrypted_private_protected(resources: list[Declared]) -> list[str]:
    """Aurora: encrypted, RDS-managed password (none in config or state), IAM auth on,
    backups kept, deletion protection and a final snapshot unless tagged a dev stack, and
    instances never public."""
    problems = []
    for db in _of(resources, "aws:rds/cluster:Cluster"):
        i = db.inputs
        where = f"database {db.name}"
        if i.get("storageEncrypted") is not True:
            problems.append(f"{where}: storage not encrypted")
        if i.get("manageMasterUserPassword") is not True or "masterPassword" in i:
            problems.append(f"{where}: master password not managed by RDS in Secrets Manager")
        if i.get("iamDatabaseAuthenticationEnabled") is not True:
            problems.append(f"{where}: IAM database authentication off")
        if not i.get("backupRetentionPeriod"):
            problems.append(f"{where}: no backup retention")
        if DEV_STACK_TAG not in (i.get("tags") or {}) and not (
            i.get("deletionProtection") is True and i.get("skipFinalSnapshot") is not True
        ):
            problems.append(f"{where}: no deletion protection or final snapshot")
    problems += [
        f"database instance {x.name}: publicly accessible"
        for x in _of(resources, "aws:rds/clusterInstance:ClusterInstance")
        if x.inputs.get("publiclyAccessible") is not False
    ]
    return problems


def kubernetes_clusters_hardened(resources: list[Declared]) -> list[str]:
    """EKS (a remote component: its inputs are all there is to check under mocks)."""
    from components.eks_cluster import CONTROL_PLANE_LOGS

    problems = []
    for cluster in _of(resources, "eks:index:Cluster"):
        i = cluster.inputs
        where = f"EKS cluster {cluster.name}"
        if (i.get("autoMode") or {}).get("enabled") is not True:
            problems.append(f"{where}: not in Auto Mode")
        if i.get("authenticationMode") != "API":
            problems.append(f"{where}: authentication mode is not API (access entries)")
        if not i.get("encryptionConfigKeyArn"):
            problems.append(f"{where}: Kubernetes secrets not encrypted with KMS")
        if sorted(i.get("enabledClusterLogTypes") or []) != sorted(CONTROL_PLANE_LOGS):
            problems.append(f"{where}: not every control-plane log type is on")
        if i.get("endpointPublicAccess") is not False and (
            not i.get("publicAccessCidrs") or "0.0.0.0/0" in i["publicAccessCidrs"]
        ):
            problems.append(f"{where}: API endpoint open to the internet")
    return problems


def kms_keys_rotate(resources: list[Declared]) -> list[str]:
    return [
        f"KMS key {k.name}: rotation off"
        for k in _of(resources, "aws:kms/key:Key")
        if k.inputs.get("enableKeyRotation") is not True
    ]


RULES: dict[str, Rule] = {
    "buckets-block-public-access": buckets_block_public_access,
    "buckets-encrypted-and-tls-only": buckets_encrypted_and_tls_only,
    "no-public-ips-on-tasks": no_public_ips_on_tasks,
    "deployments-roll-back": deployments_roll_back,
    "containers-hardened": containers_hardened,
    "load-balancers-https": load_balancers_https,
    "logs-expire": logs_expire,
    "iam-resources-named": iam_resources_named,
    "vector-indexes-match-the-app": vector_indexes_match_the_app,
    "catalog-tables-protected": catalog_tables_protected,
    "databases-encrypted-private-protected": databases_encrypted_private_protected,
    "kubernetes-clusters-hardened": kubernetes_clusters_hardened,
    "kms-keys-rotate": kms_keys_rotate,
}


def violations(resources: list[Declared]) -> dict[str, list[str]]:
    return {name: found for name, rule in RULES.items() if (found := rule(resources))}

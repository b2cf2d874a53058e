"""The Pulumi program under Pulumi's mocks (no CLI, no plugins): what the ECS stack
declares, the policy rules every stack must pass, and the stack config's errors. The EKS
stack's own tests are in test_pulumi_eks.py."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from components.app_environment import AppTargets, QueueTarget, app_environment
from components.config import ConfigError, ModelsConfig, parse_stack_config
from policy.plan import Declared, summary
from policy.rules import RULES, PolicyConfig, violations
from rag_app.settings import Settings
from tests.support.pulumi_stacks import ROOT, StackFailed, of, one, record, replace, unwrap

AUDIT_ARN = "arn:aws:s3:::audit-bucket"  # as the recording mocks name it
HTTPS = {
    "platform": "ecs",
    "ecs": {},
    "https": {"certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"},
}


@pytest.fixture(scope="module")
def ecs() -> list[Declared]:
    return record("ecs")


@pytest.fixture(scope="module")
def eks() -> list[Declared]:
    return record("eks")


@pytest.fixture(scope="module")
def ecs_dev() -> list[Declared]:
    return record("ecs-dev")


DATA_KEY = "arn:aws:kms:us-east-1:123456789012:key/0000aaaa-data"  # the mocks' ARN
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def named(resources: list[Declared], type_: str, name: str) -> Declared:
    (found,) = [r for r in of(resources, type_) if r.name == name]
    return found


def test_every_component_and_resource_type_is_declared(ecs: list[Declared]) -> None:
    types = {r.type for r in ecs}
    assert {
        "rag:components:Network",
        "rag:components:DocumentBucket",
        "rag:components:S3VectorIndex",
        "rag:components:CatalogTable",
        "aws:dynamodb/table:Table",
        "rag:components:ImageBuild",
        "rag:components:Https",
        "rag:components:EdgeProtection",
        "rag:components:Operations",
        "command:local:Command",
        "aws:codebuild/project:Project",
        "aws:wafv2/webAcl:WebAcl",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:backup/plan:Plan",
        "rag:components:EcsService",
        "aws:ec2/vpc:Vpc",
        "aws:s3/bucket:Bucket",
        "aws:s3/vectorsVectorBucket:VectorsVectorBucket",
        "aws:s3/vectorsIndex:VectorsIndex",
        "aws:ecr/repository:Repository",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/service:Service",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/listener:Listener",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:appautoscaling/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
    } <= types
    children = [r for r in ecs if r.custom]
    assert all(
        r.parent.split("::")[-2].split("$")[-1].startswith("rag:components:") for r in children
    )


def test_network_private_subnets_endpoints_and_no_nat(ecs: list[Declared]) -> None:
    subnets = of(ecs, "aws:ec2/subnet:Subnet")
    assert len(subnets) == 4
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    services = {
        e.inputs["serviceName"].split(".", 3)[-1]: e.inputs["vpcEndpointType"]
        for e in of(ecs, "aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert services == {
        "s3": "Gateway",
        "dynamodb": "Gateway",  # the catalog
        "bedrock-runtime": "Interface",
        "s3vectors": "Interface",
        "secretsmanager": "Interface",
        "ssm": "Interface",
        "ecr.api": "Interface",
        "ecr.dkr": "Interface",
        "logs": "Interface",
        "sts": "Interface",
        "textract": "Interface",
        "transcribe": "Interface",
        "sqs": "Interface",  # the ingestion queue
    }
    assert of(ecs, "aws:ec2/natGateway:NatGateway") == []


def test_documents_bucket_is_private_encrypted_versioned(ecs: list[Declared]) -> None:
    block = named(ecs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "documents").inputs
    assert all(
        block[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = named(
        ecs,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "documents",
    ).inputs
    by_default = sse["rules"][0]["applyServerSideEncryptionByDefault"]
    assert by_default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": DATA_KEY}
    versioning = named(ecs, "aws:s3/bucketVersioning:BucketVersioning", "documents").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    policy = named(ecs, "aws:s3/bucketPolicy:BucketPolicy", "documents").inputs["policy"]
    assert "aws:SecureTransport" in policy
    bucket = named(ecs, "aws:s3/bucket:Bucket", "documents")
    assert bucket.protect
    assert bucket.retain_on_delete


def test_vector_index_matches_the_app(ecs: list[Declared]) -> None:
    index = one(ecs, "aws:s3/vectorsIndex:VectorsIndex").inputs
    assert (index["dimension"], index["distanceMetric"], index["dataType"]) == (
        1024,
        "cosine",
        "float32",
    )
    assert index["indexName"] == "chunks-amazon-titan-embed-text-v2-0-1024"


def test_the_catalog_table_is_protected_and_the_app_reaches_only_it(ecs: list[Declared]) -> None:
    table = named(ecs, "aws:dynamodb/table:Table", "catalog")
    inputs = table.inputs
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert inputs["serverSideEncryption"]["enabled"] is True
    assert inputs["deletionProtectionEnabled"] is True
    assert {i["name"] for i in inputs["globalSecondaryIndexes"]} == {
        "by-collection", "by-kind", "jobs-by-document",
    }  # fmt: skip
    assert inputs["serverSideEncryption"]["kmsKeyArn"] == DATA_KEY  # as the other stores
    assert table.protect
    assert table.retain_on_delete
    task = named(ecs, "aws:iam/rolePolicy:RolePolicy", "app-task")
    statements = json.loads(task.inputs["policy"])["Statement"]
    (statement,) = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    arn = f"arn:aws:mock:us-east-1:123456789012:{table.name}"
    assert statement["Resource"] == [arn, f"{arn}/index/*"]
    assert sorted(statement["Action"]) == [
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
    ]  # fmt: skip
    data_key = next(s for s in statements if s["Sid"] == "DataKey")
    assert (
        "dynamodb.us-east-1.amazonaws.com"
        in data_key["Condition"]["StringEquals"]["kms:ViaService"]
    )


def test_service_tasks_are_private_hardened_and_roll_back(ecs: list[Declared]) -> None:
    service = named(ecs, "aws:ecs/service:Service", "app").inputs
    assert service["networkConfiguration"]["assignPublicIp"] is False
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    (container,) = json.loads(
        named(ecs, "aws:ecs/taskDefinition:TaskDefinition", "app").inputs["containerDefinitions"]
    )
    assert container["readonlyRootFilesystem"] is True
    assert container["user"] == "10001:10001"
    assert "environment" not in container  # settings come from SSM, as container secrets
    parameters = {
        p.inputs["name"].rsplit("/", 1)[-1]: p
        for p in of(ecs, "aws:ssm/parameter:Parameter")
        if p.inputs["name"].split("/")[-2] == "app"  # the workers': test_pulumi_queue.py
    }
    settings = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert settings.pop("RAG_SESSION_SECRET") == "arn:aws:mock:us-east-1:123456789012:session"
    assert set(settings) == set(parameters)
    value = {k: unwrap(p.inputs["value"]) for k, p in parameters.items()}
    assert value["RAG_VECTOR_STORE"] == "s3vectors"
    assert value["RAG_CATALOG"] == "dynamodb"
    assert "RAG_DYNAMODB_TABLE" in value  # the table's generated name (unknown under mocks)
    assert value["RAG_DOCUMENTS_BUCKET"] == "documents-bucket"
    assert value["RAG_AUTH"] == "required"
    secret = named(ecs, "aws:secretsmanager/secret:Secret", "api-keys")
    assert value["RAG_API_KEYS_SECRET_ID"] == f"arn:aws:mock:us-east-1:123456789012:{secret.name}"
    version = named(ecs, "aws:secretsmanager/secretVersion:SecretVersion", "api-keys").inputs
    assert unwrap(version["secretString"]) == "[]"  # created empty; keys come from rag-app keys
    execution = json.loads(
        next(
            p for p in of(ecs, "aws:iam/rolePolicy:RolePolicy") if p.name == "app-execution"
        ).inputs["policy"]
    )
    assert execution["Statement"][0]["Action"] == ["ssm:GetParameters"]
    assert sorted(execution["Statement"][0]["Resource"]) == sorted(settings.values())
    cluster = one(ecs, "aws:ecs/cluster:Cluster").inputs
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert named(ecs, "aws:cloudwatch/logGroup:LogGroup", "app").inputs["retentionInDays"] == 30
    assert service["waitForSteadyState"] is True  # pulumi up ends with healthy tasks
    assert "@sha256:" in container["image"]
    assert (
        one(ecs, "aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]["path"] == "/health/ready"
    )


def test_task_role_names_every_resource(ecs: list[Declared]) -> None:
    task = next(p for p in of(ecs, "aws:iam/rolePolicy:RolePolicy") if p.name == "app-task")
    policy = json.loads(task.inputs["policy"])
    for statement in policy["Statement"]:
        if statement["Sid"] in ("DocumentAnalysis", "Rerank"):  # no resource-level permissions
            assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
            continue
        assert statement["Resource"] != "*"
        assert "*" not in statement["Resource"]
    models = next(s for s in policy["Statement"] if s["Sid"] == "Models")
    # us.amazon.nova-lite-v1:0 is an inference profile: its ARN plus the model in every
    # Region it routes to.
    assert models["Resource"] == sorted(
        [
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0",
        ]
    )
    data_key = next(s for s in policy["Statement"] if s["Sid"] == "DataKey")
    assert data_key["Resource"] == [DATA_KEY]
    assert data_key["Condition"]["StringEquals"]["kms:ViaService"] == [
        "s3.us-east-1.amazonaws.com",
        "s3vectors.us-east-1.amazonaws.com",
        "secretsmanager.us-east-1.amazonaws.com",
        "dynamodb.us-east-1.amazonaws.com",  # the catalog table
    ]
    rerank = next(s for s in policy["Statement"] if s["Sid"] == "RerankModel")
    assert rerank["Action"] == ["bedrock:InvokeModel"]
    assert rerank["Resource"] == [
        "arn:aws:bedrock:us-east-1::foundation-model/cohere.rerank-v3-5:0"
    ]
    keys = next(s for s in policy["Statement"] if s["Sid"] == "ApiKeys")
    assert keys["Action"] == ["secretsmanager:GetSecretValue"]  # read only: operators write


def test_https_by_default_with_a_certificate_acm_validates_in_route53(
    ecs: list[Declared],
) -> None:
    listeners = {r.inputs["protocol"]: r for r in of(ecs, "aws:lb/listener:Listener")}
    https, http = listeners["HTTPS"].inputs, listeners["HTTP"].inputs
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    validation = one(ecs, "aws:acm/certificateValidation:CertificateValidation")
    assert validation.urn in listeners["HTTPS"].from_("certificateArn")
    assert one(ecs, "aws:acm/certificate:Certificate").inputs == {
        "domainName": "rag.example-legal.com",
        "validationMethod": "DNS",
    }
    assert http["defaultActions"] == [
        {
            "type": "redirect",
            "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"},
        }
    ]
    alias = named(ecs, "aws:route53/record:Record", "service").inputs
    assert (alias["name"], alias["type"]) == ("rag.example-legal.com", "A")
    assert alias["aliases"][0]["name"] == "app.elb.amazonaws.com"
    lb = one(ecs, "aws:lb/loadBalancer:LoadBalancer")
    assert lb.inputs["dropInvalidHeaderFields"] is True
    assert lb.inputs["accessLogs"]["enabled"] is True
    association = one(ecs, "aws:wafv2/webAclAssociation:WebAclAssociation")
    assert lb.urn in association.from_("resourceArn")


def test_a_dev_stack_serves_plain_http_and_protects_nothing(ecs_dev: list[Declared]) -> None:
    (listener,) = of(ecs_dev, "aws:lb/listener:Listener")
    assert listener.inputs["protocol"] == "HTTP"
    assert listener.inputs["defaultActions"][0]["type"] == "forward"
    assert not [r for r in ecs_dev if r.protect]
    assert of(ecs_dev, "aws:acm/certificate:Certificate") == []
    assert len(of(ecs_dev, "aws:ec2/natGateway:NatGateway")) == 1  # the minimal network
    # No interface endpoints; the free gateways only (S3, and DynamoDB for the catalog).
    assert sorted(
        (e.inputs["serviceName"].rsplit(".", 1)[-1], e.inputs["vpcEndpointType"])
        for e in of(ecs_dev, "aws:ec2/vpcEndpoint:VpcEndpoint")
    ) == [("dynamodb", "Gateway"), ("s3", "Gateway")]
    (table,) = of(ecs_dev, "aws:dynamodb/table:Table")
    assert table.inputs["deletionProtectionEnabled"] is False  # a dev stack protects nothing


def test_the_stacks_pass_every_policy(
    ecs: list[Declared], ecs_dev: list[Declared], eks: list[Declared]
) -> None:
    assert violations(ecs) == {}
    assert violations(ecs_dev) == {}
    assert violations(eks) == {}


def test_the_dev_exemption_is_the_stacks_name_not_the_program(ecs_dev: list[Declared]) -> None:
    # The same resources under a production stack's name fail HTTPS and data protection.
    renamed = [
        dataclasses.replace(r, urn=r.urn.replace("urn:pulumi:ecs-dev::", "urn:pulumi:prod::"))
        for r in ecs_dev
    ]
    found = violations(renamed)
    assert "https-everywhere" in found
    assert "data-protected" in found


# -- each policy rule catches a resource that breaks it ------------------------------------


def _container(resources: list[Declared], **changes: Any) -> list[Declared]:
    task = named(resources, "aws:ecs/taskDefinition:TaskDefinition", "app")
    (container,) = json.loads(task.inputs["containerDefinitions"])
    return replace(
        resources, task.type, containerDefinitions=json.dumps([{**container, **changes}])
    )


BREAKERS: dict[str, Any] = {
    "buckets-block-public-access": lambda r: replace(
        r, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", blockPublicPolicy=False
    ),
    "buckets-encrypted-and-tls-only": lambda r: [
        x for x in r if x.type != "aws:s3/bucketPolicy:BucketPolicy"
    ],
    "no-public-ips-on-tasks": lambda r: replace(
        r, "aws:ecs/service:Service", networkConfiguration={"assignPublicIp": True}
    ),
    "deployments-roll-back-and-wait": lambda r: replace(
        r, "aws:ecs/service:Service", deploymentCircuitBreaker={"enable": True, "rollback": False}
    ),
    "images-pinned-by-digest": lambda r: _container(r, image="123.dkr.ecr/app:latest"),
    "ecr-immutable-and-scanned": lambda r: replace(
        r, "aws:ecr/repository:Repository", imageTagMutability="MUTABLE"
    ),
    "data-protected": lambda r: [
        dataclasses.replace(x, protect=False) if x.type == "aws:s3/vectorsIndex:VectorsIndex" else x
        for x in r
    ],
    "backups-planned": lambda r: [x for x in r if x.type != "aws:backup/selection:Selection"],
    "web-acl-on-every-alb": lambda r: [
        x for x in r if x.type != "aws:wafv2/webAclAssociation:WebAclAssociation"
    ],
    "load-balancers-log-access": lambda r: replace(
        r, "aws:lb/loadBalancer:LoadBalancer", accessLogs={"enabled": False}
    ),
    "security-group-rules-standalone": lambda r: replace(
        r,
        "aws:ec2/securityGroup:SecurityGroup",
        ingress=[{"protocol": "tcp", "fromPort": 443, "toPort": 443}],
    ),
    "alarms-notify": lambda r: [
        dataclasses.replace(x, property_dependencies={})
        if x.type == "aws:cloudwatch/metricAlarm:MetricAlarm"
        else x
        for x in r
    ],
    "containers-hardened": lambda r: _container(r, user="root", environment=[{"name": "A"}]),
    # The session key as a plain String parameter, as every other setting is.
    "sessions-share-a-secret-key": lambda r: [
        *r,
        Declared(
            "aws:ssm/parameter:Parameter",
            "app-rag-session-secret",
            {"name": "/ecs/app/RAG_SESSION_SECRET", "type": "String", "value": "k"},
            True,
        ),
    ],
    "https-everywhere": lambda r: [x for x in r if x.type != "aws:lb/listener:Listener"],
    "logs-expire": lambda r: replace(r, "aws:cloudwatch/logGroup:LogGroup", retentionInDays=0),
    "iam-resources-named": lambda r: replace(
        r,
        "aws:iam/rolePolicy:RolePolicy",
        policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    ),
    "catalog-tables-protected": lambda r: replace(
        r, "aws:dynamodb/table:Table", pointInTimeRecovery={"enabled": False}
    ),
    "vector-indexes-match-the-app": lambda r: replace(
        r, "aws:s3/vectorsIndex:VectorsIndex", distanceMetric="euclidean"
    ),
    # The app's role granted deletion on the audit bucket (Option 1's Object Lock store).
    "audit-store-append-only": lambda r: replace(
        r,
        "aws:iam/rolePolicy:RolePolicy",
        policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:Delete*"],
                        "Resource": [f"{AUDIT_ARN}/audit/*"],
                    }
                ]
            }
        ),
    ),
    "queues-encrypted": lambda r: replace(r, "aws:sqs/queue:Queue", sqsManagedSseEnabled=False),
    "queues-have-dead-letters": lambda r: replace(r, "aws:sqs/queue:Queue", redrivePolicy=None),
    "queues-tls-only": lambda r: [x for x in r if x.type != "aws:sqs/queuePolicy:QueuePolicy"],
    "queue-permissions-least-privilege": lambda r: replace(
        r,
        "aws:iam/rolePolicy:RolePolicy",
        policy=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": ["arn:aws:sqs:x"]}]}
        ),
    ),
}


BREAKERS_EKS: dict[str, Any] = {
    "databases-encrypted-private-protected": lambda r: replace(
        r, "aws:rds/cluster:Cluster", deletionProtection=False
    ),
    "kubernetes-clusters-hardened": lambda r: replace(
        r, "eks:index:Cluster", publicAccessCidrs=["0.0.0.0/0"]
    ),
    "kms-keys-rotate": lambda r: replace(r, "aws:kms/key:Key", enableKeyRotation=False),
    "network-policy-enforced-and-keeps-credentials": lambda r: [
        x for x in r if x.type != "kubernetes:core/v1:ConfigMap"
    ],
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_catches_a_violation(ecs: list[Declared], eks: list[Declared], rule: str) -> None:
    stack = eks if rule in BREAKERS_EKS else ecs
    broken = {**BREAKERS, **BREAKERS_EKS}[rule](stack)
    assert RULES[rule](stack, PolicyConfig()) == []
    assert RULES[rule](broken, PolicyConfig()), rule


# -- config errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"platform": "gke"}, "rag:platform: Input should be 'ecs' or 'eks'"),
        ({"platform": "ecs", "ecs": {}}, "rag:https needs domainName + hostedZone"),
        (
            {**HTTPS, "https": {"domainName": "rag.example.com", "hostedZone": "other.com"}},
            "rag:https.domainName must be in rag:https.hostedZone",
        ),
        (
            {**HTTPS, "ecs": {"imageUri": "123.dkr.ecr.us-east-1.amazonaws.com/app:latest"}},
            "rag:ecs.imageUri: String should match pattern",
        ),
        (
            {**HTTPS, "documents": {"createKmsKey": True, "kmsKeyArn": KEY}},
            "set kmsKeyArn (an existing key) or createKmsKey, not both",
        ),
        (
            {**HTTPS, "models": {"embeddingDimensions": 300}},
            "rag:models.embeddingDimensions: Input should be 256, 512 or 1024",
        ),
        (
            {**HTTPS, "network": {"cidr": "10.0.0.0/16"}},
            "rag:network.cidr: Extra inputs are not permitted",
        ),
        ({**HTTPS, "typo": 1}, "rag:typo: Extra inputs are not permitted"),
        ({"platform": "ecs"}, "the rag:ecs section is required"),
        ({"ecs": {}, "https": HTTPS["https"]}, "rag:platform: Field required"),
    ],
)
def test_bad_config_names_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_stack_config(raw)
    assert message in str(info.value)


def test_a_bad_stack_file_stops_the_program_before_any_resource() -> None:
    with pytest.raises(
        StackFailed, match=r"ConfigError: invalid stack configuration:\n  rag:platform"
    ):
        record("ecs", {"rag:platform": "lambda"})


def test_the_app_environment_is_valid_app_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = app_environment(
        AppTargets(
            region="eu-west-1",
            documents_bucket="docs",
            api_keys_secret="arn:aws:secretsmanager:eu-west-1:1:secret:keys",
            vector_bucket="vectors",
            catalog_table="catalog-table",
            queue=QueueTarget(
                url="https://sqs.eu-west-1.amazonaws.com/1/ingest",
                dead_letter_url="https://sqs.eu-west-1.amazonaws.com/1/ingest-dlq",
                max_receive_count=5,
                visibility_timeout_seconds=120,
            ),
        ),
        ModelsConfig(),
    )
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    assert (settings.vector_store, settings.catalog, settings.blob_store) == (
        "s3vectors",
        "dynamodb",
        "s3",
    )
    assert not settings.needs_postgres
    assert (settings.embedder, settings.answerer) == ("bedrock", "bedrock")
    assert settings.auth == "required"  # bound to 0.0.0.0: the app refuses to run without it


def test_the_committed_diagrams_match_the_program(ecs: list[Declared]) -> None:
    committed = json.loads((ROOT / "docs" / "plan-ecs.json").read_text())
    assert sorted((r["type"], r["name"]) for r in committed) == sorted(
        (r.type, r.name) for r in ecs
    )
    assert f"```mermaid\n{summary(ecs)}\n```" in (ROOT / "docs" / "plan-ecs.md").read_text()


def test_the_image_is_small_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile
    assert 'ENTRYPOINT ["rag-app", "serve"]' in dockerfile
    assert "--no-default-groups" in dockerfile  # no dev/infra tools, no local model
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*"
    assert not any(line.startswith("!tests") or line.startswith("!.rag") for line in ignored)


def test_a_one_off_task_runs_rag_app_commands_with_the_services_settings(
    ecs: list[Declared],
) -> None:
    tasks = {t.name: t.inputs for t in of(ecs, "aws:ecs/taskDefinition:TaskDefinition")}
    (service,) = json.loads(tasks["app"]["containerDefinitions"])
    (task,) = json.loads(tasks["app-task"]["containerDefinitions"])
    assert (task["entryPoint"], task["command"]) == (["rag-app"], ["init-db"])
    assert "portMappings" not in task
    assert task["readonlyRootFilesystem"] is True
    assert task["user"] == "10001:10001"
    source = next(s for s in of(ecs, "aws:secretsmanager/secret:Secret") if "migration" in s.name)
    source_arn = f"arn:aws:mock:us-east-1:123456789012:{source.name}"
    assert task["secrets"] == [
        *(s for s in service["secrets"] if s["name"] != "RAG_SESSION_SECRET"),  # serves nobody
        {"name": "MIGRATE_SOURCE_URL", "valueFrom": source_arn},
    ]
    grants = [
        json.loads(p.inputs["policy"])["Statement"][0]
        for p in of(ecs, "aws:iam/rolePolicy:RolePolicy")
        if p.name == "app-execution-migration-source"
    ]
    assert grants == [
        {
            "Sid": "MigrationSource",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [source_arn],
        }
    ]
    # No route to an on-prem database unless the stack names one.
    assert not [
        r
        for r in of(ecs, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.name == "app-to-migration-source"
    ]


def test_the_migration_source_cidr_opens_5432_to_it_only() -> None:
    from policy.plan import stack_file_config

    config = {
        **stack_file_config("ecs"),
        "rag:migration": json.dumps({"sourceCidr": "192.168.0.0/16"}),
    }
    rules = [
        r.inputs
        for r in of(
            record("ecs", config), "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
        )
        if r.name == "app-to-migration-source"
    ]
    assert [(r["cidrIpv4"], r["fromPort"], r["toPort"]) for r in rules] == [
        ("192.168.0.0/16", 5432, 5432)
    ]


def test_every_task_reads_the_one_session_secret_through_the_execution_role(
    ecs: list[Declared],
) -> None:
    """The web sign-in key: one generated secret, encrypted with the data key, that the
    serving tasks get as RAG_SESSION_SECRET; only the execution role may read it."""
    secret = named(ecs, "aws:secretsmanager/secret:Secret", "session").inputs
    assert (
        secret["kmsKeyId"]
        == named(ecs, "aws:secretsmanager/secret:Secret", "api-keys").inputs["kmsKeyId"]
    )
    assert secret["kmsKeyId"].startswith("arn:aws:kms:")
    version = named(ecs, "aws:secretsmanager/secretVersion:SecretVersion", "session")
    assert len(unwrap(version.inputs["secretString"])) == 64  # GetRandomPassword's
    assert version.ignore_changes == ["secretString"]  # pulumi up never signs everyone out
    arn = "arn:aws:mock:us-east-1:123456789012:session"
    containers = {
        name: json.loads(
            named(ecs, "aws:ecs/taskDefinition:TaskDefinition", name).inputs["containerDefinitions"]
        )[0]
        for name in ("app", "app-task")
    }
    assert {"name": "RAG_SESSION_SECRET", "valueFrom": arn} in containers["app"]["secrets"]
    assert "RAG_SESSION_SECRET" not in {s["name"] for s in containers["app-task"]["secrets"]}
    policies = {
        p.name: json.loads(p.inputs["policy"]) for p in of(ecs, "aws:iam/rolePolicy:RolePolicy")
    }
    readers = sorted(
        name
        for name, policy in policies.items()
        for statement in policy["Statement"]
        if arn in statement["Resource"]
    )
    assert readers == ["app-execution-session-secret"]
    (read, decrypt) = policies["app-execution-session-secret"]["Statement"]
    assert read["Action"] == ["secretsmanager:GetSecretValue"]
    assert read["Resource"] == [arn]
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Resource"] == [secret["kmsKeyId"]]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }

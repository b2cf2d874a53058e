"""Run the Pulumi program without the CLI or provider plugins, under Pulumi's mocks, and
record every resource it declares: the offline stand-in for `pulumi preview` that the tests
and the policy rules read, and that renders the architecture diagram in docs/.

    python -m policy.plan ecs            # writes docs/plan-ecs.json and docs/plan-ecs.md
    python -m policy.plan ecs --stdout   # prints the resources as JSON
        [--config '{"rag:platform": "ecs", ...}']   # instead of Pulumi.ecs.yaml's config

Pulumi's runtime leaves event loops and sockets behind, so callers that live on (the tests)
run this as a separate process.
"""

from __future__ import annotations

import argparse
import json
import runpy
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from policy.graph import Declared

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT = "123456789012"


def stack_file_config(stack: str) -> dict[str, str]:
    """The stack file's config as the CLI passes it: objects as JSON, scalars as strings."""
    data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {key: _as_config(value) for key, value in (data.get("config") or {}).items()}


def _as_config(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


_OUTPUTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "aws:s3/bucket:Bucket": lambda name: {
        "bucket": f"{name}-bucket",
        "arn": f"arn:aws:s3:::{name}-bucket",
    },
    "aws:s3/vectorsVectorBucket:VectorsVectorBucket": lambda name: {
        "vectorBucketArn": f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/{name}"
    },
    "aws:s3/vectorsIndex:VectorsIndex": lambda name: {
        "indexArn": f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/b/index/{name}"
    },
    "aws:ecr/repository:Repository": lambda name: {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}"
    },
    "aws:ecs/cluster:Cluster": lambda name: {"name": name},
    "aws:sqs/queue:Queue": lambda name: {
        "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
        "name": name,
    },
    "aws:ecs/service:Service": lambda name: {"name": name},
    "aws:cloudwatch/logGroup:LogGroup": lambda name: {"name": f"/rag/{name}"},
    "aws:rds/cluster:Cluster": lambda name: {
        "endpoint": f"{name}.cluster-abc.{REGION}.rds.amazonaws.com",
        "readerEndpoint": f"{name}.cluster-ro-abc.{REGION}.rds.amazonaws.com",
        "clusterResourceId": "cluster-ABCDEFGHIJKL0123456789",
        "masterUserSecrets": [
            {
                "secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-{name}",
                "secretStatus": "active",
                "kmsKeyId": "",
            }
        ],
    },
    # A remote component: none of its children exist under mocks (pulumi/pulumi#15731).
    "eks:index:Cluster": lambda name: {
        "kubeconfigJson": json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": []}),
        "clusterSecurityGroupId": f"sg-{name}-cluster",
        "autoModeNodeRoleName": f"{name}-auto-mode-node",
    },
    # The image build's runner prints the pushed digest.
    "command:local:Command": lambda name: {"stdout": f"sha256:{MOCK_DIGEST}\n"},
    "aws:acm/certificate:Certificate": lambda name: {
        "domainValidationOptions": [
            {
                "domainName": "rag.example-legal.com",
                "resourceRecordName": "_x1.rag.example-legal.com.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": "_x2.acm-validations.aws.",
            }
        ]
    },
    "aws:route53/record:Record": lambda name: {"fqdn": f"{name}.example-legal.com"},
    "aws:lb/loadBalancer:LoadBalancer": lambda name: {
        "dnsName": f"{name}.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
        "arnSuffix": f"app/{name}/0123456789abcdef",
    },
    "aws:lb/targetGroup:TargetGroup": lambda name: {"arnSuffix": f"targetgroup/{name}/01234"},
    "aws:kms/key:Key": lambda name: {
        "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000aaaa-{name}",
        "keyId": f"0000aaaa-{name}",
    },
    "aws:wafv2/webAcl:WebAcl": lambda name: {
        "arn": f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/{name}/0123"
    },
    "kubernetes:networking.k8s.io/v1:Ingress": lambda name: {
        "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-rag.elb.amazonaws.com"}]}}
    },
}
MOCK_DIGEST = "0" * 64


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.declared: list[Declared] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.declared.append(Declared(args.typ, args.name, dict(args.inputs), bool(args.custom)))
        outputs = {"arn": f"arn:aws:mock:{REGION}:{ACCOUNT}:{args.name}", **args.inputs}
        if args.typ in _OUTPUTS:
            outputs.update(_OUTPUTS[args.typ](args.name))
        return f"{args.name}-id", outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return self._invoke(args), []

    @staticmethod
    def _invoke(args: MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "names": [f"{REGION}{z}" for z in "abc"],
                "id": REGION,
                "zoneIds": ["use1-az1", "use1-az2", "use1-az4"],
            }
        if args.token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            return {
                "id": "pl-63a5400a",
                "name": args.args.get("name", ""),
                "entries": [{"cidr": "3.5.0.0/19"}, {"cidr": "52.216.0.0/15"}],
            }
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer"}
        if args.token == "aws:secretsmanager/getRandomPassword:getRandomPassword":
            # Fixed, so the recorded plan is stable (the real one comes from AWS).
            length = int(args.args.get("passwordLength", 32))
            return {"randomPassword": "mock" * (length // 4), "id": REGION}
        if args.token == "aws:lb/getLoadBalancer:getLoadBalancer":
            name = args.args.get("name", "")
            return {"name": name, "arnSuffix": f"app/{name}/0123456789abcdef", "id": name}
        if args.token == "aws:route53/getZone:getZone":
            return {"zoneId": "Z0123456789EXAMPLE", "name": args.args.get("name", "")}
        return {}


class RecordingMonitor(MockMonitor):
    """Also records what the engine would know of each resource beyond its inputs: URN,
    parent, resource options and dependencies (registrations arrive on several threads, so
    they are keyed by type and name, which Pulumi keeps unique)."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.lineage: dict[tuple[str, str], dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        self.lineage[(request.type, request.name)] = {
            "urn": response.urn,
            "parent": request.parent,
            "protect": bool(request.protect),
            "retain_on_delete": bool(request.retainOnDelete),
            "ignore_changes": sorted(request.ignoreChanges),
            "dependencies": sorted(request.dependencies),
            "property_dependencies": {
                key: sorted(value.urns) for key, value in request.propertyDependencies.items()
            },
        }
        return response


def record(stack: str, config: dict[str, str] | None = None) -> list[Declared]:
    """Run __main__.py for ``stack`` (its stack file's config unless ``config`` is given)."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="rag-app", stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(stack_file_config(stack) if config is None else config)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    program()
    for declared in mocks.declared:
        # A resource read with .get() (the Ingress's address) is not registered.
        for key, value in monitor.lineage.get((declared.type, declared.name), {}).items():
            setattr(declared, key, value)
    return sorted(mocks.declared, key=lambda d: d.urn)  # registration order varies by thread


def mermaid(declared: list[Declared]) -> str:
    """Components and their children as a Mermaid flowchart."""
    by_urn = {d.urn: d for d in declared}
    lines = ["flowchart LR"]
    for i, d in enumerate(declared):
        d_id = f"r{i}"
        label = f"{d.type.split(':')[-1]}<br/>{d.name}"
        lines.append(f'  {d_id}["{label}"]' if d.custom else f'  {d_id}(["{label}"])')
    ids = {d.urn: f"r{i}" for i, d in enumerate(declared)}
    for d in declared:
        if d.parent in by_urn:
            lines.append(f"  {ids[d.parent]} --> {ids[d.urn]}")
    return "\n".join(lines)


def summary(declared: list[Declared]) -> str:
    """One node per component, listing the resource types it holds (for the README)."""
    lines = ["flowchart TB", '  stack(["stack"])']
    # Our own components; remote ones (an EKS cluster, a Helm chart) show inside them.
    ours = (d for d in declared if d.type.startswith("rag:components:"))
    for i, component in enumerate(ours):
        kinds: dict[str, int] = {}
        for child in declared:
            if child.parent == component.urn:
                kind = child.type.split(":")[-1]
                kinds[kind] = kinds.get(kind, 0) + 1
        listed = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(kinds.items()))
        lines.append(f'  c{i}["{component.type.split(":")[-1]} {component.name}<br/>{listed}"]')
        lines.append(f"  stack --> c{i}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record a stack's resources under mocks.")
    parser.add_argument("stack")
    parser.add_argument("--stdout", action="store_true", help="print JSON, write no files")
    parser.add_argument("--config", help="the stack config as a JSON object of strings")
    args = parser.parse_args(argv)
    declared = record(args.stack, json.loads(args.config) if args.config else None)
    as_json = json.dumps([asdict(d) for d in declared], indent=1, sort_keys=True, default=str)
    if args.stdout:
        print(as_json)
        return
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    (docs / f"plan-{args.stack}.json").write_text(as_json + "\n")
    (docs / f"plan-{args.stack}.md").write_text(
        f"# Resources of the `{args.stack}` stack\n\nGenerated by `python -m policy.plan "
        f"{args.stack}` from the Pulumi program under mocks; do not edit.\n\n## Components"
        f"\n\n```mermaid\n{summary(declared)}\n```\n\n## Resources\n\n```mermaid\n"
        f"{mermaid(declared)}\n```\n"
    )
    print(f"{len(declared)} resources; wrote docs/plan-{args.stack}.json and .md")


if __name__ == "__main__":
    main()

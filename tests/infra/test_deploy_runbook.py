"""docs/deploy.md stays in step with the program: every `rag:` key it names exists in the
stack config's schema, every `pulumi stack output` it names is exported by the option whose
section names it, and each option's runbook is a numbered list."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from components.config import StackConfig
from policy.graph import Declared
from tests.support.pulumi_stacks import ROOT, record

RUNBOOK = (ROOT / "docs" / "deploy.md").read_text()
DEPLOY = (ROOT / "components" / "deploy.py").read_text()


def _keys(model: type[BaseModel], prefix: str = "rag:") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        alias = field.alias or name
        camel = alias if alias != name else re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
        keys.add(f"{prefix}{camel}")
        annotation = field.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys |= _keys(candidate, f"{prefix}{camel}.")
    return keys


def test_every_config_key_the_runbook_names_exists() -> None:
    named = set(re.findall(r"`(rag:[A-Za-z.]+)`", RUNBOOK))
    assert len(named) >= 15
    assert named - _keys(StackConfig) == set()


def _section(title: str) -> str:
    return RUNBOOK.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    ("title", "stack"),
    [("Option 1: ECS Fargate + S3 Vectors", "ecs"), ("Option 2: EKS Auto Mode", "eks")],
)
def test_each_options_runbook_is_numbered_and_names_exported_outputs(
    title: str, stack: str
) -> None:
    section = _section(title)
    steps = [int(n) for n in re.findall(r"^(\d+)\. ", section, re.M)]
    assert steps == list(range(1, len(steps) + 1))
    assert len(steps) >= 6
    outputs = set(re.findall(r"pulumi stack output (\w+)", section))
    assert outputs
    function = DEPLOY.split(f"def deploy_{stack}(", 1)[1].split("\ndef deploy_", 1)[0]
    exported = set(re.findall(r'pulumi\.export\("(\w+)"', function)) | set(
        re.findall(
            r'pulumi\.export\("(\w+)"',
            DEPLOY.split("def _export_common", 1)[1].split("\ndef ", 1)[0],
        )
    )
    assert outputs - exported == set()


def test_the_runbook_names_the_stacks_resources_that_exist() -> None:
    resources: list[Declared] = record("ecs")
    names = {r.name for r in resources}
    assert "ops-access-logs" in names  # "the ALB's access logs go to the ops-access-logs bucket"

"""The policy pack as the Pulumi engine runs it: each rule wrapped as a mandatory
pulumi-policy stack validation, fed ``PolicyResource`` objects like the analyzer's, reports
the same findings the tests' graph gives, and honours the pack's devStacks config."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)

from policy.graph import Declared
from policy.pack import declared, stack_policies
from policy.rules import RULES
from tests.support.pulumi_stacks import record


def engine_view(resources: list[Declared]) -> list[PolicyResource]:
    """The stack as the engine hands it to a policy pack (parents and dependencies as
    resources, options as PolicyResourceOptions)."""
    by_urn: dict[str, PolicyResource] = {}
    for r in resources:
        if not r.urn:
            continue
        by_urn[r.urn] = PolicyResource(
            resource_type=r.type,
            props=r.inputs,
            urn=r.urn,
            name=r.name,
            opts=PolicyResourceOptions(
                protect=r.protect,
                ignore_changes=r.ignore_changes,
                delete_before_replace=None,
                aliases=[],
                custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                additional_secret_outputs=[],
                parent=r.parent or None,
            ),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
    for r in resources:
        if r.urn in by_urn:
            view = by_urn[r.urn]
            view.parent = by_urn.get(r.parent)
            view.dependencies = [by_urn[u] for u in r.dependencies if u in by_urn]
            view.property_dependencies = {
                k: [by_urn[u] for u in urns if u in by_urn]
                for k, urns in r.property_dependencies.items()
            }
    return list(by_urn.values())


def run_pack(resources: list[Declared], config: dict[str, Any] | None = None) -> dict[str, list]:
    found: dict[str, list[tuple[str, str | None]]] = {}
    view = engine_view(resources)
    for policy in stack_policies():
        reported: list[tuple[str, str | None]] = []
        args = StackValidationArgs(view, config or {})
        policy.validate(  # type: ignore[attr-defined]
            args, lambda message, urn=None, out=reported: out.append((message, urn))
        )
        if reported:
            found[policy.name] = reported
    return found


@pytest.fixture(scope="module")
def ecs() -> list[Declared]:
    return record("ecs")


def test_the_pack_has_a_mandatory_policy_per_rule() -> None:
    policies = stack_policies()
    assert [p.name for p in policies] == list(RULES)
    assert len(policies) >= 15
    assert {p.enforcement_level for p in policies} == {EnforcementLevel.MANDATORY}
    assert all(p.description for p in policies)


def test_the_committed_stack_passes_the_pack_as_the_engine_runs_it(ecs: list[Declared]) -> None:
    assert run_pack(ecs) == {}


def test_the_pack_reports_a_violation_with_the_resources_urn(ecs: list[Declared]) -> None:
    broken = [
        Declared(**{**r.__dict__, "inputs": {**r.inputs, "imageTagMutability": "MUTABLE"}})
        if r.type == "aws:ecr/repository:Repository"
        else r
        for r in ecs
    ]
    found = run_pack(broken)
    assert list(found) == ["ecr-immutable-and-scanned"]
    ((message, urn),) = found["ecr-immutable-and-scanned"]
    assert "mutable" in message
    assert urn is not None
    assert urn.endswith("aws:ecr/repository:Repository::app")


def test_dev_stacks_are_named_by_the_packs_config_not_the_program() -> None:
    dev = record("ecs-dev")
    assert run_pack(dev) == {}  # "ecs-dev" matches the default pattern
    strict = run_pack(dev, {"devStacks": "^sandbox$"})
    assert "https-everywhere" in strict
    assert "data-protected" in strict


def test_the_engines_view_round_trips_to_the_rules_view(ecs: list[Declared]) -> None:
    (bucket,) = [d for d in ecs if d.type == "aws:s3/bucket:Bucket" and d.name == "documents"]
    back = declared(next(v for v in engine_view(ecs) if v.urn == bucket.urn))
    assert (back.type, back.name, back.protect, back.inputs) == (
        bucket.type,
        bucket.name,
        True,
        bucket.inputs,
    )

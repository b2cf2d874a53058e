"""The rules of policy/rules.py as pulumi-policy stack validations, and the translation of
the engine's resources into the rules' ``Declared`` (the same shape policy.plan records)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.graph import Declared
from policy.rules import RULES, PolicyConfig, Rule

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "devStacks": {
            "type": "string",
            "default": PolicyConfig.dev_stacks,
            "description": "a regular expression of stack names that may serve plain HTTP "
            "and leave data unprotected (never set by the program)",
        }
    }
)


def declared(resource: PolicyResource) -> Declared:
    """What the rules read of one resource the engine reports."""
    return Declared(
        type=resource.resource_type,
        name=resource.name,
        inputs=dict(resource.props),
        custom=True,
        urn=resource.urn,
        parent=resource.parent.urn if resource.parent is not None else "",
        protect=bool(resource.opts.protect),
        # The engine does not report retainOnDelete to policies: protect stands for both.
        retain_on_delete=bool(resource.opts.protect),
        ignore_changes=list(resource.opts.ignore_changes),
        dependencies=[d.urn for d in resource.dependencies],
        property_dependencies={
            key: [d.urn for d in deps] for key, deps in resource.property_dependencies.items()
        },
    )


def _validation(rule: Rule) -> Any:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings = args.get_config()
        config = PolicyConfig(dev_stacks=settings.get("devStacks", PolicyConfig.dev_stacks))
        for finding in rule([declared(r) for r in args.resources], config):
            report_violation(finding.message, finding.urn or None)

    return validate


def stack_policies() -> list[Policy]:
    return [
        StackValidationPolicy(
            name=name,
            description=(rule.__doc__ or name).strip().splitlines()[0],
            enforcement_level=EnforcementLevel.MANDATORY,
            validate=_validation(rule),
            config_schema=CONFIG_SCHEMA,
        )
        for name, rule in RULES.items()
    ]

"""One resource of a stack as the rules see it, whether recorded by ``policy.plan`` under
Pulumi's mocks (the tests) or handed over by the Pulumi engine to the policy pack
(``pulumi preview --policy-pack policy``). Plain data: no Pulumi import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    urn: str = ""
    parent: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    # Which resources each input came from (a listener's loadBalancerArn -> the ALB's URN).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def stack(self) -> str:
        """The stack's name, from the URN (``urn:pulumi:<stack>::<project>::...``)."""
        return self.urn.split(":", 3)[2].split("::")[0] if self.urn.count(":") >= 3 else ""

    def from_(self, key: str) -> list[str]:
        """The URNs input ``key`` depends on."""
        return self.property_dependencies.get(key, [])

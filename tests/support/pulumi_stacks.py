"""The Pulumi program's stacks as recorded under mocks, for the tests of both options."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from policy.graph import Declared

ROOT = Path(__file__).resolve().parents[2]


class StackFailed(Exception):
    pass


def record(stack: str, config: dict[str, str] | None = None) -> list[Declared]:
    """The stack's resources, from the program run under mocks in its own process (once per
    test session for each stack and config: a run takes seconds)."""
    key = (stack, json.dumps(config, sort_keys=True))
    if key not in _RECORDED:
        _RECORDED[key] = _record(stack, config)
    return copy.deepcopy(_RECORDED[key])


_RECORDED: dict[tuple[str, str], list[Declared]] = {}


def _record(stack: str, config: dict[str, str] | None) -> list[Declared]:
    command = [sys.executable, "-m", "policy.plan", stack, "--stdout"]
    if config is not None:
        command += ["--config", json.dumps(config)]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise StackFailed(result.stderr)
    return [Declared(**d) for d in json.loads(result.stdout)]


def unwrap(value: Any) -> Any:
    """A value the provider marks secret (an SSM parameter's) arrives wrapped."""
    return value["value"] if isinstance(value, dict) and "value" in value else value


def of(resources: list[Declared], type_: str) -> list[Declared]:
    return [r for r in resources if r.type == type_]


def one(resources: list[Declared], type_: str) -> Declared:
    (found,) = of(resources, type_)
    return found


def replace(resources: list[Declared], type_: str, **inputs: Any) -> list[Declared]:
    """The resources with ``inputs`` changed on every resource of ``type_``."""
    return [
        dataclasses.replace(r, inputs={**r.inputs, **inputs}) if r.type == type_ else r
        for r in resources
    ]

"""The policy pack's entry point: one mandatory stack policy per rule in policy/rules.py.

Run by the Pulumi CLI (``pulumi preview --policy-pack policy``); constructing ``PolicyPack``
starts the analyzer's gRPC server and serves until the CLI is done, so nothing imports
this module (the tests call the rules, and ``stack_policies`` below, directly).

Config (``--policy-pack-config``): ``{"all": {"devStacks": "^(dev|.+-dev)$"}}``, the
pattern of stack names that may serve plain HTTP and skip data protection.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import PolicyPack

from policy.pack import stack_policies

PolicyPack(name="rag-app", policies=stack_policies())

"""Pulumi entry point: validate the stack's config once, then build it."""

from components.config import load_stack_config
from components.deploy import deploy

deploy(load_stack_config())

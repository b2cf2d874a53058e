"""rag:auth.cognito wired into both stacks (recorded under mocks): the user pool, its hosted
domain, the code + PKCE app client whose callback is the service's public URL, the grant
groups, and the app's RAG_OIDC_* settings pointing at them (ECS: SSM parameters the task
gets; EKS: the chart's settings); without the section, none of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config
from components.eks_service import CHART
from policy.graph import Declared
from policy.plan import stack_file_config
from policy.rules import violations
from rag_app.settings import Settings
from tests.support.pulumi_stacks import of, one, record, unwrap

POOL = "sso-id"
EXPECTED = {
    "RAG_OIDC_ISSUER": f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}",
    "RAG_OIDC_AUDIENCE": "sso-id",
    "RAG_OIDC_CLIENT_ID": "sso-id",
    "RAG_OIDC_AUTHORIZATION_URL": "https://{prefix}.auth.us-east-1.amazoncognito.com/oauth2/authorize",
    "RAG_OIDC_TOKEN_URL": "https://{prefix}.auth.us-east-1.amazoncognito.com/oauth2/token",
    "RAG_OIDC_REDIRECT_URL": "https://rag.example-legal.com/auth/oidc/callback",
}


def _ecs_settings(resources: list[Declared]) -> dict[str, Any]:
    return {
        p.inputs["name"].rsplit("/", 1)[-1]: unwrap(p.inputs["value"])
        for p in of(resources, "aws:ssm/parameter:Parameter")
    }


def _eks_settings(resources: list[Declared]) -> dict[str, Any]:
    (app,) = [c for c in of(resources, "kubernetes:helm.sh/v4:Chart") if c.inputs["chart"] == CHART]
    return dict(app.inputs["values"]["env"])


@pytest.mark.parametrize(("stack", "settings_of"), [("ecs", _ecs_settings), ("eks", _eks_settings)])
def test_the_stack_creates_the_pool_and_points_the_app_at_it(stack: str, settings_of: Any) -> None:
    resources = record(stack)
    prefix = json.loads(stack_file_config(stack)["rag:auth"])["cognito"]["domainPrefix"]
    pool = one(resources, "aws:cognito/userPool:UserPool").inputs
    assert pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
    assert pool["deletionProtection"] == "ACTIVE"
    domain = one(resources, "aws:cognito/userPoolDomain:UserPoolDomain").inputs
    assert (domain["domain"], domain["userPoolId"]) == (prefix, POOL)
    client = one(resources, "aws:cognito/userPoolClient:UserPoolClient").inputs
    assert client["allowedOauthFlows"] == ["code"]
    assert client["generateSecret"] is False
    assert client["callbackUrls"] == ["https://rag.example-legal.com/auth/oidc/callback"]
    assert client["logoutUrls"] == ["https://rag.example-legal.com/app/sign-in"]
    groups = sorted(g.inputs["name"] for g in of(resources, "aws:cognito/userGroup:UserGroup"))
    assert groups == ["read:faa", "write:faa"]

    settings = settings_of(resources)
    for key, value in EXPECTED.items():
        assert settings[key] == value.format(prefix=prefix), key
    # What the stack sets is valid app configuration with SSO on. (Option 1's catalog table
    # is auto-named: its name is unknown under the mocks.)
    if stack == "ecs":
        assert "RAG_DYNAMODB_TABLE" in settings
        settings["RAG_DYNAMODB_TABLE"] = settings["RAG_DYNAMODB_TABLE"] or "catalog-table"
    app = Settings.model_validate({k.removeprefix("RAG_").lower(): v for k, v in settings.items()})
    assert app.oidc_client_id == "sso-id"
    assert app.auth == "required"
    assert violations(resources) == {}


def test_without_the_section_there_is_no_pool_and_no_sso_setting() -> None:
    config = stack_file_config("ecs")
    del config["rag:auth"]
    resources = record("ecs", config)
    assert not [r for r in resources if r.type.startswith("aws:cognito/")]
    assert not [k for k in _ecs_settings(resources) if k.startswith("RAG_OIDC_")]


HTTPS = {
    "platform": "ecs",
    "ecs": {},
    "https": {"domainName": "rag.example.com", "hostedZone": "example.com"},
}


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"cognito": {}}, "rag:auth.cognito.domainPrefix: Field required"),
        (
            {"cognito": {"domainPrefix": "My_Pool"}},
            "rag:auth.cognito.domainPrefix: String should match",
        ),
        ({"cognito": {"domainPrefix": "rag-cognito"}}, "may not contain 'cognito'"),
        ({"cognito": {"domainPrefix": "rag", "groups": ["admins"]}}, "not read:<collection>"),
        ({"cognito": {"domainPrefix": "rag", "groups": ["read:a", "read:a"]}}, "groups repeat"),
        ({"cognito": {"domainPrefix": "rag", "publicUrl": "http://rag.example.com"}}, "publicUrl"),
        ({"cognito": {"domainPrefix": "rag", "clientSecret": "x"}}, "Extra inputs"),
        ({"okta": {}}, "rag:auth.okta: Extra inputs are not permitted"),
    ],
)
def test_bad_cognito_config_names_the_key(auth: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_stack_config({**HTTPS, "auth": auth})


def test_a_stack_without_a_public_name_must_say_where_the_callback_goes() -> None:
    dev = {"platform": "ecs", "ecs": {}, "dev": True, "auth": {"cognito": {"domainPrefix": "rag"}}}
    with pytest.raises(ConfigError, match="needs the service's public URL"):
        parse_stack_config(dev)
    dev["auth"]["cognito"]["publicUrl"] = "https://rag-dev.example.com"  # type: ignore[index]
    assert parse_stack_config(dev).public_url == "https://rag-dev.example.com"

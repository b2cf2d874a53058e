"""The optional Cognito sign-in component under Pulumi's mocks: a pool only admins add users
to, a hosted domain, a public code + PKCE client with the callback URL, the grant groups, and
the app settings that point the service at them."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest

from components.cognito import CognitoSignIn, CognitoSignInArgs


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources[(args.typ, args.name)] = (args.typ, dict(args.inputs))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


@pytest.fixture
def mocks() -> Mocks:
    # pulumi.runtime.test runs on the current event loop; a test before this one (an
    # asyncio.run test) may have left none, or a closed one.
    policy = asyncio.get_event_loop_policy()
    try:
        if policy.get_event_loop().is_closed():
            policy.set_event_loop(policy.new_event_loop())
    except RuntimeError:
        policy.set_event_loop(policy.new_event_loop())
    recorded = Mocks()
    pulumi.runtime.set_mocks(recorded, project="rag-app", stack="test", preview=False)
    return recorded


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_cognito_sign_in_is_a_code_pkce_client_on_an_invite_only_pool(mocks: Mocks) -> Any:
    callback = "https://rag.example.com/auth/oidc/callback"
    sign_in = CognitoSignIn(
        "sso",
        CognitoSignInArgs(
            region="eu-west-1",
            domain_prefix="rag-legal",
            callback_url=callback,
            sign_out_url="https://rag.example.com/app/sign-in",
            groups=("read:faa", "write:faa"),
        ),
    )

    def check(values: list[Any]) -> None:
        issuer, environment, *_ = values
        pool = next(i for t, i in mocks.resources.values() if t == "aws:cognito/userPool:UserPool")
        assert pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
        client = next(
            i
            for t, i in mocks.resources.values()
            if t == "aws:cognito/userPoolClient:UserPoolClient"
        )
        assert client["allowedOauthFlows"] == ["code"]
        assert client["generateSecret"] is False
        assert client["callbackUrls"] == [callback]
        groups = sorted(
            i["name"] for t, i in mocks.resources.values() if t == "aws:cognito/userGroup:UserGroup"
        )
        assert groups == ["read:faa", "write:faa"]
        domain = next(
            i
            for t, i in mocks.resources.values()
            if t == "aws:cognito/userPoolDomain:UserPoolDomain"
        )
        assert domain["domain"] == "rag-legal"
        assert issuer == "https://cognito-idp.eu-west-1.amazonaws.com/sso-id"
        assert environment["RAG_OIDC_AUTHORIZATION_URL"] == (
            "https://rag-legal.auth.eu-west-1.amazoncognito.com/oauth2/authorize"
        )
        assert environment["RAG_OIDC_REDIRECT_URL"] == callback

    environment = pulumi.Output.all(**sign_in.app_environment(callback))
    # Waits for every resource the check reads, so it sees them all registered.
    registered = [sign_in.domain.id, sign_in.client.id, *(group.id for group in sign_in.groups)]
    return pulumi.Output.all(sign_in.issuer, environment, *registered).apply(check)

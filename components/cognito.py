"""Optional SSO for the web app (``rag:auth.cognito``): a Cognito user pool, its hosted
sign-in domain, and one public app client for the authorization code flow with PKCE. Users
get collections through groups named ``read:<collection>`` / ``write:<collection>``, which
Cognito puts in the tokens' ``cognito:groups`` claim (the app's default grants claim).

The app reads the outputs as ``RAG_OIDC_ISSUER``, ``RAG_OIDC_AUDIENCE`` and
``RAG_OIDC_CLIENT_ID`` (the client id), ``RAG_OIDC_AUTHORIZATION_URL`` and
``RAG_OIDC_TOKEN_URL`` (the hosted domain's endpoints), ``RAG_OIDC_REDIRECT_URL`` (the
callback URL)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class CognitoSignInArgs:
    region: str
    domain_prefix: str  # <prefix>.auth.<region>.amazoncognito.com; globally unique
    callback_url: str  # https://<service>/auth/oidc/callback
    sign_out_url: str  # https://<service>/app/sign-in
    groups: tuple[str, ...] = field(default_factory=tuple)  # e.g. ("read:faa", "write:faa")


class CognitoSignIn(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: CognitoSignInArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rag:components:CognitoSignIn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.pool = aws.cognito.UserPool(
            name,
            name=f"rag-{pulumi.get_stack()}",
            # Lawyers are invited by an administrator; nobody signs themselves up.
            admin_create_user_config={"allow_admin_create_user_only": True},
            auto_verified_attributes=["email"],
            username_attributes=["email"],
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration={"enabled": True},
            password_policy={
                "minimum_length": 12,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": False,
                "temporary_password_validity_days": 3,
            },
            account_recovery_setting={
                "recovery_mechanisms": [{"name": "verified_email", "priority": 1}]
            },
            deletion_protection="ACTIVE",
            opts=child,
        )
        self.domain = aws.cognito.UserPoolDomain(
            name, domain=args.domain_prefix, user_pool_id=self.pool.id, opts=child
        )
        self.client = aws.cognito.UserPoolClient(
            name,
            name=f"rag-{pulumi.get_stack()}-web",
            user_pool_id=self.pool.id,
            generate_secret=False,  # a public client: PKCE protects the code
            allowed_oauth_flows=["code"],
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_scopes=["openid", "email", "profile"],
            callback_urls=[args.callback_url],
            logout_urls=[args.sign_out_url],
            supported_identity_providers=["COGNITO"],
            explicit_auth_flows=["ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=60,
            id_token_validity=60,
            refresh_token_validity=8,
            token_validity_units={
                "access_token": "minutes",
                "id_token": "minutes",
                "refresh_token": "hours",
            },
            opts=child,
        )
        self.groups = [
            aws.cognito.UserGroup(
                f"{name}-group-{index}",
                name=group,
                user_pool_id=self.pool.id,
                description=f"grants {group}",
                opts=child,
            )
            for index, group in enumerate(args.groups)
        ]
        hosted = f"https://{args.domain_prefix}.auth.{args.region}.amazoncognito.com"
        self.issuer: pulumi.Output[str] = self.pool.id.apply(
            lambda pool_id: f"https://cognito-idp.{args.region}.amazonaws.com/{pool_id}"
        )
        self.client_id: pulumi.Output[str] = self.client.id
        self.callback_url = args.callback_url
        self.authorization_url = f"{hosted}/oauth2/authorize"
        self.token_url = f"{hosted}/oauth2/token"
        self.register_outputs(
            {
                "issuer": self.issuer,
                "client_id": self.client_id,
                "authorization_url": self.authorization_url,
                "token_url": self.token_url,
            }
        )

    def app_environment(self, callback_url: str) -> dict[str, pulumi.Input[str]]:
        """The app's settings for SSO through this pool (``auth`` must be ``required``)."""
        return {
            "RAG_OIDC_ISSUER": self.issuer,
            "RAG_OIDC_AUDIENCE": self.client_id,
            "RAG_OIDC_CLIENT_ID": self.client_id,
            "RAG_OIDC_AUTHORIZATION_URL": self.authorization_url,
            "RAG_OIDC_TOKEN_URL": self.token_url,
            "RAG_OIDC_REDIRECT_URL": callback_url,
        }

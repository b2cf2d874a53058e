"""Who may call, from ``Settings``: the key store (``RAG_API_KEYS_SECRET_ID`` or
``RAG_API_KEYS_FILE``) and the authenticator (API keys and/or OIDC tokens)."""

from __future__ import annotations

from rag_app.auth.api_keys import ApiKeyVerifier, FileKeyStore, KeyStore, SecretsManagerKeyStore
from rag_app.auth.authenticator import Authenticator
from rag_app.auth.oidc import OidcVerifier
from rag_app.aws.clients import AwsClients
from rag_app.errors import ConfigurationError
from rag_app.settings import Settings


def build_key_store(settings: Settings, aws: AwsClients | None = None) -> KeyStore:
    """Where API keys are kept: the Secrets Manager secret, else the file."""
    if settings.api_keys_secret_id:
        client = (aws or AwsClients(settings)).client("secretsmanager")
        return SecretsManagerKeyStore(client, settings.api_keys_secret_id)
    if settings.api_keys_file:
        return FileKeyStore(settings.api_keys_file)
    raise ConfigurationError("no key store: set RAG_API_KEYS_FILE or RAG_API_KEYS_SECRET_ID")


def stored_session_secret(settings: Settings, aws: AwsClients | None = None) -> str:
    """The web sign-in key the secret ``RAG_SESSION_SECRET_ID`` names, read once (blocking:
    call it from a worker thread at start). A missing or empty secret stops the start: a
    per-process key would sign browsers out on every other request behind a load balancer."""
    if not settings.session_secret_id:
        raise ConfigurationError("RAG_SESSION_SECRET_ID is not set")
    client = (aws or AwsClients(settings)).client("secretsmanager")
    value = client.get_secret_value(SecretId=settings.session_secret_id).get("SecretString")
    if not value:
        raise ConfigurationError(
            f"the session secret {settings.session_secret_id} holds no string value"
        )
    return str(value)


def build(settings: Settings, aws: AwsClients) -> Authenticator | None:
    """The authenticator ``settings.auth`` asks for; None: no authentication (loopback)."""
    if settings.auth == "none":
        return None
    api_keys = None
    if settings.api_keys_secret_id or settings.api_keys_file:
        api_keys = ApiKeyVerifier(
            build_key_store(settings, aws), refresh_seconds=settings.api_keys_refresh_seconds
        )
    oidc = None
    if settings.oidc_issuer and settings.oidc_audience:
        issuer = settings.oidc_issuer.rstrip("/")
        oidc = OidcVerifier(
            issuer=issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url or f"{issuer}/.well-known/jwks.json",
            collections_claim=settings.oidc_collections_claim,
            timeout_seconds=settings.aws_timeout_seconds,
        )
    return Authenticator(api_keys=api_keys, oidc=oidc)

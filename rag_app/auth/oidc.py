"""OIDC/JWT bearer tokens (e.g. from a Cognito user pool): signature against the issuer's
JWKS (fetched once and cached; a token signed by an unknown key id refetches it), issuer,
audience (``aud``, or Cognito access tokens' ``client_id``), expiry. Only asymmetric
algorithms are accepted, so neither ``none`` nor an HMAC keyed with the public key can
pass. The collections a token grants come from one claim holding ``read:<collection>`` /
``write:<collection>`` entries (a list, or a space-separated string like ``scope``)."""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
import jwt

from rag_app.auth.principal import Principal, from_grants

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
LEEWAY_SECONDS = 30


class OidcVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        collections_claim: str,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._collections_claim = collections_claim
        self._jwks = jwt.PyJWKClient(
            jwks_url, cache_keys=True, lifespan=3600, timeout=int(max(1, timeout_seconds))
        )

    def _decode(self, token: str) -> dict[str, Any]:
        key = self._jwks.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            issuer=self._issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "sub"], "verify_aud": False},
        )
        return claims

    def _audience_matches(self, claims: dict[str, Any]) -> bool:
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        return self._audience in audiences

    async def verify(self, token: str) -> Principal | None:
        """The token's principal, or None when it is not valid for this service."""
        try:
            claims = await anyio.to_thread.run_sync(self._decode, token)
        except (jwt.PyJWTError, ValueError) as e:
            log.info("bearer token refused: %s", e)
            return None
        if not self._audience_matches(claims):
            log.info("bearer token refused: audience is not %s", self._audience)
            return None
        raw = claims.get(self._collections_claim, [])
        grants = raw.split() if isinstance(raw, str) else [str(g) for g in raw if g]
        return from_grants(f"sub:{claims['sub']}", grants)

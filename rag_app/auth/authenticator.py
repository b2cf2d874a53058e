"""One entry point for a presented bearer credential: an API key (``rag_...``) or a JWT."""

from __future__ import annotations

from rag_app.auth.api_keys import ApiKeyVerifier
from rag_app.auth.oidc import OidcVerifier
from rag_app.auth.principal import Principal

MAX_CREDENTIAL_CHARS = 8192


class Authenticator:
    def __init__(self, *, api_keys: ApiKeyVerifier | None, oidc: OidcVerifier | None) -> None:
        self._api_keys = api_keys
        self._oidc = oidc

    async def verify(self, credential: str) -> Principal | None:
        """The caller, or None for anything not a valid, current credential."""
        if not credential or len(credential) > MAX_CREDENTIAL_CHARS:
            return None
        if credential.startswith("rag_"):
            return await self._api_keys.verify(credential) if self._api_keys else None
        if credential.count(".") == 2 and self._oidc is not None:
            return await self._oidc.verify(credential)
        return None

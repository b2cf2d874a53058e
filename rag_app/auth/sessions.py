"""Browser sign-in: the credential (an API key or an OIDC token) sealed with AES-GCM into
an HttpOnly, SameSite=Strict cookie, so no script and no other origin can read it, and no
server-side session store is needed (any replica sharing ``RAG_SESSION_SECRET`` opens it).
Every request still verifies the credential itself, so a revoked key stops working at once.

A cookie-authenticated request that changes anything must carry the session's CSRF token in
``X-CSRF-Token`` (a same-origin script reads it from ``GET /auth/session``; another origin
cannot). Bearer-authenticated requests need no token: browsers never add that header."""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from typing import TypeVar

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SESSION_COOKIE = "rag_session"
SIGN_IN_COOKIE = "rag_sign_in"  # the OIDC state, nonce and PKCE verifier, for ten minutes
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION_AAD = b"rag-app session v1"
_SIGN_IN_AAD = b"rag-app sign-in v1"
_S = TypeVar("_S", bound=msgspec.Struct)


class Session(msgspec.Struct, frozen=True):
    credential: str
    csrf: str
    expires_at: float


class PendingSignIn(msgspec.Struct, frozen=True):
    state: str
    nonce: str
    verifier: str
    redirect_uri: str
    expires_at: float


def key_from_secret(secret: str | None) -> bytes:
    """A 256-bit key: derived from the configured secret, or random for this process (then
    sign-ins end when it restarts and do not carry across replicas)."""
    if secret is None:
        return os.urandom(32)
    return hmac.digest(b"rag-app session key", secret.encode(), "sha256")


@dataclass(frozen=True)
class SessionSealer:
    key: bytes
    lifetime_s: float

    def _seal(self, value: msgspec.Struct, aad: bytes) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.key).encrypt(nonce, msgspec.json.encode(value), aad)
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def _open(self, value: str | None, aad: bytes, kind: type[_S]) -> _S | None:
        if not value or len(value) > 8192:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            opened = AESGCM(self.key).decrypt(raw[:12], raw[12:], aad)
            return msgspec.json.decode(opened, type=kind)
        except (ValueError, InvalidTag, msgspec.DecodeError):
            return None

    def new_session(self, credential: str) -> tuple[Session, str]:
        session = Session(credential, secrets.token_urlsafe(32), time.time() + self.lifetime_s)
        return session, self._seal(session, _SESSION_AAD)

    def open_session(self, cookie: str | None) -> Session | None:
        """The session, or None for a missing, forged, tampered or expired cookie."""
        session = self._open(cookie, _SESSION_AAD, Session)
        if session is None or session.expires_at < time.time():
            return None
        return session

    def seal_sign_in(self, pending: PendingSignIn) -> str:
        return self._seal(pending, _SIGN_IN_AAD)

    def open_sign_in(self, cookie: str | None) -> PendingSignIn | None:
        pending = self._open(cookie, _SIGN_IN_AAD, PendingSignIn)
        if pending is None or pending.expires_at < time.time():
            return None
        return pending


def csrf_ok(session: Session, method: str, header: str | None) -> bool:
    """Safe methods always pass; others need the session's token, compared in constant time."""
    if method.upper() in SAFE_METHODS:
        return True
    return header is not None and hmac.compare_digest(header.encode(), session.csrf.encode())

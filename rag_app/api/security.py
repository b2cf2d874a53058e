"""Credentials on every endpoint but /health: a bearer API key or JWT, checked by the
middleware; handlers take the caller as the ``principal`` dependency, which also applies
the per-caller rate limit. Without authentication (local mode, loopback only) the caller
is the local operator."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from rag_app.auth.authenticator import Authenticator
from rag_app.auth.principal import LOCAL_OPERATOR, Principal
from rag_app.auth.sessions import CSRF_HEADER, SESSION_COOKIE, SessionSealer, csrf_ok

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="rag-app"'}
# /health: probes; the web app's pages, assets and sign-in routes (its data comes from the
# protected API).
UNAUTHENTICATED = ("/health/", "/$", "/app/", "/auth/", "/favicon.ico$")


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        authenticator: Authenticator | None = connection.app.state.authenticator
        if authenticator is None:  # the service is still starting
            raise NotAuthorizedException("the service is starting", headers=CHALLENGE)
        header = connection.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if not header and SESSION_COOKIE in connection.cookies:
            credential = _session_credential(connection)
            scheme = "bearer"
        if scheme.lower() != "bearer" or not credential.strip():
            raise NotAuthorizedException(
                "credentials required: Authorization: Bearer <API key or token>", headers=CHALLENGE
            )
        principal = await authenticator.verify(credential.strip())
        if principal is None:
            raise NotAuthorizedException(
                "invalid, expired or revoked credentials", headers=CHALLENGE
            )
        return AuthenticationResult(user=principal, auth=None)


def _session_credential(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The credential a browser's sign-in cookie holds (see rag_app.auth.sessions)."""
    sealer: SessionSealer = connection.app.state.session_sealer
    session = sealer.open_session(connection.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotAuthorizedException("the sign-in has expired: sign in again", headers=CHALLENGE)
    method = str(connection.scope.get("method", "GET"))
    if not csrf_ok(session, method, connection.headers.get(CSRF_HEADER)):
        raise PermissionDeniedException("missing or wrong X-CSRF-Token for this sign-in")
    return session.credential


UPLOAD = "upload"
QUERY = "query"


def request_kind(method: str, path: str) -> str:
    """Which budget a request spends: uploads (``POST /documents``) or queries (the rest)."""
    return UPLOAD if method == "POST" and path.rstrip("/") == "/documents" else QUERY


@dataclass
class RateLimiter:
    """A token bucket per caller and kind of request: ``per_minute[kind]`` requests a
    minute, bursts up to that many. Uploads and queries have separate buckets, so a bulk
    upload does not use up a caller's searches, nor searches its uploads.

    Per process: N replicas allow N times the rate (the edge's WAF rule is the shared,
    per-client limit in front of them all)."""

    per_minute: dict[str, int]
    _buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def wait_seconds(self, caller: str, kind: str = QUERY) -> float:
        """0 when the request may go ahead (and is counted), else seconds until it may."""
        now = time.monotonic()
        limit = self.per_minute[kind]
        rate = limit / 60.0
        tokens, at = self._buckets.get((caller, kind), (float(limit), now))
        tokens = min(float(limit), tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._buckets[(caller, kind)] = (tokens - 1.0, now)
            return 0.0
        self._buckets[(caller, kind)] = (tokens, now)
        return (1.0 - tokens) / rate


def caller(request: Request[Any, Any, Any]) -> Principal:
    """The dependency every protected handler takes as ``principal``."""
    state = request.app.state
    if state.authenticator is None and not state.auth_required:
        principal = LOCAL_OPERATOR
    else:
        user = request.scope.get("user")
        if not isinstance(user, Principal):  # a route the middleware skipped: refuse
            raise NotAuthorizedException("credentials required", headers=CHALLENGE)
        principal = user
    limiter: RateLimiter = state.rate_limiter
    kind = request_kind(request.method, request.url.path)
    wait = limiter.wait_seconds(principal.name, kind)
    if wait > 0:
        raise TooManyRequestsException(
            f"rate limit of {limiter.per_minute[kind]} {kind} requests a minute reached "
            "(per replica)",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return principal

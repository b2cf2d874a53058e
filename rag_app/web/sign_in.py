"""Browser sign-in and sign-out: an API key typed into the sign-in page, or SSO through the
OIDC issuer (authorization code + PKCE, e.g. a Cognito hosted UI). Either way the browser
ends up with a sealed HttpOnly cookie (rag_app.auth.sessions); the API's middleware reads it.
These routes sit outside the middleware and check what they need themselves."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import jwt
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from rag_app.api.errors import problem_responses
from rag_app.api.security import CHALLENGE, RateLimiter
from rag_app.auth.authenticator import Authenticator
from rag_app.auth.principal import LOCAL_OPERATOR, Principal
from rag_app.auth.sessions import (
    CSRF_HEADER,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    PendingSignIn,
    SessionSealer,
    csrf_ok,
)
from rag_app.errors import InvalidInputError
from rag_app.settings import Settings

SIGN_IN_SECONDS = 600
HOME = "/app/ask"


class SignInIn(msgspec.Struct, forbid_unknown_fields=True):
    api_key: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class SessionOut(msgspec.Struct):
    auth_required: bool
    signed_in: bool
    sso: bool  # "Sign in with SSO" is configured
    name: str | None = None
    readable: list[str] | None = None  # None: every collection
    writable: list[str] | None = None  # None: every collection
    csrf_token: str | None = None


def _collections(grants: frozenset[str]) -> list[str] | None:
    return None if "*" in grants else sorted(grants)


def _session_out(principal: Principal, csrf: str | None, *, auth: bool, sso: bool) -> SessionOut:
    return SessionOut(
        auth_required=auth,
        signed_in=True,
        sso=sso,
        name=principal.name,
        readable=None if principal.readable is None else sorted(principal.readable),
        writable=_collections(principal.write),
        csrf_token=csrf,
    )


def _cookie(request: Request[Any, Any, Any], name: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict" if name == SESSION_COOKIE else "lax",
    )


def _expired(name: str) -> Cookie:
    return Cookie(key=name, value="", max_age=0, path="/", httponly=True, samesite="strict")


def _pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class SessionController(Controller):
    path = "/auth"
    tags = ("sign-in",)

    @get("/session", operation_id="getSession", responses=problem_responses())
    async def get_session(self, request: Request[Any, Any, Any]) -> SessionOut:
        """Who the browser is signed in as, its collections and its CSRF token (send it as
        ``X-CSRF-Token`` on every change). Without authentication: the local operator."""
        state = request.app.state
        settings: Settings = state.settings
        sso = settings.oidc_client_id is not None and settings.oidc_issuer is not None
        if not state.auth_required:
            return _session_out(LOCAL_OPERATOR, None, auth=False, sso=False)
        sealer: SessionSealer = state.session_sealer
        session = sealer.open_session(request.cookies.get(SESSION_COOKIE))
        authenticator: Authenticator | None = state.authenticator
        if session is None or authenticator is None:
            return SessionOut(auth_required=True, signed_in=False, sso=sso)
        principal = await authenticator.verify(session.credential)
        if principal is None:
            return SessionOut(auth_required=True, signed_in=False, sso=sso)
        return _session_out(principal, session.csrf, auth=True, sso=sso)

    @post("/session", operation_id="signIn", status_code=200, responses=problem_responses(401))
    async def sign_in(
        self, data: JSONBody[SignInIn], request: Request[Any, Any, Any]
    ) -> Response[SessionOut]:
        """Sign the browser in with an API key: the answer sets the sign-in cookie."""
        state = request.app.state
        limiter: RateLimiter = state.rate_limiter
        client = request.client.host if request.client else "unknown"
        if limiter.wait_seconds(f"sign-in:{client}") > 0:
            raise PermissionDeniedException("too many sign-in attempts; wait a minute")
        authenticator: Authenticator | None = state.authenticator
        if not state.auth_required or authenticator is None:
            raise InvalidInputError("this service runs without authentication: no sign-in")
        principal = await authenticator.verify(data.api_key.strip())
        if principal is None:
            raise NotAuthorizedException(
                "that key is not valid (or was revoked)", headers=CHALLENGE
            )
        sealer: SessionSealer = state.session_sealer
        session, cookie = sealer.new_session(data.api_key.strip())
        settings: Settings = state.settings
        sso = settings.oidc_client_id is not None
        return Response(
            _session_out(principal, session.csrf, auth=True, sso=sso),
            cookies=[_cookie(request, SESSION_COOKIE, cookie, int(sealer.lifetime_s))],
        )

    @delete(
        "/session",
        operation_id="signOut",
        status_code=204,
        responses=problem_responses(403),
        response_cookies=[_expired(SESSION_COOKIE), _expired(SIGN_IN_COOKIE)],
        response_headers={"clear-site-data": '"cache", "storage"'},
    )
    async def sign_out(self, request: Request[Any, Any, Any]) -> None:
        """Sign out: both sign-in cookies are cleared (needs the CSRF token of the session,
        so another site cannot sign the browser out)."""
        sealer: SessionSealer = request.app.state.session_sealer
        session = sealer.open_session(request.cookies.get(SESSION_COOKIE))
        if session is not None and not csrf_ok(
            session, request.method, request.headers.get(CSRF_HEADER)
        ):
            raise PermissionDeniedException("missing or wrong X-CSRF-Token for this sign-in")

    @get("/oidc/start", operation_id="startSso", responses=problem_responses(404))
    async def start_sso(self, request: Request[Any, Any, Any]) -> Redirect:
        """Go to the identity provider's sign-in page (authorization code + PKCE S256)."""
        settings: Settings = request.app.state.settings
        if settings.oidc_client_id is None or settings.oidc_issuer is None:
            raise InvalidInputError("sign-in with SSO is not configured (RAG_OIDC_CLIENT_ID)")
        endpoints = await _endpoints(request)
        redirect_uri = settings.oidc_redirect_url or str(request.url_for("finishSso"))
        pending = PendingSignIn(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            redirect_uri=redirect_uri,
            expires_at=time.time() + SIGN_IN_SECONDS,
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": settings.oidc_client_id,
                "redirect_uri": redirect_uri,
                "scope": settings.oidc_scopes,
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": _pkce_challenge(pending.verifier),
                "code_challenge_method": "S256",
            }
        )
        sealer: SessionSealer = request.app.state.session_sealer
        # Lax, not Strict: the identity provider's redirect back is a cross-site navigation.
        cookie = _cookie(request, SIGN_IN_COOKIE, sealer.seal_sign_in(pending), SIGN_IN_SECONDS)
        return Redirect(f"{endpoints[0]}?{query}", status_code=HTTP_303_SEE_OTHER, cookies=[cookie])

    @get(
        "/oidc/callback",
        name="finishSso",
        operation_id="finishSso",
        responses=problem_responses(401),
    )
    async def finish_sso(
        self,
        request: Request[Any, Any, Any],
        code: Annotated[str | None, QueryParameter(max_length=4096)] = None,
        returned_state: Annotated[str | None, QueryParameter(name="state", max_length=512)] = None,
        error: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> Redirect:
        """Where the identity provider sends the browser back: the code is exchanged (with
        the PKCE verifier), the token checked like any bearer token, the session set."""
        app_state = request.app.state
        sealer: SessionSealer = app_state.session_sealer
        pending = sealer.open_sign_in(request.cookies.get(SIGN_IN_COOKIE))
        if error is not None:
            raise NotAuthorizedException(f"the identity provider refused the sign-in: {error}")
        if pending is None or returned_state is None or code is None:
            raise NotAuthorizedException("no sign-in in progress here (or it expired): start again")
        if not secrets.compare_digest(pending.state, returned_state):
            raise NotAuthorizedException("the sign-in's state does not match: start again")
        tokens = await _exchange(request, code, pending)
        authenticator: Authenticator | None = app_state.authenticator
        if authenticator is None:
            raise NotAuthorizedException("the service is starting", headers=CHALLENGE)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or await authenticator.verify(id_token) is None:
            raise NotAuthorizedException("the identity provider's ID token is not valid here")
        claims = jwt.decode(id_token, options={"verify_signature": False})  # verified above
        if not secrets.compare_digest(str(claims.get("nonce", "")), pending.nonce):
            raise NotAuthorizedException("the ID token's nonce does not match: start again")
        # Prefer the access token (Cognito puts the groups there too); else the ID token.
        access = tokens.get("access_token")
        use_access = isinstance(access, str) and await authenticator.verify(access) is not None
        credential = access if use_access and isinstance(access, str) else id_token
        _, cookie = sealer.new_session(credential)
        return Redirect(
            HOME,
            status_code=HTTP_303_SEE_OTHER,
            cookies=[
                _cookie(request, SESSION_COOKIE, cookie, int(sealer.lifetime_s)),
                _expired(SIGN_IN_COOKIE),
            ],
        )


async def _endpoints(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """The authorization and token endpoints: configured, or the issuer's discovery
    document's (fetched once per process)."""
    settings: Settings = request.app.state.settings
    if settings.oidc_authorization_url and settings.oidc_token_url:
        return settings.oidc_authorization_url, settings.oidc_token_url
    cached: tuple[str, str] | None = request.app.state.oidc_endpoints
    if cached is not None:
        return cached
    url = f"{(settings.oidc_issuer or '').rstrip('/')}/.well-known/openid-configuration"
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    if response.status_code != 200:
        raise NotAuthorizedException(f"the identity provider's discovery failed ({url})")
    document = response.json()
    endpoints = (
        settings.oidc_authorization_url or str(document["authorization_endpoint"]),
        settings.oidc_token_url or str(document["token_endpoint"]),
    )
    request.app.state.oidc_endpoints = endpoints
    return endpoints


async def _exchange(
    request: Request[Any, Any, Any], code: str, pending: PendingSignIn
) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    _, token_url = await _endpoints(request)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending.redirect_uri,
        "client_id": settings.oidc_client_id or "",
        "code_verifier": pending.verifier,
    }
    secret = settings.oidc_client_secret
    async with httpx.AsyncClient(timeout=10) as client:
        if secret is None:  # a public client: PKCE alone
            response = await client.post(token_url, data=form)
        else:
            basic = httpx.BasicAuth(form["client_id"], secret.get_secret_value())
            response = await client.post(token_url, data=form, auth=basic)
    if response.status_code != 200:
        raise NotAuthorizedException("the identity provider refused the code exchange")
    tokens: dict[str, Any] = response.json()
    return tokens

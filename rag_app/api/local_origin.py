"""Local mode (no authentication, loopback only) trusts whoever can reach the port, and a
browser can be made to reach it by any web page the user opens. So in local mode:

- a request that changes anything (any method but GET, HEAD, OPTIONS) from a browser must
  come from this service's own pages: ``Sec-Fetch-Site`` (sent by every current browser)
  must be ``same-origin`` or ``none`` (typed by the user), and ``Origin``, when sent, must be
  this service's origin. ``same-site`` is refused too: another port on 127.0.0.1 is the
  same site. A simple form post or a ``no-cors`` fetch from another page is refused before
  anything is read or stored;
- every browser request (one with either header) must name a loopback host (``127.0.0.1``,
  ``localhost``, ``[::1]``, any port), so a page whose own domain is re-pointed at 127.0.0.1
  (DNS rebinding, which makes it "same-origin") can neither read nor change anything.

Clients that are not browsers (curl, the SDKs, the CLI over HTTP) send neither header and
pass. With authentication on, the sign-in cookie's CSRF token does this job instead."""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from rag_app.auth.sessions import SAFE_METHODS

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def _host_name(host: str) -> str:
    """``127.0.0.1:8000`` -> ``127.0.0.1``; ``[::1]:8000`` -> ``[::1]``."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def refusal(method: str, headers: dict[str, str], scheme: str) -> str | None:
    """Why a local-mode request is refused, or None when it may go ahead (pure).
    ``headers``: lower-case names."""
    site, origin, host = (
        headers.get("sec-fetch-site"),
        headers.get("origin"),
        headers.get("host", ""),
    )
    if site is None and origin is None:
        return None  # not a browser: nothing a web page could have made it send
    if _host_name(host.lower()) not in LOOPBACK_HOSTS:
        return f"local mode answers loopback hosts only, not {host[:100]!r}"
    if method.upper() in SAFE_METHODS:
        return None
    if site is not None and site not in TRUSTED_FETCH_SITES:
        return f"a {site} request may not change anything here (Sec-Fetch-Site)"
    if origin is not None and origin != f"{scheme}://{host}":
        return f"requests from {origin[:100]!r} may not change anything here (Origin)"
    return None


class LocalOriginMiddleware(ASGIMiddleware):
    """Refuses, with 403, what ``refusal`` refuses; HTTP only."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers: dict[str, Any] = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
        }
        reason = refusal(str(scope.get("method", "GET")), headers, str(scope.get("scheme", "http")))
        if reason is not None:
            raise PermissionDeniedException(reason)
        await next_app(scope, receive, send)

"""The MCP tools on the service, at ``/mcp`` (streamable HTTP, stateless: any replica
answers any request), behind the same bearer authentication, rate limit and grants as the
REST API: the app's middleware authenticates the request, ``caller`` applies the rate
limit, and the tools act for that principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request, asgi
from litestar.exceptions import ServiceUnavailableException
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from mcp.server.fastmcp import Context, FastMCP

from rag_app.api.security import caller
from rag_app.auth.principal import Principal
from rag_app.mcp_server.tools import build_tools
from rag_app.services import Services

PATH = "/mcp"
_CALLER = "rag_app.mcp_caller"  # the scope key that carries (services, principal) to tools


async def _caller_of(ctx: Context[Any, Any, Any]) -> tuple[Services, Principal]:
    request = ctx.request_context.request
    found: tuple[Services, Principal] | None = (
        None if request is None else request.scope.get(_CALLER)
    )
    if found is None:  # not a request that came through the mount below
        raise RuntimeError("no authenticated caller for this MCP request")
    return found


class HttpTools:
    """The tool server ``/mcp`` serves. The SDK's session manager runs once per instance,
    and an app's lifespan may run more than once (tests do), so each run of ``running``
    builds a fresh server."""

    def __init__(self, *, local_only: bool) -> None:
        self._local_only = local_only
        self.server: FastMCP | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        server = build_tools(_caller_of, stateless_http=True, local_only=self._local_only)
        server.streamable_http_app()  # creates the session manager
        async with server.session_manager.run():
            self.server = server
            try:
                yield
            finally:
                self.server = None


def mcp_route(tools: HttpTools) -> ASGIRouteHandler:
    """``/mcp`` and below, handed to the MCP SDK once the caller is known."""

    @asgi(PATH, is_mount=True, copy_scope=True)
    async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        request: Request[Any, Any, Any] = Request(scope)
        services: Services | None = request.app.state.services
        if services is None or not services.ready.is_set() or tools.server is None:
            raise ServiceUnavailableException(
                "the service is starting or waiting for its database; retry shortly",
                headers={"Retry-After": "5"},
            )
        principal = caller(request)
        scope[_CALLER] = (services, principal)  # type: ignore[literal-required]
        # The SDK routes on the path: it serves the mount's root.
        scope["path"] = "/"
        await tools.server.session_manager.handle_request(scope, receive, send)  # type: ignore[arg-type]

    return mcp_endpoint

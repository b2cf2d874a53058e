"""``rag-app mcp``: the MCP tools on stdin/stdout for a desktop assistant, acting with the
grants of the API key in ``RAG_API_KEY`` (the assistant sees what that key may read).
Without authentication configured (local mode) it acts as the local operator."""

from __future__ import annotations

from typing import Any

from mcp.server.fastmcp import Context

from rag_app.auth.principal import LOCAL_OPERATOR, Principal
from rag_app.errors import ConfigurationError
from rag_app.mcp_server.tools import build_tools
from rag_app.services import Services, open_services
from rag_app.settings import Settings


def check_key(settings: Settings) -> None:
    """Refuse, before starting anything, to serve without a key when one is needed."""
    if settings.auth == "required" and settings.api_key is None:
        raise ConfigurationError(
            "authentication is required: set RAG_API_KEY to the API key the assistant acts "
            "with (rag-app keys create NAME --read COLLECTION)"
        )


async def _principal(settings: Settings, services: Services) -> Principal:
    if services.authenticator is None:
        return LOCAL_OPERATOR
    assert settings.api_key is not None  # check_key
    principal = await services.authenticator.verify(settings.api_key.get_secret_value())
    if principal is None:
        raise ConfigurationError("RAG_API_KEY is not a valid, unrevoked API key")
    return principal


async def serve_stdio(settings: Settings) -> None:
    """Serve MCP on stdio until the client closes it. Logs go to stderr: stdout is the
    protocol's."""
    check_key(settings)
    async with open_services(settings, run_jobs=False) as services:
        principal = await _principal(settings, services)

        async def caller_of(_: Context[Any, Any, Any]) -> tuple[Services, Principal]:
            return services, principal

        server = build_tools(caller_of, stateless_http=False, local_only=True)
        await server.run_stdio_async()

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import ServiceUnavailableException
from litestar.middleware import DefineMiddleware

from rag_app.api.audit import AuditController
from rag_app.api.audit_trail import AuditMiddleware
from rag_app.api.conversations import (
    AnswerController,
    ConversationController,
    ExportController,
)
from rag_app.api.documents import DocumentController, JobController
from rag_app.api.errors import EXCEPTION_HANDLERS
from rag_app.api.health import HealthController
from rag_app.api.local_origin import LocalOriginMiddleware
from rag_app.api.openai_compat import OpenAIController
from rag_app.api.openapi import openapi_config
from rag_app.api.queries import QueryController
from rag_app.api.security import (
    QUERY,
    UNAUTHENTICATED,
    UPLOAD,
    BearerAuthMiddleware,
    RateLimiter,
    caller,
)
from rag_app.auth.backends import stored_session_secret
from rag_app.embedders.base import Embedder
from rag_app.services import Services, open_services
from rag_app.settings import Settings
from rag_app.web.api_docs import api_docs_plugins
from rag_app.web.pages import session_sealer, web_router, web_state

MULTIPART_OVERHEAD = 1024 * 1024  # form fields and boundaries around the file


def _services(state: State) -> Services:
    services: Services | None = state.services
    if services is None or not services.ready.is_set():
        raise ServiceUnavailableException(
            "the service is starting or waiting for its database; retry shortly",
            headers={"Retry-After": "5"},
        )
    return services


def create_app(
    settings: Settings, *, embedder: Embedder | None = None, audited: bool = True
) -> Litestar:
    """The ASGI app. Services start in its lifespan, so building it costs nothing.
    ``embedder``: see ``open_services``. ``audited=False`` leaves out the audit trail: only
    for the benchmark that measures what it costs (benchmarks/audit_overhead.py)."""

    # Imported here: the MCP tools use the API's schemas and access rules.
    from rag_app.api.mcp import HttpTools, mcp_route

    required = settings.auth == "required"
    tools = HttpTools(local_only=not required)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with (
            open_services(settings, wait_for_database=False, embedder=embedder) as services,
            tools.running(),
        ):
            app.state.services = services
            app.state.authenticator = services.authenticator
            if settings.session_secret_id:
                secret = await anyio.to_thread.run_sync(stored_session_secret, settings)
                app.state.session_sealer = session_sealer(settings, secret)
            yield
            app.state.services = None
            app.state.authenticator = None

    # The audit trail is outermost, so that it records requests authentication refuses.
    middleware: list[DefineMiddleware | LocalOriginMiddleware] = (
        [DefineMiddleware(AuditMiddleware, questions=settings.audit_questions)] if audited else []
    )
    if required:
        middleware.append(
            DefineMiddleware(BearerAuthMiddleware, exclude=[f"^{p}" for p in UNAUTHENTICATED])
        )
    else:  # no credentials to check: other web pages must not act through the browser
        middleware.append(LocalOriginMiddleware())
    return Litestar(
        route_handlers=[
            DocumentController,
            JobController,
            QueryController,
            OpenAIController,
            HealthController,
            ConversationController,
            AnswerController,
            ExportController,
            AuditController,
            mcp_route(tools),
            web_router(),
        ],
        dependencies={
            "services": Provide(_services, sync_to_thread=False),
            "principal": Provide(caller, sync_to_thread=False),
        },
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        # The largest file, plus a transcript that may come with media.
        request_max_body_size=max(settings.max_upload_bytes, settings.max_media_bytes)
        + settings.max_upload_bytes
        + MULTIPART_OVERHEAD,
        openapi_config=openapi_config(render_plugins=api_docs_plugins()),
        state=State(
            {
                "services": None,
                "authenticator": None,
                "auth_required": required,
                "rate_limiter": RateLimiter(
                    {
                        QUERY: settings.rate_limit_per_minute,
                        UPLOAD: settings.upload_rate_limit_per_minute,
                    }
                ),
                **web_state(settings),
            }
        ),
    )

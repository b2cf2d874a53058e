from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from rag_app.api.errors import PROBLEM_JSON, Problem, problem
from rag_app.services import Services


class LiveOut(msgspec.Struct):
    status: str  # "live"


class ReadyOut(msgspec.Struct):
    status: str  # "ready"
    embedder: str  # the embedding model's id
    dimension: int  # of its vectors


READINESS = {
    200: ResponseSpec(ReadyOut, description="Ready to serve", generate_examples=False),
    503: ResponseSpec(
        Problem,
        media_type=PROBLEM_JSON,
        description="Not ready: starting, waiting for the database, or a store failing",
        generate_examples=False,
    ),
}


class HealthController(Controller):
    path = "/health"
    tags = ("health",)

    @get("/live", operation_id="live")
    async def live(self) -> LiveOut:
        """The process is up (says nothing about its dependencies)."""
        return LiveOut(status="live")

    @get("/ready", operation_id="ready", responses=READINESS)
    async def ready(self, state: State) -> Response[ReadyOut] | Response[dict[str, Any]]:
        """Ready only when the catalog, the vector store and the embedder can serve."""
        services: Services | None = state.get("services")
        if services is None:
            return problem(503, "starting")
        if not services.ready.is_set():
            return problem(503, "waiting for the database (retrying with backoff)")
        try:
            await services.catalog.check()
            await services.store.check()
            await services.queue.check()
        except Exception as e:
            return problem(503, f"not ready: {type(e).__name__}: {e}")
        if services.model_access is not None and (refused := await services.model_access.check()):
            return problem(503, "not ready: " + "; ".join(refused.values()), models=refused)
        return Response(
            ReadyOut(
                status="ready",
                embedder=services.embedder.model_id,
                dimension=services.embedder.dimension,
            )
        )

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from rag_app.api.errors import problem
from rag_app.services import Services


class HealthController(Controller):
    path = "/health"
    tags = ("health",)

    @get("/live", operation_id="live")
    async def live(self) -> dict[str, str]:
        """The process is up (says nothing about its dependencies)."""
        return {"status": "live"}

    @get("/ready", operation_id="ready")
    async def ready(self, state: State) -> Response[dict[str, Any]]:
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
        return Response(
            {
                "status": "ready",
                "embedder": services.embedder.model_id,
                "dimension": services.embedder.dimension,
            }
        )

"""Can this process call the Bedrock models it is configured with? Checked once at
start-up and again by readiness, so a first deploy whose account has not enabled a model
says so on ``/health/ready`` and in the log, instead of failing the first question.

Contract: ``check()`` runs every probe whose last outcome was a refusal (or that never
ran), at most once per ``recheck_seconds``, and returns ``{model_id: detail}`` for the
models that refuse. Probes raise ``ModelRefusedError``/``ModelThrottledError`` (see
``bedrock_refusals``); a throttled model is reachable, so it is not reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from rag_app.errors import ModelRefusedError, ModelThrottledError

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[None]]


class ModelAccess:
    def __init__(self, probes: dict[str, Probe], *, recheck_seconds: float = 60.0) -> None:
        self._probes = probes
        self._recheck = recheck_seconds
        self._refused: dict[str, str] = {}
        self._pending = set(probes)
        self._last = float("-inf")

    @property
    def refused(self) -> dict[str, str]:
        """The refusals the last check found (model id -> what to do)."""
        return dict(self._refused)

    async def check(self) -> dict[str, str]:
        now = time.monotonic()
        if not self._pending and not self._refused:
            return {}
        if now - self._last < self._recheck and not self._pending:
            return self.refused
        self._last = now
        for model_id in sorted(self._pending | set(self._refused)):
            try:
                await self._probes[model_id]()
            except ModelRefusedError as e:
                if model_id not in self._refused:
                    log.error("model access check: %s", e)  # noqa: TRY400 - a refusal, no trace
                self._refused[model_id] = str(e)
            except ModelThrottledError:
                self._refused.pop(model_id, None)  # it answered: the role may call it
            else:
                if model_id in self._refused:
                    log.info("model access check: %s is reachable now", model_id)
                self._refused.pop(model_id, None)
        self._pending.clear()
        return self.refused

"""The chart rendered by the real Helm Go SDK (helm-python-sdk), in a process of its own.

helm_python loads Go's runtime into whatever process imports it. A clean-clone run of the
default suite once died with SIGSEGV in `tests/infra/test_chart.py`, in a process that also
ran the local embedder on OpenVINO; the cause was not confirmed. The test process never
imports helm_python now: one spawned child loads the chart and answers render and lint
calls, so Go's runtime and signal handlers never share a process with the embedder's
threads, PostgreSQL clients or the other test servers.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

_chart: Any = None  # the child's loaded chart


class HelmRefused(Exception):
    """Helm refused the chart or its values; ``kind`` is helm_python's error class name
    (``HelmValuesError`` for a values-schema violation, ``HelmRenderError`` for a template
    failure)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def _load(path: str) -> None:
    global _chart
    import helm_python as helm

    _chart = helm.Chart.load(path)


def _render(values: dict[str, Any]) -> dict[str, str] | tuple[str, str]:
    import helm_python as helm

    try:
        files = _chart.render(values, name="rag-app", namespace="rag", is_install=True)
    except helm.HelmError as e:
        return (type(e).__name__, str(e))
    return dict(files)


def _lint(path: str, values: dict[str, Any]) -> dict[str, Any]:
    import helm_python as helm

    return dict(helm.lint(path, values, strict=True))


class HelmChart:
    """One chart directory, rendered as the release ``rag-app`` in namespace ``rag``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load,
            initargs=(str(path),),
        )

    def render(self, values: dict[str, Any]) -> dict[str, str]:
        """The rendered files by path; raises HelmRefused when Helm refuses."""
        result = self._pool.submit(_render, values).result(timeout=120)
        if isinstance(result, tuple):
            raise HelmRefused(*result)
        return result

    def lint(self, values: dict[str, Any]) -> dict[str, Any]:
        """``helm lint --strict``: its ``errors`` and ``messages``."""
        return self._pool.submit(_lint, str(self.path), values).result(timeout=120)

    def close(self) -> None:
        self._pool.shutdown()

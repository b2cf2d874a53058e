"""The app's metrics as CloudWatch embedded metric format (EMF) lines: the awslogs driver
(ECS) and the EKS log agent ship stdout to CloudWatch Logs, which turns each line into a
metric with no agent or PutMetricData call; anywhere else they are plain JSON lines.

One writer for the whole process, one namespace (``RagApp``):
- ``emit(name, value, **dimensions)``: one metric, published both without dimensions (what
  the stacks' alarms read, components/operations.py) and with the given ones (to break it
  down: by model, by stage);
- ``MetricsLog``: the queue's and the jobs' metrics (names in ``UNITS``), with the process's
  role as the ``Service`` dimension and free-form properties (job id) beside them.

Contract: a write is exactly one JSON object on one line with an ``_aws`` block; lines from
several threads never interleave; writing never raises (a metric is not worth failing the
request that produced it). Lines go to stdout unless ``redirected`` (tests: a sink).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

NAMESPACE = "RagApp"
# The metric names the stacks' alarms read (components/operations.py).
INGESTION_FAILURES = "IngestionFailures"
BEDROCK_THROTTLES = "BedrockThrottles"
BEDROCK_REFUSALS = "BedrockRefusals"
UNITS = {
    "QueueWaiting": "Count",
    "QueueRunning": "Count",
    "QueueDead": "Count",
    "OldestJobAgeSeconds": "Seconds",
    "JobWaitSeconds": "Seconds",
    "JobSeconds": "Seconds",
    "JobsSucceeded": "Count",
    "JobsRetried": "Count",
    "JobsFailed": "Count",
    "TextsEmbedded": "Count",
    INGESTION_FAILURES: "Count",
    BEDROCK_THROTTLES: "Count",
    BEDROCK_REFUSALS: "Count",
}

_lock = threading.Lock()
_sink: TextIO | None = None  # None: stdout, looked up at each write (pytest swaps it)


def emf_line(
    values: Mapping[str, float],
    *,
    dimension_sets: list[list[str]],
    fields: Mapping[str, str] | None = None,
) -> str:
    """One EMF record (pure): ``values`` (metric name -> value, units from ``UNITS``), each
    published once per dimension set; ``fields`` holds the dimensions' values and any other
    properties, logged beside the metrics."""
    record: dict[str, object] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": dimension_sets,
                    "Metrics": [{"Name": n, "Unit": UNITS.get(n, "None")} for n in values],
                }
            ],
        },
        **(fields or {}),
        **values,
    }
    return json.dumps(record, separators=(",", ":"))


def write(line: str, stream: TextIO | None = None) -> None:
    """``line`` and a newline to ``stream`` (default: the process's sink, else stdout),
    flushed, under the process's lock; a closed or broken stream is ignored."""
    try:
        with _lock:
            out = stream or _sink or sys.stdout
            out.write(line + "\n")
            out.flush()
    except (OSError, ValueError):
        return


@contextmanager
def redirected(stream: TextIO) -> Iterator[TextIO]:
    """Every line this process writes without a stream of its own goes to ``stream``
    inside the block, from any thread; the previous sink again after (blocks nest)."""
    global _sink
    with _lock:
        previous, _sink = _sink, stream
    try:
        yield stream
    finally:
        with _lock:
            _sink = previous


def emit(name: str, value: float = 1, *, stream: TextIO | None = None, **dimensions: str) -> None:
    """One metric, without dimensions and (when given) with ``dimensions``."""
    try:
        line = emf_line(
            {name: value},
            dimension_sets=[[], sorted(dimensions)] if dimensions else [[]],
            fields=dimensions,
        )
    except (ValueError, TypeError):  # an unserialisable value
        return
    write(line, stream)


class MetricsLog:
    """Queue and job metrics with the ``Service`` dimension (``api`` or ``worker``).
    ``enabled=False`` writes nothing (one-off CLI commands: their stdout is for people)."""

    def __init__(
        self, stream: TextIO | None = None, *, service: str = "worker", enabled: bool = True
    ) -> None:
        self._stream = stream
        self._service = service
        self._enabled = enabled

    def emit(self, values: Mapping[str, float], **properties: str) -> None:
        """``values``: metric name -> value (names from ``UNITS``); ``properties`` are
        logged beside them (job id, queue engine) without becoming dimensions."""
        if not self._enabled:
            return
        fields = {"Service": self._service, **properties}
        write(emf_line(values, dimension_sets=[["Service"]], fields=fields), self._stream)

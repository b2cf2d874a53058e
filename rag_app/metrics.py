"""The app's own metrics, for the stacks' CloudWatch alarms, as CloudWatch embedded metric
format (EMF) lines on stdout: the awslogs driver (ECS) and the EKS log agent ship stdout to
CloudWatch Logs, which turns each line into a metric with no agent or PutMetricData call.

Contract: ``emit`` writes exactly one JSON object per call, on one line, with an ``_aws``
block naming the ``RagApp`` namespace, the metric and its dimensions; it never raises
(a metric is not worth failing the request that produced it).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TextIO

NAMESPACE = "RagApp"
# The metric names the stacks' alarms read (components/alarms.py).
INGESTION_FAILURES = "IngestionFailures"
BEDROCK_THROTTLES = "BedrockThrottles"
BEDROCK_REFUSALS = "BedrockRefusals"

_lock = threading.Lock()


def emf_line(name: str, value: float, unit: str, dimensions: dict[str, str]) -> str:
    """One EMF record (pure, for tests and for ``emit``)."""
    record: dict[str, object] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [sorted(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        **dimensions,
        name: value,
    }
    return json.dumps(record, separators=(",", ":"))


def emit(
    name: str,
    value: float = 1,
    *,
    unit: str = "Count",
    stream: TextIO | None = None,
    **dimensions: str,
) -> None:
    """Write one metric to ``stream`` (stdout by default)."""
    try:
        line = emf_line(name, value, unit, dimensions)
        out = stream if stream is not None else sys.stdout
        with _lock:
            out.write(line + "\n")
            out.flush()
    except (OSError, ValueError, TypeError):  # a closed stream, an unserialisable value
        return

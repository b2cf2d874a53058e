"""Queue and job metrics as CloudWatch embedded metric format (EMF) lines on stdout: on
ECS the awslogs driver ships them and CloudWatch extracts the metrics, with no agent and no
API call; anywhere else they are plain JSON lines a log pipeline can read."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Mapping
from typing import TextIO

NAMESPACE = "RagApp/Ingestion"
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
}


class MetricsLog:
    """Writes one EMF line per ``emit``; lines from several threads never interleave.
    ``enabled=False`` writes nothing (one-off CLI commands: their stdout is for people)."""

    def __init__(
        self, stream: TextIO | None = None, *, service: str = "worker", enabled: bool = True
    ) -> None:
        self._stream = stream
        self._service = service
        self._enabled = enabled
        self._lock = threading.Lock()

    def emit(self, values: Mapping[str, float], **properties: str) -> None:
        """``values``: metric name -> value (names from ``UNITS``); ``properties`` are
        logged beside them (job id, queue engine) without becoming dimensions."""
        if not self._enabled:
            return
        record = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Service"]],
                        "Metrics": [{"Name": n, "Unit": UNITS.get(n, "None")} for n in values],
                    }
                ],
            },
            "Service": self._service,
            **properties,
            **values,
        }
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            stream = self._stream or sys.stdout
            stream.write(line + "\n")
            stream.flush()

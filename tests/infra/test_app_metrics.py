"""The app's EMF lines against what reads them: the stacks' alarms on the app's own
metrics match a metric the lines publish, every line goes through one writer in one
namespace, and a process prints them on stdout unless told otherwise."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

from components.operations import app_alarms
from rag_app import metrics
from rag_app.metrics import MetricsLog
from tests.conftest import ROOT


def _published(line: str) -> set[tuple[str, str, frozenset[tuple[str, str]]]]:
    """(namespace, metric, dimensions) of every CloudWatch metric one EMF line makes."""
    record: dict[str, Any] = json.loads(line)
    found = set()
    for directive in record["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dimensions = frozenset((k, str(record[k])) for k in dimension_set)
            for metric in directive["Metrics"]:
                found.add((directive["Namespace"], metric["Name"], dimensions))
    return found


def test_every_app_alarm_reads_a_metric_the_app_publishes() -> None:
    out = io.StringIO()
    metrics.emit(metrics.INGESTION_FAILURES, stream=out, Stage="extract")
    metrics.emit(metrics.BEDROCK_THROTTLES, 3, stream=out, Model="amazon.titan-embed-text-v2:0")
    metrics.emit(metrics.BEDROCK_REFUSALS, stream=out, Model="m", Code="AccessDeniedException")
    published = set().union(*(_published(line) for line in out.getvalue().splitlines()))
    for alarm in app_alarms():
        # An alarm names exact dimensions: a metric only published by stage or by model
        # would leave it INSUFFICIENT_DATA for ever.
        wanted = (alarm.namespace, alarm.metric, frozenset(alarm.dimensions.items()))
        assert wanted in published, alarm.name
    assert ("RagApp", metrics.BEDROCK_THROTTLES, frozenset({("Model", "m")})) not in published
    assert (
        "RagApp",
        metrics.INGESTION_FAILURES,
        frozenset({("Stage", "extract")}),
    ) in published


def test_queue_metrics_share_the_namespace_and_carry_the_service_dimension() -> None:
    out = io.StringIO()
    MetricsLog(out, service="api").emit({"QueueWaiting": 2, "JobSeconds": 1.5}, job_id="j1")
    (line,) = out.getvalue().splitlines()
    assert _published(line) == {
        ("RagApp", "QueueWaiting", frozenset({("Service", "api")})),
        ("RagApp", "JobSeconds", frozenset({("Service", "api")})),
    }
    record = json.loads(line)
    assert record["job_id"] == "j1"  # a property, not a dimension
    units = {m["Name"]: m["Unit"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"QueueWaiting": "Count", "JobSeconds": "Seconds"}
    MetricsLog(out, enabled=False).emit({"QueueWaiting": 1})
    assert len(out.getvalue().splitlines()) == 1


def test_lines_go_to_the_redirected_sink_from_every_thread_then_back() -> None:
    import threading

    inner, outer = io.StringIO(), io.StringIO()
    with metrics.redirected(outer):
        with metrics.redirected(inner):
            threads = [
                threading.Thread(target=MetricsLog().emit, args=({"JobsFailed": 1},))
                for _ in range(8)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        metrics.emit(metrics.INGESTION_FAILURES)
    assert [json.loads(line)["JobsFailed"] for line in inner.getvalue().splitlines()] == [1] * 8
    (line,) = outer.getvalue().splitlines()
    assert json.loads(line)[metrics.INGESTION_FAILURES] == 1


def test_a_process_prints_its_metrics_on_stdout() -> None:
    """What production relies on: no redirect, the lines are the process's stdout."""
    program = (
        "from rag_app import metrics\n"
        "metrics.emit(metrics.INGESTION_FAILURES, Stage='embed')\n"
        "metrics.MetricsLog(service='worker').emit({'QueueDead': 0})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert [sorted(json.loads(line)) for line in lines] == [
        ["IngestionFailures", "Stage", "_aws"],
        ["QueueDead", "Service", "_aws"],
    ]
    assert done.stderr == ""

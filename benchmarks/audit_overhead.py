"""What the audit trail adds to a request: p50/p95 of the same requests on two apps over
one database, one with the audit middleware and writer and one without, interleaved in
the same run (so load on the machine hits both alike).

    .venv/bin/python benchmarks/audit_overhead.py [--requests 400]
    # prints the figures; writes benchmarks/results/audit_overhead.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from litestar.testing import TestClient  # noqa: E402

from benchmarks.run_record import machine, summary  # noqa: E402
from rag_app.api import create_app  # noqa: E402
from rag_app.postgres.embedded import EmbeddedPostgres  # noqa: E402
from rag_app.settings import Settings  # noqa: E402

PDF = ROOT.parent / "shared" / "corpus" / "pdf" / "la-precinct-bulletin-2014-p1.pdf"
RESULTS = ROOT / "benchmarks" / "results"


def _timed(client: TestClient[Any], method: str, url: str, **kwargs: Any) -> float:
    started = time.perf_counter()
    response = client.request(method, url, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="per endpoint and app")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="audit-overhead-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        cluster = EmbeddedPostgres(root / "postgres")
        url = cluster.start().url
        try:
            settings = Settings(database_url=url, data_dir=root / "data", ocr="off")
            with (
                TestClient(create_app(settings)) as audited,
                TestClient(create_app(settings, audited=False)) as plain,
            ):
                response = audited.post(
                    "/documents", files={"file": (PDF.name, PDF.read_bytes(), "application/pdf")}
                )
                document_id, job_id = response.json()["document_id"], response.json()["job_id"]
                while audited.get(f"/jobs/{job_id}").json()["status"] not in (
                    "succeeded",
                    "failed",
                ):
                    time.sleep(0.2)
                endpoints = {
                    "GET /documents/{id}": ("GET", f"/documents/{document_id}", {}),
                    "POST /search": ("POST", "/search", {"json": {"query": "ballots cast"}}),
                }
                samples: dict[str, dict[str, list[float]]] = {}
                for name, (method, path, kwargs) in endpoints.items():
                    for client in (audited, plain):  # warm up: connections, prepared plans
                        for _ in range(20):
                            _timed(client, method, path, **kwargs)
                    on: list[float] = []
                    off: list[float] = []
                    for n in range(args.requests):  # alternate which goes first
                        if n % 2:
                            on.append(_timed(audited, method, path, **kwargs))
                            off.append(_timed(plain, method, path, **kwargs))
                        else:
                            off.append(_timed(plain, method, path, **kwargs))
                            on.append(_timed(audited, method, path, **kwargs))
                    samples[name] = {"audited": on, "not_audited": off}
                writer = audited.app.state.services.audit
                started = time.perf_counter()
                audited.blocking_portal.call(writer.flush)
                flush_ms = (time.perf_counter() - started) * 1000
        finally:
            cluster.stop()
    report: dict[str, Any] = {"machine": machine(), "requests": args.requests, "endpoints": {}}
    for name, runs in samples.items():
        on, off = summary(runs["audited"]), summary(runs["not_audited"])
        report["endpoints"][name] = {
            "audited_ms": on,
            "not_audited_ms": off,
            "added_p50_ms": round(on["p50"] - off["p50"], 2),
            "added_p95_ms": round(on["p95"] - off["p95"], 2),
        }
        print(
            f"{name:22s} audited p50 {on['p50']:7.2f} ms p95 {on['p95']:7.2f} ms | "
            f"without p50 {off['p50']:7.2f} ms p95 {off['p95']:7.2f} ms | "
            f"added p50 {on['p50'] - off['p50']:+.2f} ms p95 {on['p95'] - off['p95']:+.2f} ms"
        )
    report["final_flush_ms"] = round(flush_ms, 2)
    print(f"flush of what was pending at the end: {flush_ms:.2f} ms (off the request path)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit_overhead.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()

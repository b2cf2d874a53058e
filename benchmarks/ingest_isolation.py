"""Isolation of load: `/search` latency on an API process (RAG_INGEST_WORKERS=0) while a
separate `rag-app worker` ingests a 300-page PDF and a 30-minute recording, next to the
same API's idle latency in the same run; and the API's embedder count (it must embed no
chunk: ingestion's embedder lives in the worker).

    .venv/bin/python benchmarks/ingest_isolation.py [--searches 60]

The recording is a 30-minute WAV with its WebVTT transcript (no speech recognition: the
worker decodes the media's length, chunks the transcript's 360 cues and embeds them), so
the run is bounded; the PDF is 300 pages of the corpus's text made with fpdf2. Both
processes share this machine's cores: the figures measure what a separate process buys
on one box (the event loop and the embedder are no longer shared), not separate hosts.
Results: benchmarks/results/ingest_isolation.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import struct
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from run_record import RESULTS, machine, summary  # noqa: E402

from rag_app.postgres.embedded import EmbeddedPostgres  # noqa: E402
from tests.conftest import CORPUS  # noqa: E402
from tests.support.processes import start, start_server, wait_until_started  # noqa: E402
from tests.support.queue_documents import _corpus_paragraphs, text_pdf  # noqa: E402

QUESTIONS = [
    "how many work-hours does the AOA sensor system test take",
    "what did the justices ask about the statute",
    "background checks by state in November",
    "senate expenditures for official travel",
    "precinct polling place changes",
]


def big_pdf(pages: int) -> bytes:
    """About ``pages`` letter pages of corpus text (fpdf2 breaks the pages itself)."""
    paragraphs = _corpus_paragraphs()
    text = "\n\n".join(paragraphs[i % len(paragraphs)] for i in range(pages * 4))
    return text_pdf(text)


def recording(minutes: int) -> tuple[bytes, bytes]:
    """A mono 8 kHz WAV of low noise, and a WebVTT transcript with a cue every 5 s."""
    rate, seconds = 8000, minutes * 60
    rng = random.Random(7)
    samples = struct.pack(f"<{rate}h", *(rng.randint(-300, 300) for _ in range(rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        for _ in range(seconds):
            w.writeframes(samples)
    words = " ".join(_corpus_paragraphs()).split()
    cues = ["WEBVTT", ""]
    for n, start_s in enumerate(range(0, seconds, 5)):
        text = " ".join(words[(n * 14) % len(words) : (n * 14) % len(words) + 14])

        def stamp(s: int) -> str:
            return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}.000"

        cues += [f"{stamp(start_s)} --> {stamp(start_s + 5)}", text, ""]
    return out.getvalue(), "\n".join(cues).encode()


def searches(url: str, count: int, stop: threading.Event | None = None) -> list[float]:
    latencies = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for n in range(count):
            if stop is not None and stop.is_set():
                break
            started = time.perf_counter()
            response = client.post("/search", json={"query": QUESTIONS[n % len(QUESTIONS)]})
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def wait_for(url: str, job_ids: list[str], seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=300) as client:
        while True:
            jobs = {j: client.get(f"/jobs/{j}").json() for j in job_ids}
            if all(j["status"] in ("succeeded", "failed") for j in jobs.values()):
                return jobs
            if time.monotonic() > deadline:
                raise SystemExit(f"jobs unfinished after {seconds} s: {jobs}")
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=60, help="idle searches")
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--minutes", type=int, default=30)
    args = parser.parse_args()
    record: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="isolation-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # the embedded PostgreSQL runs as its own user
        cluster = EmbeddedPostgres(root / "postgres")
        url_db = cluster.start().url
        env = {"RAG_DATABASE_URL": url_db, "RAG_DATA_DIR": str(root / "data")}
        api = start_server({**env, "RAG_INGEST_WORKERS": "0"}, root / "api")
        worker = start(["worker"], env, root / "worker")
        try:
            wait_until_started(worker)
            assert api.url is not None
            seeded = []
            for pdf in sorted((CORPUS / "pdf").glob("*.pdf")):
                response = httpx.post(
                    f"{api.url}/documents",
                    files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
                    timeout=120,
                )
                seeded.append(response.json()["job_id"])
            wait_for(api.url, seeded, 900)
            searches(api.url, 5)  # warm-up
            idle = searches(api.url, args.searches)

            pdf = big_pdf(args.pages)
            audio, vtt = recording(args.minutes)
            started = time.perf_counter()
            jobs = [
                httpx.post(
                    f"{api.url}/documents",
                    files={"file": ("bundle-300-pages.pdf", pdf, "application/pdf")},
                    timeout=300,
                ).json()["job_id"],
                httpx.post(
                    f"{api.url}/documents",
                    files={
                        "file": ("hearing-30-minutes.wav", audio, "audio/wav"),
                        "transcript": ("hearing-30-minutes.vtt", vtt, "text/vtt"),
                    },
                    timeout=300,
                ).json()["job_id"],
            ]
            stop = threading.Event()
            loaded: list[float] = []

            def search_while_ingesting() -> None:
                while not stop.is_set():
                    loaded.extend(searches(api.url or "", 5, stop))

            thread = threading.Thread(target=search_while_ingesting)
            thread.start()
            ended = wait_for(api.url, jobs, 3600)
            stop.set()
            thread.join()
            ingest_seconds = time.perf_counter() - started
            documents = httpx.get(f"{api.url}/documents", params={"limit": 500}).json()["items"]
            record |= {
                "idle_search_ms": summary(idle),
                "search_while_ingesting_ms": summary(loaded),
                "p95_ratio": round(summary(loaded)["p95"] / summary(idle)["p95"], 2),
                "ingest_seconds": round(ingest_seconds, 1),
                "jobs": {j["job_id"]: j["status"] for j in ended.values()},
                "documents": {
                    d["title"]: {"pages": d["pages"], "chunks": d["chunks"]}
                    for d in documents
                    if d["title"].startswith(("bundle", "hearing"))
                },
                "api_texts_embedded_for_ingestion": api.total("TextsEmbedded"),
                "worker_texts_embedded": worker.total("TextsEmbedded"),
                "pdf_pages": args.pages,
                "recording_minutes": args.minutes,
            }
        finally:
            for process in (worker, api):
                with contextlib.suppress(Exception):
                    process.stop()
            cluster.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = (
        "ingest_isolation.json"
        if (args.pages, args.minutes) == (300, 30)
        else (f"ingest_isolation_{args.pages}p_{args.minutes}min.json")
    )
    (RESULTS / name).write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"/search on the API: idle p95 {record['idle_search_ms']['p95']:.0f} ms "
        f"(p50 {record['idle_search_ms']['p50']:.0f}), while the worker ingests a "
        f"{args.pages}-page PDF and a {args.minutes}-minute recording "
        f"p95 {record['search_while_ingesting_ms']['p95']:.0f} ms "
        f"(p50 {record['search_while_ingesting_ms']['p50']:.0f}, "
        f"n={record['search_while_ingesting_ms']['n']}); ratio {record['p95_ratio']}x; "
        f"ingestion {record['ingest_seconds']} s; texts embedded by the API for ingestion: "
        f"{record['api_texts_embedded_for_ingestion']:.0f}, by the worker: "
        f"{record['worker_texts_embedded']:.0f}; load average at start "
        f"{record['machine']['load_average_at_start']}"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

"""Load on a real `rag-app serve` process on the local stack (embedded PostgreSQL + pgvector,
MiniLM, the extractive answerer), with authentication on and the FAA rule ingested: N
concurrent users, each with its own API key, send search and ask (half each, questions
drawn at random) for a duration. Prints the error rate, p50/p95/p99 per endpoint,
requests/s and the server process's RSS growth; writes benchmarks/results/load_test.json.

    .venv/bin/python -m benchmarks.load_test [--users 16] [--duration 120]
    .venv/bin/python -m benchmarks.load_test --soak 600     # memory printed every 30 s

The clients are an asyncio pool of httpx connections in this process rather than locust:
locust brings gevent (which monkey-patches the standard library, at odds with the
asyncio test suite that runs the reduced form of this test) and a dozen packages, for
what 150 lines of asyncio do here; httpx is already a dependency of the app.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rag_app.auth.api_keys import FileKeyStore, new_key

ROOT = Path(__file__).resolve().parents[1]
FAA_PDF = ROOT.parent / "shared" / "corpus" / "pdf" / "federal-register-2020-17221.pdf"
RAG_APP = str(Path(sys.executable).parent / "rag-app")
QUESTIONS = [
    "how many work-hours does the AOA sensor system test take",
    "Which airplane models does the proposed airworthiness directive apply to?",
    "When is the comment deadline for the proposed rule?",
    "What is the estimated cost on U.S. operators?",
    "What is the unsafe condition this AD addresses?",
    "How many airplanes of U.S. registry are affected?",
    "What does the FAA propose to require?",
    "Who should I contact for more information?",
    "What is the docket number?",
    "What are the required corrective actions?",
]
ENDPOINTS = ("search", "ask")


@dataclass
class Server:
    url: str
    pid: int
    user_keys: list[str]


@dataclass
class Report:
    users: int
    seconds: float
    requests: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    requests_per_second: float = 0.0
    rss_mib: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, MiB)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def error_rate(self) -> float:
        return sum(self.errors.values()) / self.total if self.total else 1.0

    @property
    def rss_growth_mib(self) -> float:
        return self.rss_mib[-1][1] - self.rss_mib[0][1]


def rss_mib(pid: int) -> float:
    """Resident set size of the process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready in 120 s:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.3)


def _ingest(url: str, key: str, pdf: Path) -> None:
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as c:
        response = c.post(
            "/documents",
            files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
            data={"collection": "load"},
        )
        response.raise_for_status()
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 300
        while (job := c.get(f"/jobs/{job_id}").json())["status"] not in ("succeeded", "failed"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"ingestion of {pdf.name} did not finish in 300 s")
            time.sleep(0.3)
        if job["status"] != "succeeded":
            raise RuntimeError(f"ingestion of {pdf.name} failed: {job['error']}")


@contextlib.contextmanager
def serving(
    data_dir: Path, *, users: int, rate_limit_per_minute: int, pdf: Path = FAA_PDF
) -> Iterator[Server]:
    """`rag-app serve` on embedded defaults under ``data_dir`` with authentication on, one
    read key per user, and ``pdf`` ingested; stopped (SIGTERM) on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    writer, writer_record = new_key("load-test writer", read=[], write=["load"])
    readers = [new_key(f"load-test user {i}", read=["load"], write=[]) for i in range(users)]
    keys_file = data_dir / "api-keys.json"
    asyncio.run(FileKeyStore(keys_file).save([writer_record, *(r for _, r in readers)]))
    port = _free_port()
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(data_dir),
        "RAG_AUTH": "required",
        "RAG_API_KEYS_FILE": str(keys_file),
        "RAG_RATE_LIMIT_PER_MINUTE": str(rate_limit_per_minute),
    }
    log = data_dir / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [RAG_APP, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        _ingest(url, writer, pdf)
        yield Server(url=url, pid=process.pid, user_keys=[k for k, _ in readers])
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _user(
    client: httpx.AsyncClient,
    key: str,
    stop_at: float,
    rng: random.Random,
    samples: dict[str, list[float]],
    errors: dict[str, int],
    examples: list[str],
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    while time.monotonic() < stop_at:
        endpoint = rng.choice(ENDPOINTS)
        text = rng.choice(QUESTIONS)
        body = {"query": text} if endpoint == "search" else {"question": text}
        started = time.perf_counter()
        try:
            response = await client.post(f"/{endpoint}", json={**body, "top_k": 5}, headers=headers)
            payload = response.json() if response.status_code == 200 else None
            # A correct answer, not just a status: search has hits, ask has an answer.
            ok = payload is not None and (
                "hits" in payload if endpoint == "search" else "answer" in payload
            )
            problem = f"{endpoint}: HTTP {response.status_code} {response.text[:200]}"
        except (httpx.HTTPError, ValueError) as e:
            ok, problem = False, f"{endpoint}: {type(e).__name__}: {e}"
        samples[endpoint].append((time.perf_counter() - started) * 1000)
        if not ok:
            errors[endpoint] += 1
            if len(examples) < 5:
                examples.append(problem)


async def _watch_memory(
    pid: int,
    started: float,
    stop_at: float,
    every: float,
    report: Report,
    samples: dict[str, list[float]],
    verbose: bool,
) -> None:
    while True:
        now = time.monotonic()
        report.rss_mib.append((round(now - started, 1), round(rss_mib(pid), 1)))
        if verbose:
            seconds, mib = report.rss_mib[-1]
            done = sum(len(s) for s in samples.values())
            print(f"  t={seconds:5.0f} s  server RSS {mib:7.1f} MiB  {done} requests", flush=True)
        if now >= stop_at:
            return
        await asyncio.sleep(min(every, max(0.0, stop_at - now)))


async def run_load(
    server: Server,
    *,
    users: int,
    seconds: float,
    memory_every: float = 30.0,
    verbose: bool = False,
    seed: int = 7,
) -> Report:
    """``users`` concurrent clients for ``seconds`` after a short warm-up; RSS is read at the
    start, every ``memory_every`` seconds and at the end."""
    report = Report(users=users, seconds=seconds)
    samples: dict[str, list[float]] = {e: [] for e in ENDPOINTS}
    errors = dict.fromkeys(ENDPOINTS, 0)
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
        warm = {"Authorization": f"Bearer {server.user_keys[0]}"}
        for endpoint, body in (
            ("search", {"query": QUESTIONS[0]}),
            ("ask", {"question": QUESTIONS[0]}),
        ):
            (await client.post(f"/{endpoint}", json=body, headers=warm)).raise_for_status()
        started = time.monotonic()
        stop_at = started + seconds
        rng = random.Random(seed)
        watcher = asyncio.create_task(
            _watch_memory(server.pid, started, stop_at, memory_every, report, samples, verbose)
        )
        await asyncio.gather(
            *(
                _user(
                    client,
                    server.user_keys[i % len(server.user_keys)],
                    stop_at,
                    random.Random(rng.random()),
                    samples,
                    errors,
                    report.error_examples,
                )
                for i in range(users)
            )
        )
        elapsed = time.monotonic() - started
        await watcher
    report.rss_mib.append((round(elapsed, 1), round(rss_mib(server.pid), 1)))
    report.requests = {e: len(s) for e, s in samples.items()}
    report.errors = errors
    report.requests_per_second = round(report.total / elapsed, 1)
    report.latency_ms = {
        e: {
            "p50": round(statistics.median(s), 1),
            "p95": round(percentile(s, 0.95), 1),
            "p99": round(percentile(s, 0.99), 1),
        }
        for e, s in samples.items()
        if s
    }
    return report


def describe(report: Report) -> str:
    lines = [
        f"{report.users} users for {report.seconds:.0f} s: {report.total} requests, "
        f"{report.requests_per_second} requests/s, "
        f"error rate {report.error_rate:.4%} ({sum(report.errors.values())} errors)",
    ]
    for endpoint, q in report.latency_ms.items():
        lines.append(
            f"  {endpoint:6} {report.requests[endpoint]:6} requests  "
            f"p50 {q['p50']:7.1f} ms  p95 {q['p95']:7.1f} ms  p99 {q['p99']:7.1f} ms"
        )
    first, last = report.rss_mib[0][1], report.rss_mib[-1][1]
    peak = max(m for _, m in report.rss_mib)
    lines.append(
        f"  server RSS {first:.1f} -> {last:.1f} MiB (growth {report.rss_growth_mib:+.1f} MiB, "
        f"peak {peak:.1f} MiB)"
    )
    lines.extend(f"  error: {e}" for e in report.error_examples)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--duration", type=float, default=120, help="seconds")
    parser.add_argument("--soak", type=float, default=None, help="seconds; memory every 30 s")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=1_000_000,
        help="per key per minute (this measures capacity, not the limiter)",
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    seconds = args.soak or args.duration
    root = Path(tempfile.mkdtemp(prefix="rag-load-"))
    root.chmod(0o755)  # run as root, the embedded PostgreSQL's own user must reach it
    print(f"starting rag-app serve under {root}, ingesting {FAA_PDF.name} ...")
    try:
        with serving(
            root / "data", users=args.users, rate_limit_per_minute=args.rate_limit
        ) as server:
            print(f"{args.users} users, {seconds:.0f} s, search and ask, server pid {server.pid}")
            report = asyncio.run(
                run_load(
                    server,
                    users=args.users,
                    seconds=seconds,
                    memory_every=30.0 if args.soak else 10.0,
                    verbose=bool(args.soak),
                )
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(describe(report))
    name = "load_soak.json" if args.soak else "load_test.json"
    output = args.output or ROOT / "benchmarks" / "results" / name
    output.write_text(json.dumps({**report.__dict__, "error_rate": report.error_rate}, indent=2))
    print(f"written to {output}")


if __name__ == "__main__":
    main()

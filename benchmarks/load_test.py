"""Load on real `rag-app serve` processes on the local stack (embedded PostgreSQL + pgvector,
MiniLM, the extractive answerer), with authentication on and the corpus PDFs ingested: N
concurrent users, each with its own API key, send search and ask (3:1 by default, questions
drawn at random from a pool) for a duration. Prints the error rate, p50/p95/p99 per endpoint,
requests/s, the server's RSS growth and the load client's own CPU share; writes
benchmarks/results/load_test.json.

    .venv/bin/python -m benchmarks.load_test [--users 16] [--duration 120]
    .venv/bin/python -m benchmarks.load_test --baseline /tmp/baseline   # side by side
    .venv/bin/python -m benchmarks.load_test --soak 600     # memory printed every 30 s

``--questions``: ``repeated`` draws from 10 questions about the FAA rule, so after the first
asks every candidate sentence is in the answerer's cache and every hit's terms in the
coverage cache; ``distinct`` draws from every question of the evaluation sets over the
corpus PDFs (``benchmarks/eval/*.jsonl``: 85 with the 10), so more asks meet passages for the first
time; ``both`` (the default) measures each pool in turn on the same servers.

``--baseline DIR``: a checkout of another build (``git worktree add /tmp/baseline main``)
served from its own source with this environment; both servers run for the whole test
and take turns (``--rounds``, ABAB...), each measured for the same total duration, so a
busy shared machine loads both alike; the figures are printed side by side with ratios.

The client is one thread per user on a kept-alive ``http.client`` connection (no event
loop or HTTP library between the timer and the socket). The earlier asyncio + httpx client
sent half its requests to ``/ask`` (the goal's mix is 3:1) and ran against a server whose
``/ask`` embedded every candidate sentence and the question again; docs/performance.md has
the measured causes. The client's CPU time is measured (``getrusage``) and printed as its
share of the CPU the machine spent during the run, so a reader can see it is not the
bottleneck it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from rag_app.auth.api_keys import FileKeyStore, new_key

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
FAA_PDF = CORPUS / "federal-register-2020-17221.pdf"
EVALUATION_SETS = ROOT / "benchmarks" / "eval"
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
# Fields of the evaluation sets that are questions standing on their own (a conversation's
# follow-up leans on its first turn, so it is left out).
STANDALONE_FIELDS = ("question", "first", "standalone")
SERVE_FROM_CHECKOUT = (
    "import sys, rag_app.cli as cli; sys.argv[0] = 'rag-app'; "
    "print('serving', cli.__file__, flush=True); cli.main()"
)
ASK_SHARE = 0.25  # search:ask 3:1, as the goal is set


@dataclass
class Server:
    url: str
    pid: int
    user_keys: list[str]
    data_dir: Path | None = None  # where its embedded PostgreSQL keeps its data


@dataclass
class Report:
    users: int
    seconds: float
    requests: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDPOINTS, 0))
    error_examples: list[str] = field(default_factory=list)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    requests_per_second: float = 0.0
    rss_mib: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, MiB)
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0  # the server process and its embedded PostgreSQL
    machine_busy_s: float = 0.0  # every process on the machine, other users' included
    samples: dict[str, list[float]] = field(
        default_factory=lambda: {e: [] for e in ENDPOINTS}, repr=False
    )

    def finish(self) -> None:
        """Counts, rate and percentiles from the samples so far."""
        self.requests = {e: len(s) for e, s in self.samples.items()}
        self.requests_per_second = round(self.total / self.seconds, 1) if self.seconds else 0.0
        self.latency_ms = {
            e: {
                "p50": round(statistics.median(s), 1),
                "p95": round(percentile(s, 0.95), 1),
                "p99": round(percentile(s, 0.99), 1),
            }
            for e, s in self.samples.items()
            if s
        }

    @property
    def client_cpu_share(self) -> float:
        """The client's share of the CPU the machine spent during the run."""
        return self.client_cpu_s / self.machine_busy_s if self.machine_busy_s else 0.0

    def as_json(self) -> dict[str, Any]:
        found = {k: v for k, v in self.__dict__.items() if k != "samples"}
        return {
            **found,
            "error_rate": self.error_rate,
            "client_cpu_share": round(self.client_cpu_share, 4),
        }

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def error_rate(self) -> float:
        return sum(self.errors.values()) / self.total if self.total else 1.0

    @property
    def rss_growth_mib(self) -> float:
        return self.rss_mib[-1][1] - self.rss_mib[0][1]


def distinct_questions(directory: Path = EVALUATION_SETS) -> list[str]:
    """Every standalone question of the evaluation sets, each once, plus ``QUESTIONS``."""
    found = dict.fromkeys(QUESTIONS)
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            found.update(dict.fromkeys(record[f] for f in STANDALONE_FIELDS if f in record))
    return list(found)


def question_pools() -> dict[str, list[str]]:
    return {"repeated": QUESTIONS, "distinct": distinct_questions()}


def _own_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0  # a process that has exited (a zombie has no VmRSS)


def rss_mib(pid: int) -> float:
    """Resident set size of the server: the process and any descendants but not its
    embedded PostgreSQL, from /proc (Linux)."""
    total = 0.0
    for current in _descendants(pid):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{current}/comm").read_text().strip() != "postgres":
                total += _own_rss_mib(current)
    return total


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
    data_dir: Path,
    *,
    users: int,
    rate_limit_per_minute: int,
    pdfs: tuple[Path, ...] = (FAA_PDF,),
    checkout: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`rag-app serve` on embedded defaults under ``data_dir`` with authentication on, one
    read key per user, and ``pdfs`` ingested; stopped (SIGTERM) on exit. ``checkout``: serve
    that source tree's ``rag_app`` (another build) with this environment's packages.
    ``extra_env``: settings for this server only."""
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
        **(extra_env or {}),
    }
    command = [RAG_APP, "serve", "--port", str(port)]
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)  # ahead of this tree's editable install
        command = [sys.executable, "-c", SERVE_FROM_CHECKOUT, "serve", "--port", str(port)]
    log = data_dir / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=data_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        for pdf in pdfs:
            _ingest(url, writer, pdf)
        yield Server(url=url, pid=process.pid, user_keys=[k for k, _ in readers], data_dir=data_dir)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _user(
    url: str,
    key: str,
    stop_at: float,
    rng: random.Random,
    ask_share: float,
    questions: list[str],
    samples: dict[str, list[float]],
    errors: dict[str, int],
    examples: list[str],
    lock: threading.Lock,
) -> None:
    """One user: a kept-alive connection, requests back to back until ``stop_at``."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    mine: dict[str, list[float]] = {e: [] for e in ENDPOINTS}
    try:
        while time.monotonic() < stop_at:
            endpoint = "ask" if rng.random() < ask_share else "search"
            text = rng.choice(questions)
            body = {"query": text} if endpoint == "search" else {"question": text}
            started = time.perf_counter()
            try:
                connection.request(
                    "POST", f"/{endpoint}", json.dumps({**body, "top_k": 5}), headers
                )
                response = connection.getresponse()
                raw = response.read()
                payload = json.loads(raw) if response.status == 200 else None
                # A correct answer, not just a status: search has hits, ask has an answer.
                ok = isinstance(payload, dict) and (
                    "hits" in payload if endpoint == "search" else "answer" in payload
                )
                problem = f"{endpoint}: HTTP {response.status} {raw[:200]!r}"
            except (OSError, http.client.HTTPException, ValueError) as e:
                ok, problem = False, f"{endpoint}: {type(e).__name__}: {e}"
                connection.close()  # reconnects on the next request
            mine[endpoint].append((time.perf_counter() - started) * 1000)
            if not ok:
                with lock:
                    errors[endpoint] += 1
                    if len(examples) < 5:
                        examples.append(problem)
    finally:
        connection.close()
        with lock:
            for endpoint, values in mine.items():
                samples[endpoint].extend(values)


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(f) for f in fields[11:15]) / ticks


def _descendants(pid: int) -> list[int]:
    """``pid`` and every live descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _postmasters(data_dir: Path) -> list[int]:
    """PostgreSQL servers running on data under ``data_dir``: ``pg_ctl`` detaches them, so
    they are not the serving process's descendants."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                if argv[0].endswith(b"/postgres") and any(
                    a.startswith(bytes(data_dir) + b"/") for a in argv
                ):
                    found.append(int(entry.name))
    return found


def _tree_cpu_seconds(pid: int, data_dir: Path | None = None) -> float:
    """CPU of ``pid`` and of every live descendant, and of the PostgreSQL running on data
    under ``data_dir`` (its postmaster and backends)."""
    roots = [pid, *(_postmasters(data_dir) if data_dir is not None else [])]
    total = 0.0
    for current in (p for root in roots for p in _descendants(root)):
        with contextlib.suppress(OSError):
            total += _process_cpu_seconds(current)
    return total


def _machine_busy_seconds() -> float:
    """CPU seconds every core spent not idle since boot (/proc/stat), all processes."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _watch_memory(
    pid: int,
    started: float,
    stop_at: float,
    every: float,
    report: Report,
    samples: dict[str, list[float]],
    verbose: bool,
    stopped: threading.Event,
) -> None:
    while True:
        now = time.monotonic()
        report.rss_mib.append((round(now - started, 1), round(rss_mib(pid), 1)))
        if verbose:
            seconds, mib = report.rss_mib[-1]
            print(f"  t={seconds:5.0f} s  server RSS {mib:7.1f} MiB", flush=True)
        if now >= stop_at or stopped.wait(min(every, max(0.0, stop_at - now))):
            return


def _warm(server: Server) -> None:
    parts = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    headers = {"Authorization": f"Bearer {server.user_keys[0]}", "Content-Type": "application/json"}
    try:
        for endpoint, body in (
            ("search", {"query": QUESTIONS[0]}),
            ("ask", {"question": QUESTIONS[0]}),
        ):
            connection.request("POST", f"/{endpoint}", json.dumps(body), headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"warm-up {endpoint}: HTTP {response.status}")
    finally:
        connection.close()


def run_load(
    server: Server,
    *,
    users: int,
    seconds: float,
    ask_share: float = ASK_SHARE,
    questions: list[str] = QUESTIONS,
    memory_every: float = 30.0,
    verbose: bool = False,
    seed: int = 7,
    report: Report | None = None,
) -> Report:
    """``users`` concurrent clients for ``seconds`` after a warm-up; RSS is read at the start,
    every ``memory_every`` seconds and at the end. With ``report``, this round's figures are
    added to it (rounds of one build), else a new report is made."""
    report = report or Report(users=users, seconds=0.0)
    _warm(server)
    lock = threading.Lock()
    rng = random.Random(seed + len(report.rss_mib))
    client_cpu, server_cpu, busy = (
        _client_cpu_seconds(),
        _tree_cpu_seconds(server.pid, server.data_dir),
        _machine_busy_seconds(),
    )
    started = time.monotonic()
    stop_at = started + seconds
    stopped = threading.Event()
    watcher = threading.Thread(
        target=_watch_memory,
        args=(server.pid, started, stop_at, memory_every, report, report.samples, verbose, stopped),
    )
    watcher.start()
    threads = [
        threading.Thread(
            target=_user,
            args=(
                server.url,
                server.user_keys[i % len(server.user_keys)],
                stop_at,
                random.Random(rng.random()),
                ask_share,
                questions,
                report.samples,
                report.errors,
                report.error_examples,
                lock,
            ),
        )
        for i in range(users)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    stopped.set()
    watcher.join()
    report.client_cpu_s += _client_cpu_seconds() - client_cpu
    report.server_cpu_s += _tree_cpu_seconds(server.pid, server.data_dir) - server_cpu
    report.machine_busy_s += _machine_busy_seconds() - busy
    report.rss_mib.append((round(elapsed, 1), round(rss_mib(server.pid), 1)))
    report.seconds += elapsed
    report.finish()
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
    lines.append(
        f"  CPU: client {report.client_cpu_s:.1f} s, server + its PostgreSQL "
        f"{report.server_cpu_s:.1f} s, machine {report.machine_busy_s:.1f} s of "
        f"{report.seconds * (os.cpu_count() or 1):.0f} s; the client's share "
        f"{report.client_cpu_share:.1%}"
    )
    lines.extend(f"  error: {e}" for e in report.error_examples)
    return "\n".join(lines)


def side_by_side(names: list[str], reports: list[Report]) -> str:
    """One row per figure, one column per build, and the last build over the first."""
    rows: list[tuple[str, list[float]]] = [
        ("requests/s", [r.requests_per_second for r in reports]),
        ("errors", [float(sum(r.errors.values())) for r in reports]),
    ]
    for endpoint in ENDPOINTS:
        for q in ("p50", "p95", "p99"):
            rows.append(
                (
                    f"/{endpoint} {q} ms",
                    [r.latency_ms.get(endpoint, {}).get(q, float("nan")) for r in reports],
                )
            )
    rows.append(("client CPU share %", [100 * r.client_cpu_share for r in reports]))
    rows.append(
        (
            "server CPU s / request",
            [r.server_cpu_s / r.total if r.total else float("nan") for r in reports],
        )
    )
    width = max(12, *(len(n) for n in names))
    lines = [f"{'':24}" + "".join(f"{n:>{width + 2}}" for n in names) + "   ratio"]
    for label, values in rows:
        ratio = values[-1] / values[0] if values[0] else float("nan")
        cells = "".join(f"{v:>{width + 2}.3g}" for v in values)
        lines.append(f"{label:24}{cells}   {ratio:.3g}x")
    return "\n".join(lines)


def _variant(text: str) -> tuple[str, dict[str, str]]:
    """``NAME=VALUE[,NAME=VALUE...]``: this build served again with those settings."""
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if not pairs or any(len(p) != 2 or not p[0].startswith("RAG_") for p in pairs):
        raise argparse.ArgumentTypeError(f"expected RAG_NAME=VALUE[,RAG_NAME=VALUE], got {text!r}")
    return text, {name: value for name, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--duration", type=float, default=120, help="seconds per build and pool")
    parser.add_argument("--soak", type=float, default=None, help="seconds; memory every 30 s")
    parser.add_argument("--ask-share", type=float, default=ASK_SHARE, help="share of /ask")
    parser.add_argument("--questions", choices=("both", "repeated", "distinct"), default="both")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="a checkout of the build to compare with"
    )
    parser.add_argument(
        "--variant",
        type=_variant,
        action="append",
        default=[],
        help="also serve this build with RAG_NAME=VALUE[,...] (repeatable)",
    )
    parser.add_argument("--rounds", type=int, default=4, help="turns per build (--baseline)")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=1_000_000,
        help="per key per minute (this measures capacity, not the limiter)",
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    seconds = args.soak or args.duration
    builds: list[tuple[str, Path | None, dict[str, str]]] = [("this build", None, {})]
    builds.extend((f"this build {label}", None, env) for label, env in args.variant)
    if args.baseline is not None:
        head = subprocess.run(
            ["git", "-C", str(args.baseline), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        name = f"baseline {head or args.baseline.name}"
        builds.insert(0, (name, args.baseline.resolve(), {}))
    pools = {k: v for k, v in question_pools().items() if args.questions in ("both", k)}
    rounds = args.rounds if len(builds) > 1 else 1
    root = Path(tempfile.mkdtemp(prefix="rag-load-"))
    root.chmod(0o755)  # run as root, the embedded PostgreSQL's own user must reach it
    reports = {p: [Report(users=args.users, seconds=0.0) for _ in builds] for p in pools}
    load_before = os.getloadavg()
    pdfs = tuple(sorted(CORPUS.glob("*.pdf")))
    try:
        with contextlib.ExitStack() as stack:
            servers = []
            for n, (name, checkout, env) in enumerate(builds):
                print(f"starting {name}: rag-app serve, ingesting {len(pdfs)} PDFs ...", flush=True)
                servers.append(
                    stack.enter_context(
                        serving(
                            root / f"data-{n}",
                            users=args.users,
                            rate_limit_per_minute=args.rate_limit,
                            pdfs=pdfs,
                            checkout=checkout,
                            extra_env=env,
                        )
                    )
                )
            for pool, questions in pools.items():
                print(
                    f"{pool} questions ({len(questions)}): {args.users} users, search:ask "
                    f"{1 - args.ask_share:.2f}:{args.ask_share:.2f}, {seconds:.0f} s per build "
                    f"in {rounds} turn(s); load average {os.getloadavg()}",
                    flush=True,
                )
                for turn in range(rounds):
                    for (name, _, _), server, report in zip(
                        builds, servers, reports[pool], strict=True
                    ):
                        run_load(
                            server,
                            users=args.users,
                            seconds=seconds / rounds,
                            ask_share=args.ask_share,
                            questions=questions,
                            memory_every=30.0 if args.soak else 10.0,
                            verbose=bool(args.soak),
                            seed=7 + turn,
                            report=report,
                        )
                        print(
                            f"  turn {turn + 1}: {name}: {report.requests_per_second} requests/s"
                            f"; load average {os.getloadavg()[0]:.1f}",
                            flush=True,
                        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    names = [name for name, _, _ in builds]
    for pool in pools:
        for name, report in zip(names, reports[pool], strict=True):
            print(f"\n{name}, {pool} questions\n{describe(report)}")
        if len(builds) > 1:
            print(f"\n{pool} questions\n" + side_by_side(names, reports[pool]))
    result: dict[str, Any] = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "ask_share": args.ask_share,
        "rounds": rounds,
        "documents": [p.name for p in pdfs],
        "builds": {name: env for name, _, env in builds},
        "pools": {
            pool: {
                "questions": len(pools[pool]),
                "builds": {
                    name: report.as_json()
                    for name, report in zip(names, reports[pool], strict=True)
                },
            }
            for pool in pools
        },
    }
    name = "load_soak.json" if args.soak else "load_test.json"
    output = args.output or ROOT / "benchmarks" / "results" / name
    output.write_text(json.dumps(result, indent=2))
    print(f"written to {output}")


if __name__ == "__main__":
    main()

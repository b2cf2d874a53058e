"""``serve`` as several processes on one listening socket (``RAG_SERVE_PROCESSES``): one
Python process runs one event loop and, with the GIL, about one core of Python; more
processes let the API's own work run on every core.

- Each process listens on its own socket in the port's SO_REUSEPORT group (Linux); the
  kernel spreads new connections evenly over them, and a kept-alive connection stays with
  its process. The port is held here (bound, not listening) from start to stop.
- The embedded PostgreSQL is started here, once; each process joins it (``EmbeddedPostgres``
  joins a running cluster and leaves it running). A configured database is used as it is.
- The first process starts alone and the others only once it is ready, so the schema is
  created by one process, not raced by several.
- Each process gets ``cores / processes`` ONNX Runtime threads (unless ``RAG_EMBED_THREADS``
  is set), so the processes' inferences together do not oversubscribe the cores.
- Without ``RAG_SESSION_SECRET``, one random key is drawn here for every process, so a web
  sign-in holds whichever process serves the next request.
- SIGTERM or SIGINT here is passed to every process, which drains its requests as uvicorn
  does; if one process exits, the others are stopped and ``serve`` exits with its code.

Limits: the per-key rate limit is counted per process, so a key spread over several
connections can reach ``processes`` times ``RAG_RATE_LIMIT_PER_MINUTE``; caches (sentence
vectors, page images) are per process.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import multiprocessing
import os
import secrets
import signal
import socket
import threading
from types import FrameType

import click
from pydantic import SecretStr

from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.postgres.login import uses_embedded_postgres
from rag_app.settings import Settings

log = logging.getLogger(__name__)

STOP_SECONDS = 90  # uvicorn drains, then the services close (jobs handed back to the queue)


def process_settings(settings: Settings) -> Settings:
    """The settings each process serves with: its share of the cores for inference and a
    session key shared by all of them."""
    processes = settings.serve_processes
    update: dict[str, object] = {
        "embed_threads": settings.embed_threads or max(1, (os.cpu_count() or 1) // processes)
    }
    if settings.session_secret is None:
        update["session_secret"] = SecretStr(secrets.token_urlsafe(32))
    return settings.model_copy(update=update)


def _bound_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    """A socket on ``host:port`` in the port's SO_REUSEPORT group: the kernel spreads new
    connections evenly over the group's listening sockets (one per process), where one
    shared socket lets whichever process wakes first take them all."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    return sock


def _serve_one(settings: Settings) -> None:
    """A spawned process: the app on its own socket in the port's group until SIGTERM."""
    import uvicorn

    from rag_app.api import create_app

    logging.basicConfig(level=logging.INFO)
    sock = _bound_socket(settings.host, settings.port, listen=True)
    config = uvicorn.Config(create_app(settings), log_level="info")
    uvicorn.Server(config).run(sockets=[sock])


def _ready(host: str, port: int) -> bool:
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    connection = http.client.HTTPConnection(target, port, timeout=5)
    try:
        connection.request("GET", "/health/ready")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def serve_processes(settings: Settings) -> int:
    """Serve with ``settings.serve_processes`` processes until SIGTERM/SIGINT or until one
    of them exits; the exit code to leave with (0 after a signal)."""
    logging.basicConfig(level=logging.INFO)
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, on_signal)
    with contextlib.ExitStack() as stack:
        try:  # held, not listening: the port is ours (a port of 0 is chosen here)
            sock = stack.enter_context(_bound_socket(settings.host, settings.port, listen=False))
        except OSError as e:
            raise click.ClickException(
                f"cannot listen on {settings.host}:{settings.port}: {e.strerror or e}"
            ) from None
        if uses_embedded_postgres(settings):
            cluster = EmbeddedPostgres(settings.data_dir / "postgres")
            cluster.start()
            stack.callback(cluster.stop)
        port = int(sock.getsockname()[1])
        shared = process_settings(settings).model_copy(update={"port": port})
        log.info(
            "serving on %s:%d with %d processes, %d inference thread(s) each",
            settings.host,
            port,
            settings.serve_processes,
            shared.embed_threads,
        )
        children: list[multiprocessing.process.BaseProcess] = []
        try:
            for n in range(settings.serve_processes):
                child = context.Process(
                    target=_serve_one, args=(shared,), name=f"rag-app serve {n + 1}"
                )
                child.start()
                children.append(child)
                # The first creates the schema; the rest start once it answers ready.
                while (
                    n == 0
                    and child.is_alive()
                    and not stop.is_set()
                    and not _ready(settings.host, port)
                ):
                    stop.wait(0.5)
            while not stop.is_set() and all(c.is_alive() for c in children):
                stop.wait(0.5)
        finally:
            for process in children:
                if process.pid is not None and process.is_alive():
                    os.kill(process.pid, signal.SIGTERM)
            for process in children:
                process.join(STOP_SECONDS)
                if process.is_alive():
                    process.kill()
                    process.join()
        if stop.is_set():
            return 0
        return next((c.exitcode or 1 for c in children if not c.is_alive()), 1)

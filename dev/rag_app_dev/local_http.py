"""The HTTP plumbing shared by the local AWS doubles: a threaded server on loopback whose
requests all go to one ``handle`` method."""

from __future__ import annotations

import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LocalHttpServer:
    """Subclasses implement ``handle(request)``; ``endpoint_url`` goes to boto3."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes; without this, Nagle's
                # algorithm and the client's delayed ACK add ~40 ms to every call.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                owner.handle(self)

            do_GET = do_DELETE = do_PUT = do_POST

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def send(
    request: BaseHTTPRequestHandler,
    status: int,
    payload: bytes,
    *,
    content_type: str = "application/json",
    error_type: str | None = None,
) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(payload)))
    request.send_header("x-amzn-RequestId", str(uuid.uuid4()))
    if error_type is not None:
        request.send_header("x-amzn-ErrorType", error_type)
    request.end_headers()
    request.wfile.write(payload)

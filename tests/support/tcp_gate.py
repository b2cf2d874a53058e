"""A TCP proxy in front of a real server that can refuse new connections and cut open ones:
a database that is down, restarting, or resuming from a pause, as its clients see it."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Self


class TcpGate:
    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.is_open = False
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        """Refuse new connections and cut every open one."""
        self.is_open = False
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.close()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.is_open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
            with self._lock:
                self._sockets.discard(s)

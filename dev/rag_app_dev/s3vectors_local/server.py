"""The HTTP side: rest-json routing, AWS's error wire format, and fault injection."""

from __future__ import annotations

import json
import random
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from rag_app.aws import s3vectors_rules as rules
from rag_app_dev.local_http import LocalHttpServer, send
from rag_app_dev.s3vectors_local.errors import ServiceError
from rag_app_dev.s3vectors_local.service import OPERATIONS, S3VectorsState, dumps
from rag_app_dev.s3vectors_local.shapes import check_input

_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/s3vectors/aws4_request")
FAULT_MESSAGES = {
    "TooManyRequestsException": "Rate exceeded",
    "ServiceUnavailableException": "Currently unable to handle the request",
    "InternalServerException": "Internal server error",
}


@dataclass
class Faults:
    """What the next calls do instead of their work (tests drive this).

    - ``fail_next(op, code, times)``: the next ``times`` calls of ``op`` ("*": any) fail
      with ``code`` (429/503/500 codes) and change nothing.
    - ``fail_randomly(op, ratio, codes, seed)``: each call of ``op`` fails with that chance.
    - ``lose_create_race(times)``: the next CreateIndex calls create the index, as if a
      concurrent caller won, then answer 409 Conflict.
    """

    queued: dict[str, deque[str]] = field(default_factory=dict)
    random_failures: dict[str, tuple[float, tuple[str, ...], random.Random]] = field(
        default_factory=dict
    )
    create_races: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def fail_next(self, operation: str, code: str, times: int = 1) -> None:
        self.queued.setdefault(operation, deque()).extend([code] * times)

    def fail_randomly(
        self, operation: str, ratio: float, codes: tuple[str, ...], seed: int = 0
    ) -> None:
        self.random_failures[operation] = (ratio, codes, random.Random(seed))

    def lose_create_race(self, times: int = 1) -> None:
        self.create_races += times

    def clear(self) -> None:
        self.queued.clear()
        self.random_failures.clear()
        self.create_races = 0

    def injected(self, operation: str) -> str | None:
        for key in (operation, "*"):
            if self.queued.get(key):
                return self.queued[key].popleft()
            if key in self.random_failures:
                ratio, codes, rng = self.random_failures[key]
                if rng.random() < ratio:
                    return rng.choice(codes)
        return None


class LocalS3Vectors(LocalHttpServer):
    """The server on 127.0.0.1, in a background thread. ``endpoint_url`` goes to boto3."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.state = S3VectorsState()
        self.faults = Faults()
        self._lock = threading.Lock()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        operation = request.path.strip("/").split("?")[0]
        try:
            raw = self._read(request, length)
            if request.command != "POST" or operation not in OPERATIONS:
                self._send(
                    request,
                    404,
                    {"message": f"Unknown operation {operation!r}"},
                    "UnknownOperationException",
                )
                return
            body = self._parse(raw)
            result = self._call(operation, body, request.headers.get("Authorization", ""))
            self._send(request, 200, result)
        except ServiceError as e:
            self._send(request, e.status, e.body(), e.code)

    @staticmethod
    def _read(request: BaseHTTPRequestHandler, length: int) -> bytes:
        raw = request.rfile.read(length) if length else b"{}"
        if length > rules.MAX_REQUEST_BYTES:
            raise ServiceError("ValidationException", "Request body exceeds max allowed size")
        return raw

    @staticmethod
    def _parse(raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw.decode("utf-8", errors="strict")) if raw.strip() else {}
            json.dumps(body).encode("utf-8")  # lone surrogates fail here, as on AWS
        except (ValueError, UnicodeError):
            raise ServiceError("SerializationException", "UnknownError") from None
        if not isinstance(body, dict):
            raise ServiceError("SerializationException", "UnknownError")
        return body

    def _call(self, operation: str, body: dict[str, Any], authorization: str) -> dict[str, Any]:
        with self._lock:
            self.faults.calls[operation] = self.faults.calls.get(operation, 0) + 1
            code = self.faults.injected(operation)
            if code is not None:
                self.faults.failures[operation] = self.faults.failures.get(operation, 0) + 1
                raise ServiceError(code, FAULT_MESSAGES.get(code, code))
            region = _REGION.search(authorization)
            if region:
                self.state.region = region.group(1)
            check_input(operation, body)
            result: dict[str, Any] = getattr(self.state, operation)(body)
            if operation == "CreateIndex" and self.faults.create_races:
                self.faults.create_races -= 1
                raise ServiceError(
                    "ConflictException", "An index with the specified name already exists"
                )
            return result

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, body: dict[str, Any], code: str | None = None
    ) -> None:
        send(request, status, dumps(body), error_type=code)

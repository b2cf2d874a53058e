"""The bedrock-runtime protocol for the three calls the app makes.

- ``POST /model/{id}/invoke`` (Titan Text Embeddings v2 body): a hashed bag of words of
  ``dimensions`` (256/512/1024), normalised when asked, and ``inputTextTokenCount``.
- ``POST /model/{id}/converse``: the next scripted reply, else an answer that quotes the
  first sentence of passage [1]; with ``usage`` and ``metrics.latencyMs``.
- ``POST /model/{id}/converse-stream``: the same reply as event-stream frames
  (messageStart, contentBlockDelta per word, contentBlockStop, messageStop, metadata).

Faults: ``throttle_ratio`` makes that share of calls answer 429 ThrottlingException;
``latency_seconds`` delays every call; ``stream_delay_seconds`` paces stream frames.
Counters record calls, throttles, embedded texts and streams the client cut short.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

import numpy as np

from rag_app_dev.bedrock_local.eventstream import event
from rag_app_dev.local_http import LocalHttpServer, send

_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<action>invoke|converse|converse-stream)$")
_WORD = re.compile(r"[a-z0-9]+")
_PASSAGE = re.compile(r'<passage n="1"[^>]*>\s*(?P<text>.*?)\s*</passage>', re.S)
MAX_INPUT_CHARS = 50_000


def hashed_embedding(text: str, dimensions: int, normalize: bool) -> list[float]:
    vector = np.zeros(dimensions, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        vector[int.from_bytes(digest[:4], "big") % dimensions] += 1.0 if digest[4] & 1 else -1.0
    if not vector.any():
        vector[0] = 1.0
    if normalize:
        vector /= np.linalg.norm(vector)
    return [float(v) for v in vector]


def default_reply(prompt: str) -> str:
    match = _PASSAGE.search(prompt)
    if not match:
        return "The passages do not contain the answer."
    first = re.split(r"(?<=[.!?])\s+", " ".join(match.group("text").split()))[0]
    return f'According to the first passage, {first} [1]\n\nQuotes:\n[1] "{first}"'


class LocalBedrock(LocalHttpServer):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.replies: deque[str] = deque()
        self.throttle_ratio = 0.0
        self.latency_seconds = 0.0
        self.stream_delay_seconds = 0.0
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self.embedded: Counter[str] = Counter()
        self.streams_cut = 0
        self.prompts: list[dict[str, Any]] = []
        self._rng = random.Random(0)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.replies.clear()
            self.throttle_ratio = self.latency_seconds = self.stream_delay_seconds = 0.0
            self.calls.clear()
            self.embedded.clear()
            self.prompts.clear()
            self.throttled = self.streams_cut = 0

    def _error(self, request: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        send(request, status, json.dumps({"message": message}).encode(), error_type=code)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b"{}"
        match = _PATH.match(request.path.split("?")[0])
        if request.command != "POST" or match is None:
            self._error(request, 404, "UnknownOperationException", "Unknown operation")
            return
        action, model = match.group("action"), unquote(match.group("model"))
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        with self._lock:
            self.calls[action] += 1
            throttle = self._rng.random() < self.throttle_ratio
            if throttle:
                self.throttled += 1
        if throttle:
            self._error(request, 429, "ThrottlingException", "Too many requests, please wait.")
            return
        body = json.loads(raw or b"{}")
        if action == "invoke":
            self._invoke(request, model, body)
            return
        with self._lock:
            self.prompts.append(body)
            reply = self.replies.popleft() if self.replies else None
        prompt = "".join(
            part.get("text", "") for m in body.get("messages", []) for part in m["content"]
        )
        text = reply if reply is not None else default_reply(prompt)
        usage = {
            "inputTokens": len(prompt.split()),
            "outputTokens": len(text.split()),
            "totalTokens": len(prompt.split()) + len(text.split()),
        }
        if action == "converse":
            payload = {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": usage,
                "metrics": {"latencyMs": 42},
            }
            send(request, 200, json.dumps(payload).encode())
        else:
            self._stream(request, text, usage)

    def _invoke(self, request: BaseHTTPRequestHandler, model: str, body: dict[str, Any]) -> None:
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            self._error(request, 400, "ValidationException", "inputText must be a non-empty string")
            return
        if len(text) > MAX_INPUT_CHARS:
            self._error(
                request,
                400,
                "ValidationException",
                f"Too many input characters. Max input characters {MAX_INPUT_CHARS}",
            )
            return
        dimensions = body.get("dimensions", 1024)
        if dimensions not in (256, 512, 1024):
            self._error(request, 400, "ValidationException", "dimensions must be 256, 512 or 1024")
            return
        with self._lock:
            self.embedded[text] += 1
        payload = {
            "embedding": hashed_embedding(text, dimensions, bool(body.get("normalize", True))),
            "inputTextTokenCount": len(text.split()),
        }
        send(request, 200, json.dumps(payload).encode())

    def _stream(self, request: BaseHTTPRequestHandler, text: str, usage: dict[str, int]) -> None:
        words = re.findall(r"\S+\s*", text)
        frames = [event("messageStart", {"role": "assistant"})]
        frames += [
            event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}})
            for w in words
        ]
        frames += [
            event("contentBlockStop", {"contentBlockIndex": 0}),
            event("messageStop", {"stopReason": "end_turn"}),
            event("metadata", {"usage": usage, "metrics": {"latencyMs": 42}}),
        ]
        request.send_response(200)
        request.send_header("Content-Type", "application/vnd.amazon.eventstream")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        try:
            for f in frames:
                request.wfile.write(f"{len(f):x}\r\n".encode() + f + b"\r\n")
                request.wfile.flush()
                if self.stream_delay_seconds:
                    time.sleep(self.stream_delay_seconds)
            request.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            with self._lock:
                self.streams_cut += 1

"""The bedrock-runtime protocol for the three calls the app makes.

- ``POST /model/{id}/invoke`` (Titan Text Embeddings v2 body): a hashed bag of words of
  ``dimensions`` (256/512/1024), normalised when asked, and ``inputTextTokenCount``.
- ``POST /model/{id}/converse``: the next scripted reply (``converse_replies`` first, for
  calls such as the query rewrite, then ``replies``), else an answer that quotes the first
  sentence of passage [1], or for a prompt with no passages its last line without its
  label (a rewrite request then comes back as the question it ends with); with ``usage``
  and ``metrics.latencyMs``.
- ``POST /model/{id}/converse-stream``: the same reply as event-stream frames
  (messageStart, contentBlockDelta per word, contentBlockStop, messageStop, metadata).
- ``POST /rerank`` (bedrock-agent-runtime ``Rerank``, inline text sources): each source's
  index and a lexical relevance score (the share of the query's words it holds, so a test
  can predict the order), best first, ``numberOfResults`` of them.

Faults: ``refuse(model_id, code)`` makes every call on that model answer Bedrock's error
for ``code`` (AccessDeniedException 403, ResourceNotFoundException 404, ValidationException
400, ServiceQuotaExceededException 400, ThrottlingException 429), with Bedrock's wording;
``throttle_ratio`` makes that share of calls answer 429 ThrottlingException;
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
_RERANK_MODEL = re.compile(r"foundation-model/(amazon\.rerank-v1:0|cohere\.rerank-v3-5:0)$")
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
        if "<passages>" not in prompt and prompt.strip():
            last = prompt.strip().splitlines()[-1]
            return last.split(": ", 1)[-1] if ": " in last else last
        return "The passages do not contain the answer."
    first = re.split(r"(?<=[.!?])\s+", " ".join(match.group("text").split()))[0]
    return f'According to the first passage, {first} [1]\n\nQuotes:\n[1] "{first}"'


# Status and message of each error Bedrock answers a refused call with.
REFUSALS: dict[str, tuple[int, str]] = {
    "AccessDeniedException": (
        403,
        "You don't have access to the model with the specified model ID.",
    ),
    "ResourceNotFoundException": (
        404,
        "Could not resolve the foundation model from the provided model identifier.",
    ),
    "ValidationException": (
        400,
        "Invocation of model ID {model} with on-demand throughput isn't supported.",
    ),
    "ServiceQuotaExceededException": (
        400,
        "Your request exceeds the service quota for your account.",
    ),
    "ThrottlingException": (429, "Too many requests, please wait before trying again."),
}


class LocalBedrock(LocalHttpServer):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.replies: deque[str] = deque()
        self.converse_replies: deque[str] = deque()  # non-streaming Converse calls only
        self.throttle_ratio = 0.0
        self.latency_seconds = 0.0
        self.stream_delay_seconds = 0.0
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self.embedded: Counter[str] = Counter()
        self.streams_cut = 0
        self.prompts: list[dict[str, Any]] = []
        self.refusals: dict[str, str] = {}  # model id -> error code (see REFUSALS)
        self._rng = random.Random(0)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.replies.clear()
            self.converse_replies.clear()
            self.throttle_ratio = self.latency_seconds = self.stream_delay_seconds = 0.0
            self.calls.clear()
            self.embedded.clear()
            self.prompts.clear()
            self.refusals.clear()
            self.throttled = self.streams_cut = 0

    def refuse(self, model_id: str, code: str) -> None:
        """Answer every later call on ``model_id`` with the error ``code`` (REFUSALS)."""
        if code not in REFUSALS:
            raise ValueError(f"{code!r} is not one of {sorted(REFUSALS)}")
        with self._lock:
            self.refusals[model_id] = code

    def _error(self, request: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        send(request, status, json.dumps({"message": message}).encode(), error_type=code)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b"{}"
        if request.command == "POST" and request.path.split("?")[0] == "/rerank":
            with self._lock:
                self.calls["rerank"] += 1
            self._rerank(request, json.loads(raw or b"{}"))
            return
        match = _PATH.match(request.path.split("?")[0])
        if request.command != "POST" or match is None:
            self._error(request, 404, "UnknownOperationException", "Unknown operation")
            return
        action, model = match.group("action"), unquote(match.group("model"))
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        with self._lock:
            self.calls[action] += 1
            refused = self.refusals.get(model)
        if refused is not None:
            status, message = REFUSALS[refused]
            self._error(request, status, refused, message.format(model=model))
            return
        with self._lock:
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
            scripted = self.converse_replies if action == "converse" else None
            if scripted:
                reply: str | None = scripted.popleft()
            else:
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

    def _rerank(self, request: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        try:
            queries = body["queries"]
            sources = body["sources"]
            config = body["rerankingConfiguration"]["bedrockRerankingConfiguration"]
            arn = config["modelConfiguration"]["modelArn"]
            query = queries[0]["textQuery"]["text"]
            texts = [s["inlineDocumentSource"]["textDocument"]["text"] for s in sources]
        except (KeyError, TypeError, IndexError) as e:
            self._error(request, 400, "ValidationException", f"malformed Rerank request: {e}")
            return
        if len(queries) != 1 or not 1 <= len(sources) <= 1000:
            self._error(request, 400, "ValidationException", "one query and 1 to 1000 sources")
            return
        if not _RERANK_MODEL.search(arn):
            self._error(request, 400, "ValidationException", f"{arn} is not a rerank model")
            return
        wanted = set(_WORD.findall(query.lower())) or {""}
        scores = [len(wanted & set(_WORD.findall(t.lower()))) / len(wanted) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: (-scores[i], i))
        count = int(config.get("numberOfResults") or len(texts))
        results = [{"index": i, "relevanceScore": scores[i]} for i in order[:count]]
        send(request, 200, json.dumps({"results": results}).encode())

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

"""The AWS event-stream framing ConverseStream uses (application/vnd.amazon.eventstream):
prelude (total length, headers length, CRC32), string headers, payload, message CRC32."""

from __future__ import annotations

import json
import zlib
from typing import Any


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(
        len(name.encode()).to_bytes(1, "big")
        + name.encode()
        + b"\x07"  # header value type 7: string
        + len(value.encode()).to_bytes(2, "big")
        + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(encoded).to_bytes(4, "big")
    message = prelude + zlib.crc32(prelude).to_bytes(4, "big") + encoded + payload
    return message + zlib.crc32(message).to_bytes(4, "big")


def event(name: str, body: dict[str, Any]) -> bytes:
    headers = {":message-type": "event", ":event-type": name, ":content-type": "application/json"}
    return frame(headers, json.dumps(body).encode())


def exception(name: str, message: str) -> bytes:
    headers = {
        ":message-type": "exception",
        ":exception-type": name,
        ":content-type": "application/json",
    }
    return frame(headers, json.dumps({"message": message}).encode())

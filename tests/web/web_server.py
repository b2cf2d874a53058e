"""The real service on a real socket for browser tests: uvicorn in a thread on port 0, with
authentication on (API keys from a file), and Debian's Chromium driven by Playwright.
Without the chromium package the browser tests skip and say so (.ci/run installs it)."""

from __future__ import annotations

import io
import math
import os
import shutil
import socket
import struct
import threading
import time
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.auth.api_keys import FileKeyStore, new_key
from rag_app.settings import Settings
from tests.conftest import wait_for_job

CHROMIUM = "/usr/bin/chromium"
AXE_JS = Path(__file__).parent / "web_axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Set to 1 to write the screenshots over docs/screenshots (docs/testing.md); otherwise they
# go to the test's temporary folder and the tree stays clean.
UPDATE_SCREENSHOTS = "RAG_UPDATE_SCREENSHOTS"


def screenshots_dir(scratch: Path) -> Path:
    """Where the page tests save their screenshots: docs/screenshots when
    ``RAG_UPDATE_SCREENSHOTS=1``, else ``scratch``."""
    return SHOTS if os.environ.get(UPDATE_SCREENSHOTS) == "1" else scratch


def need_chromium() -> str:
    executable = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    return executable


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app served on a free loopback port until the block ends; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 90
    while True:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "the service was not ready in 90 s"
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Keys:
    writer: str  # write:* (reads everything too)
    faa_reader: str  # read:faa only
    file: Path


def make_keys(root: Path) -> Keys:
    writer, writer_record = new_key("web writer", read=[], write=["*"])
    reader, reader_record = new_key("faa reader", read=["faa"], write=[])
    keys_file = root / "api-keys.json"
    # In a thread of its own: Playwright's sync API keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            anyio.run, FileKeyStore(keys_file).save, [writer_record, reader_record]
        ).result()
    return Keys(writer, reader, keys_file)


def ingest(
    url: str, key: str, path_or_name: Path | str, data: bytes | None = None, **fields: Any
) -> dict[str, Any]:
    """Upload through the API and wait for the job to succeed; the document's record."""
    name = path_or_name.name if isinstance(path_or_name, Path) else path_or_name
    content = data if data is not None else Path(path_or_name).read_bytes()
    files: dict[str, Any] = {"file": (name, content)}
    if "transcript" in fields:
        files["transcript"] = fields.pop("transcript")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        response = client.post("/documents", files=files, data=fields)
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 180
        while (job := client.get(f"/jobs/{job_id}").json())["status"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "succeeded", job
        document: dict[str, Any] = client.get(f"/documents/{job['document_id']}").json()
        return document


def pdf_with_text(line: str) -> bytes:
    """A one-page PDF showing ``line`` in Helvetica (escape nothing but parentheses)."""
    text = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode()
    content = b"BT /F1 12 Tf 72 700 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str


@dataclass
class Recording:
    wav: bytes
    vtt: bytes
    cues: list[Cue] = field(default_factory=list)


def recording(cues: list[Cue]) -> Recording:
    """A quiet tone as long as the cues (a real WAV any browser plays) and its WebVTT."""
    rate = 8000
    seconds = math.ceil(cues[-1].end_s) + 1
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(800 * math.sin(2 * math.pi * 440 * i / rate)))
                for i in range(rate * seconds)
            )
        )

    def stamp(s: float) -> str:
        return f"00:{int(s // 60):02d}:{s % 60:06.3f}"

    vtt = "WEBVTT\n\n" + "\n\n".join(
        f"{stamp(c.start_s)} --> {stamp(c.end_s)}\n{c.text}" for c in cues
    )
    return Recording(out.getvalue(), vtt.encode(), cues)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def upload_and_wait(
    client: TestClient[Any], key: str, name: str, data: bytes, **fields: Any
) -> str:
    """Upload through an in-process client as ``key`` (a ``transcript`` field goes as a
    file), wait for the job to succeed; the document's id."""
    files: dict[str, Any] = {"file": (name, data)}
    if "transcript" in fields:
        files["transcript"] = fields.pop("transcript")
    response = client.post("/documents", files=files, data=fields, headers=bearer(key))
    assert response.status_code == 202, response.text
    client.headers.update(bearer(key))
    job = wait_for_job(client, response.json()["job_id"])
    client.headers.pop("Authorization")
    assert job["status"] == "succeeded", job
    return str(response.json()["document_id"])

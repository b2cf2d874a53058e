"""Hostile PDFs made on the spot (bombs, truncations, loops), next to the real ones in
../shared/corpus/hostile."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable

from tests.conftest import CORPUS, FAA_PDF


def pdf(objects: list[bytes], *, root: int = 1, extra_trailer: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\n" % (len(objects) + 1, root, extra_trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def page_with(content: bytes, *, filters: bytes = b"") -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d %s>>\nstream\n" % (len(content), filters) + content + b"\nendstream",
        ]
    )


def decompression_bomb(inflated_mb: int = 768) -> bytes:
    """A 3.5 MB file whose one content stream inflates to ``inflated_mb`` of spaces."""
    compressor = zlib.compressobj(1)
    block = b" " * (16 * 1024 * 1024)
    stream = b"".join(compressor.compress(block) for _ in range(inflated_mb // 16))
    return page_with(stream + compressor.flush(), filters=b"/Filter /FlateDecode ")


def xref_loop() -> bytes:
    """A trailer whose /Prev points back at its own cross-reference table."""
    body = page_with(b"BT /F1 12 Tf 72 720 Td (loop) Tj ET")
    xref = body.rindex(b"startxref\n") + len(b"startxref\n")
    offset = int(body[xref:].split(b"\n", 1)[0])
    return body.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % offset)


def page_tree_loop() -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        ]
    )


def huge_page_count() -> bytes:
    return pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 999999999 >>"]
    )


def deep_nesting() -> bytes:
    return page_with(b"[" * 200_000 + b"]" * 200_000)


def truncated() -> bytes:
    data = FAA_PDF.read_bytes()
    return data[: len(data) // 3]


def garbled_xref() -> bytes:
    data = bytearray(FAA_PDF.read_bytes())
    start = data.rindex(b"startxref")
    data[start - 4000 : start] = random.Random(7).randbytes(4000)
    return bytes(data)


def header_then_noise() -> bytes:
    return b"%PDF-1.7\n" + random.Random(11).randbytes(1024 * 1024)


def zip_named_pdf() -> bytes:
    return b"PK\x03\x04" + random.Random(3).randbytes(4096)


HOSTILE: dict[str, Callable[[], bytes]] = {
    "empty (corpus)": lambda: (CORPUS / "hostile" / "empty.pdf").read_bytes(),
    "malformed (corpus)": lambda: (
        CORPUS / "hostile" / "malformed-from-issue-932.pdf"
    ).read_bytes(),
    "encrypted (corpus)": lambda: (CORPUS / "hostile" / "password-example.pdf").read_bytes(),
    "decompression bomb": decompression_bomb,
    "xref /Prev loop": xref_loop,
    "page tree loop": page_tree_loop,
    "a billion pages claimed": huge_page_count,
    "200,000 nested arrays": deep_nesting,
    "truncated to a third": truncated,
    "garbled cross-reference": garbled_xref,
    "header then noise": header_then_noise,
    "a zip named .pdf": zip_named_pdf,
    "no text layer": lambda: page_with(b"0 0 m 100 100 l S"),
}

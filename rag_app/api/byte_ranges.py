"""HTTP Range requests on a stored file (RFC 9110 section 14): one ``bytes=`` range gets
206 with that slice, so media players can seek; a range past the end gets 416; anything
else (no header, several ranges, another unit, a malformed header) gets the whole file with
200, as the RFC lets a server do."""

from __future__ import annotations

import re

from litestar import Response
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_206_PARTIAL_CONTENT,
    HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
)

_SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def byte_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """``(first, last)`` inclusive for a satisfiable single range; ``None`` to send the
    whole file; ``False`` when the range cannot be satisfied (416)."""
    if not header:
        return None
    match = _SINGLE_RANGE.match(header)
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # a suffix: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            return False
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None  # invalid: ignored, as the RFC says
    if first >= size:
        return False
    return first, min(last, size - 1)


def ranged_response(
    data: bytes, *, range_header: str | None, media_type: str, headers: dict[str, str]
) -> Response[bytes]:
    """The file, or the slice one ``Range`` asks for, with ``Accept-Ranges: bytes``."""
    headers = {**headers, "accept-ranges": "bytes"}
    wanted = byte_range(range_header, len(data))
    if wanted is False:
        return Response(
            b"",
            status_code=HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
            media_type=media_type,
            headers={**headers, "content-range": f"bytes */{len(data)}"},
        )
    if wanted is None or wanted is True:
        return Response(data, status_code=HTTP_200_OK, media_type=media_type, headers=headers)
    first, last = wanted
    return Response(
        data[first : last + 1],
        status_code=HTTP_206_PARTIAL_CONTENT,
        media_type=media_type,
        headers={**headers, "content-range": f"bytes {first}-{last}/{len(data)}"},
    )

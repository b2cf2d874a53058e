"""Transcript files: WebVTT (W3C) and SubRip, read into timed segments.

Cue markup goes (``<i>``, ``<c.x>``, ``{\\an8}``, timestamps inside cues); a WebVTT voice
tag ``<v Name>`` becomes the segment's speaker. NOTE, STYLE and REGION blocks are skipped.
A file that is not UTF-8, has a cue timing that does not parse, a cue that ends before it
starts, or no cue with text at all is refused with the line at fault.
"""

from __future__ import annotations

import html
import re

from rag_app.domain import Segment, Transcript
from rag_app.errors import UnprocessableDocumentError

MAX_CUES = 200_000  # a 24-hour recording cued every half second

_TIME = r"(?:(\d+):)?([0-5]\d):([0-5]\d)[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_SPACE = re.compile(r"\s+")


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    whole = int(hours or "0") * 3600 + int(minutes) * 60 + int(seconds)
    return whole + float("0." + fraction)


def _cue_text(lines: list[str]) -> tuple[str, str | None]:
    raw = " ".join(lines)
    voice = _VOICE.search(raw)
    text = html.unescape(_TAG.sub("", raw))
    return _SPACE.sub(" ", text).strip(), voice.group(1).strip() if voice else None


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks with the 1-based number of their first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _cue(first_line: int, block: list[str], what: str) -> Segment | None:
    timing_at = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
    if timing_at is None:
        raise UnprocessableDocumentError(
            f"the {what} transcript has a block at line {first_line} with no cue timing "
            "('00:00:01.000 --> 00:00:04.000')"
        )
    match = _TIMING.match(block[timing_at])
    if match is None:
        raise UnprocessableDocumentError(
            f"the {what} transcript has a cue timing that does not parse at line "
            f"{first_line + timing_at}: {block[timing_at].strip()[:80]!r}"
        )
    start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
    if end < start:
        raise UnprocessableDocumentError(
            f"the {what} transcript has a cue that ends before it starts at line "
            f"{first_line + timing_at}"
        )
    text, speaker = _cue_text(block[timing_at + 1 :])
    return Segment(start, end, text, speaker) if text else None


def parse_transcript(data: bytes) -> Transcript:
    """The cues of a WebVTT or SubRip file, in start order; ``source`` is ``vtt`` or ``srt``
    and ``duration_s`` the last cue's end."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnprocessableDocumentError(
            f"the transcript is not UTF-8 text (byte {e.start} is not)"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    vtt = text.startswith("WEBVTT")
    what = "WebVTT" if vtt else "SubRip"
    blocks = _blocks(text)
    if vtt:
        header = blocks.pop(0)[1] if blocks else []
        if header and "-->" in header[-1]:
            raise UnprocessableDocumentError(
                "the WebVTT transcript needs a blank line after its WEBVTT header"
            )
        blocks = [b for b in blocks if b[1][0].split(" ", 1)[0] not in ("NOTE", "STYLE", "REGION")]
    if len(blocks) > MAX_CUES:
        raise UnprocessableDocumentError(f"the transcript has over {MAX_CUES} cues")
    segments = [s for first, block in blocks if (s := _cue(first, block, what)) is not None]
    if not segments:
        raise UnprocessableDocumentError(f"the {what} transcript has no cue with text")
    segments.sort(key=lambda s: (s.start_s, s.end_s))
    return Transcript(
        tuple(segments), source="vtt" if vtt else "srt", duration_s=segments[-1].end_s
    )

"""What kind of file an upload is, told by its first bytes (never by its name alone), and
the stored file that a job reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from rag_app.errors import UnprocessableDocumentError, UnsupportedMediaError
from rag_app.ingest.pdf import PDF_MEDIA_TYPE, looks_like_pdf


class FileKind(StrEnum):
    PDF = "pdf"
    MEDIA = "media"  # audio or video: transcribed
    TRANSCRIPT = "transcript"  # a WebVTT or SubRip file: read as timed text


@dataclass(frozen=True, slots=True)
class FileType:
    kind: FileKind
    media_type: str
    extension: str  # of the stored original, so players and S3 consoles recognise it


PDF = FileType(FileKind.PDF, PDF_MEDIA_TYPE, "pdf")
MP4 = FileType(FileKind.MEDIA, "video/mp4", "mp4")
MOV = FileType(FileKind.MEDIA, "video/quicktime", "mov")
M4A = FileType(FileKind.MEDIA, "audio/mp4", "m4a")
MP3 = FileType(FileKind.MEDIA, "audio/mpeg", "mp3")
WAV = FileType(FileKind.MEDIA, "audio/wav", "wav")
VTT = FileType(FileKind.TRANSCRIPT, "text/vtt", "vtt")
SRT = FileType(FileKind.TRANSCRIPT, "application/x-subrip", "srt")
FILE_TYPES = (PDF, MP4, MOV, M4A, MP3, WAV, VTT, SRT)
EXTENSION_OF = {t.media_type: t.extension for t in FILE_TYPES}
_BY_MEDIA_TYPE = {t.media_type: t for t in FILE_TYPES}

_SRT_START = re.compile(rb"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->")
_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ")


def _iso_media(head: bytes) -> FileType | None:
    """MP4 family: a box size then ``ftyp`` and the major brand (QuickTime files may start
    with other top-level boxes)."""
    box = head[4:8]
    if box == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return MOV
        return M4A if brand in _AUDIO_BRANDS else MP4
    if box in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return MOV
    return None


def _mp3(head: bytes) -> bool:
    # An ID3v2 tag, or an MPEG audio frame sync (11 set bits) with a valid layer.
    return head[:3] == b"ID3" or (
        len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0
    )


def _transcript(head: bytes) -> FileType | None:
    text = head.removeprefix(b"\xef\xbb\xbf")
    if text.startswith(b"WEBVTT"):
        return VTT
    if _SRT_START.match(text):
        return SRT
    return None


def sniff(head: bytes) -> FileType | None:
    """The type of a file from its first bytes (1 KiB is enough), or None."""
    if looks_like_pdf(head):
        return PDF
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    found = _iso_media(head) or _transcript(head)
    if found is not None:
        return found
    return MP3 if _mp3(head) else None


def file_type(filename: str, head: bytes) -> FileType:
    """The type of an upload; ``UnsupportedMediaError`` naming what is accepted otherwise."""
    found = sniff(head)
    if found is None:
        raise UnsupportedMediaError(
            f"{filename!r} is not a PDF, audio, video or transcript file that is ingested "
            "(accepted: PDF; MP4, MOV, M4A, MP3, WAV; WebVTT and SubRip transcripts)"
        )
    return found


def recorded_type(media_type: str) -> FileType:
    """The type an upload was found to be (its job records ``media_type``): the file is
    sniffed once, at upload. An unknown media type raises ``UnprocessableDocumentError``."""
    found = _BY_MEDIA_TYPE.get(media_type)
    if found is None:
        raise UnprocessableDocumentError(f"cannot read a file of type {media_type}")
    return found


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An uploaded original as a job reads it: its key in the blob store (services such as
    Amazon Transcribe and Textract read it there) and its bytes."""

    key: str
    data: bytes
    media_type: str

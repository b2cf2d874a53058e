"""WebVTT and SubRip transcripts: timed segments out, malformed files refused with the line
at fault, chunks that keep the time they were spoken in."""

from __future__ import annotations

import itertools

import pytest

from rag_app.domain import Segment, Transcript
from rag_app.errors import UnprocessableDocumentError
from rag_app.ingest.chunking import chunk_transcript
from rag_app.ingest.files import SRT, VTT, sniff
from rag_app.ingest.transcripts import parse_transcript

VTT_TEXT = """\ufeffWEBVTT - hearing of 3 March

NOTE recorded in courtroom 4

STYLE
::cue { color: white }

intro
00:00:01.000 --> 00:00:04.500 align:start
<v Judge Alvarez>The court is in session.</v>

00:00:05.000 --> 00:00:09.250
<v Counsel>Your Honor, the lease was signed on <i>12 May 2019</i> &amp; recorded.

01:02:03.040 --> 01:02:05.000
Late remark.
"""

SRT_TEXT = """1
00:00:00,500 --> 00:00:02,000
First line,
second line.

2
00:00:02,500 --> 00:00:03,750
{\\an8}<b>Second</b> cue.
"""


def test_webvtt_cues_become_segments_with_speakers_and_no_markup() -> None:
    transcript = parse_transcript(VTT_TEXT.encode())
    assert transcript.source == "vtt"
    assert transcript.segments == (
        Segment(1.0, 4.5, "The court is in session.", "Judge Alvarez"),
        Segment(
            5.0, 9.25, "Your Honor, the lease was signed on 12 May 2019 & recorded.", "Counsel"
        ),
        Segment(3723.04, 3725.0, "Late remark."),
    )
    assert transcript.duration_s == 3725.0


def test_subrip_cues_become_segments() -> None:
    transcript = parse_transcript(SRT_TEXT.replace("\n", "\r\n").encode())
    assert transcript.source == "srt"
    assert transcript.segments == (
        Segment(0.5, 2.0, "First line, second line."),
        Segment(2.5, 3.75, "Second cue."),
    )


def test_transcripts_are_told_apart_by_their_first_bytes() -> None:
    assert sniff(VTT_TEXT.encode()) == VTT
    assert sniff(SRT_TEXT.encode()) == SRT
    assert sniff(b"just some text\n") is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("WEBVTT\n\n00:00:01.000 --> 00:00:0x.000\nhello\n", "does not parse at line 3"),
        ("WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nbackwards\n", "ends before it starts"),
        ("WEBVTT\n\njust a paragraph\nof prose\n", "no cue timing"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<i></i>\n", "no cue with text"),
        ("WEBVTT\n", "no cue with text"),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nbad\n",
            "no cue timing",
        ),
    ],
)
def test_malformed_transcripts_are_refused_with_the_line_at_fault(text: str, words: str) -> None:
    with pytest.raises(UnprocessableDocumentError, match=words):
        parse_transcript(text.encode())


def test_a_transcript_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(UnprocessableDocumentError, match="not UTF-8"):
        parse_transcript(b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\xff\xfe caf\xe9\n")


def _segments(count: int, seconds: float, text: str) -> Transcript:
    return Transcript(
        tuple(Segment(i * seconds, (i + 1) * seconds, f"{text} {i}.") for i in range(count)),
        source="vtt",
    )


def test_chunks_are_exact_slices_and_carry_the_time_they_cover() -> None:
    transcript = _segments(40, 4.0, "The witness described the meeting in some detail")
    chunks = chunk_transcript(transcript, max_chars=300, overlap=60, max_seconds=30)
    page = "\n".join(s.text for s in transcript.segments)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text == page[chunk.char_start : chunk.char_end]
        assert chunk.page == 1
        assert chunk.start_s is not None
        assert chunk.end_s is not None
        assert chunk.end_s - chunk.start_s <= 30
        assert len(chunk.text) <= 300
        first = next(s for s in transcript.segments if chunk.text.startswith(s.text))
        assert chunk.start_s == first.start_s
    assert chunks[0].start_s == 0.0
    assert chunks[-1].end_s == 160.0
    # Consecutive chunks overlap by whole segments, and every segment is in some chunk.
    assert all(b.char_start < a.char_end for a, b in itertools.pairwise(chunks))


def test_a_segment_longer_than_a_chunk_is_cut_at_words_with_its_time_shared_out() -> None:
    long = Segment(10.0, 70.0, " ".join(["word"] * 200))  # 999 characters in a minute
    chunks = chunk_transcript(
        Transcript((long,), source="srt"), max_chars=250, overlap=0, max_seconds=600
    )
    assert len(chunks) == 4
    assert chunks[0].start_s == 10.0
    assert chunks[-1].end_s == pytest.approx(70.0)
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(chunks))

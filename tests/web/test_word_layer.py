"""The word layer Textract's boxes are kept in: what it reads back, and a damaged one
(the quote route then draws nothing rather than failing)."""

from __future__ import annotations

import pytest

import rag_app.api  # noqa: F401 - the documents package is loaded through the API
from rag_app.documents.page_images import quote_boxes_in_words_sync, quote_in_words
from rag_app.ingest.word_layer import PlacedWord, decode, encode
from tests.conftest import CORPUS

PDF = (CORPUS / "pdf" / "scotus-transcript-p1.pdf").read_bytes()
WORDS = [
    PlacedWord("The", 0, 0.1, 0.1, 0.05, 0.02),
    PlacedWord("tenant", 0, 0.16, 0.1, 0.1, 0.02),
    PlacedWord("pays", 1, 0.1, 0.13, 0.06, 0.02),
    PlacedWord("in", 1, 0.17, 0.13, 0.02, 0.02),
    PlacedWord("June.", 1, 0.2, 0.13, 0.07, 0.02),
]


def test_a_layer_reads_back_by_page() -> None:
    layer = encode({1: WORDS})
    assert decode(layer, 1) == WORDS
    assert decode(layer, 2) == []


def test_a_quote_over_two_lines_gets_one_box_per_line() -> None:
    boxes = quote_in_words(WORDS, "tenant\n pays  in")
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [
        (0.16, 0.1, 0.1, 0.02),
        (0.1, 0.13, pytest.approx(0.09), 0.02),
    ]
    assert quote_in_words(WORDS, "tenant pays rent") == ()
    assert quote_in_words(WORDS, "   ") == ()
    assert quote_in_words([], "tenant") == ()


@pytest.mark.parametrize(
    "layer",
    [b"", b"\xff\xfe", b"[]", b'{"version": 2, "pages": {}}', b'{"version": 1}',
     b'{"version": 1, "pages": {"1": [["a", "x", 0, 0, 1]]}}'],
)  # fmt: skip
def test_a_damaged_layer_gives_no_boxes(layer: bytes) -> None:
    with pytest.raises(ValueError, match="word layer"):
        decode(layer, 1)
    found = quote_boxes_in_words_sync(PDF, layer, 1, "tenant")
    assert found.boxes == ()
    assert found.pages == 1

from __future__ import annotations

import itertools

import pytest

from rag_app.domain import PageText
from rag_app.ingest.chunking import chunk_page, chunk_pages
from rag_app.ingest.pdf import extract_pages
from rag_app.text.sentences import paragraphs, sentences
from tests.conftest import CORPUS, FAA_PDF

CONTRACT = """ARTICLE 1. DEFINITIONS
(a) "Agreement" means this agreement and its schedules, as amended from time to time.
(b) "Confidential Information" means all information disclosed by one party to the other.

ARTICLE 2. TERM
2.1 This Agreement starts on the Effective Date. It ends after five years unless renewed.
2.2 Either party may terminate it on 90 days' written notice to the other party."""


def test_paragraphs_break_at_clause_markers_and_blank_lines() -> None:
    starts = [CONTRACT[s:e].split()[0] for s, e in paragraphs(CONTRACT)]
    assert starts == ["ARTICLE", "(a)", "(b)", "ARTICLE", "2.1", "2.2"]


def test_sentences_do_not_split_at_abbreviations_or_dot_leaders() -> None:
    text = "The U.S. Court of Appeals, No. 19-1234, agreed. Test ... 40 hours. Done."
    assert [text[s:e] for s, e in sentences(text)] == [
        "The U.S. Court of Appeals, No. 19-1234, agreed.",
        "Test ... 40 hours.",
        "Done.",
    ]


def test_clauses_that_fit_stay_whole() -> None:
    chunks = chunk_page(PageText(1, CONTRACT), max_chars=200, overlap=0)
    assert len(chunks) > 1
    assert all(len(c.text) <= 200 for c in chunks)
    for start, end in paragraphs(CONTRACT):  # each clause lies whole inside one chunk
        assert any(c.char_start <= start and end <= c.char_end for c in chunks)


def test_chunks_are_exact_slices_of_their_page_within_the_size_limit() -> None:
    pages = extract_pages(FAA_PDF.read_bytes(), max_pages=50)
    chunks = chunk_pages(pages, max_chars=800, overlap=100)
    assert {c.page for c in chunks} == set(range(1, 16))
    for c in chunks:
        assert pages[c.page - 1].text[c.char_start : c.char_end] == c.text
        assert 0 < len(c.text) <= 800


def test_overlap_repeats_whole_trailing_units() -> None:
    text = " ".join(f"Sentence number {i} ends here." for i in range(40))
    chunks = chunk_page(PageText(1, text), max_chars=300, overlap=80)
    assert len(chunks) > 3
    for before, after in itertools.pairwise(chunks):
        assert after.char_start < before.char_end  # they overlap
        assert text[after.char_start] == "S"  # at a sentence start


def test_run_on_text_without_sentences_is_cut_at_words() -> None:
    text = "word " * 1000
    chunks = chunk_page(PageText(3, text.strip()), max_chars=500, overlap=0)
    assert all(len(c.text) <= 500 for c in chunks)
    assert all(not c.text.startswith(" ") and not c.text.endswith(" ") for c in chunks)
    assert sum(c.text.count("word") for c in chunks) == 1000


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_blank_pages_have_no_chunks(text: str) -> None:
    assert chunk_page(PageText(1, text), max_chars=500, overlap=50) == []


def test_every_corpus_pdf_chunks_into_exact_slices() -> None:
    for path in sorted((CORPUS / "pdf").glob("*.pdf")):
        pages = extract_pages(path.read_bytes(), max_pages=100)
        for c in chunk_pages(pages, max_chars=1000, overlap=150):
            assert pages[c.page - 1].text[c.char_start : c.char_end] == c.text, path.name

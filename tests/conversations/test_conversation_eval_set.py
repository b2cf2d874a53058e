"""The follow-up evaluation set: at least twenty two-turn conversations over every corpus
PDF, each follow-up leaning on its first question, and every expected page holding the
words that answer it."""

from __future__ import annotations

from rag_app.conversations.rewrite import leans_on_history, local_rewrite
from rag_app.domain import Exchange
from rag_app.evaluation.conversations import load_conversations
from rag_app.evaluation.questions import normalise
from rag_app.ingest.pdf import extract_pages
from tests.conftest import CORPUS, ROOT

CONVERSATIONS = load_conversations(ROOT / "benchmarks" / "eval" / "conversations-pdf.jsonl")


def test_the_set_has_twenty_conversations_over_every_corpus_pdf() -> None:
    assert len(CONVERSATIONS) >= 20
    files = {p.name for p in (CORPUS / "pdf").glob("*.pdf")}
    assert {c.document for c in CONVERSATIONS} | {c.first_document for c in CONVERSATIONS} == files


def test_every_expected_page_holds_its_answer() -> None:
    pages = {
        (path.name, p.number): normalise(p.text)
        for path in (CORPUS / "pdf").glob("*.pdf")
        for p in extract_pages(path.read_bytes(), max_pages=100)
    }
    wrong = [
        (n, c.first if turn == "first" else c.follow_up)
        for n, c in enumerate(CONVERSATIONS, 1)
        for turn, document, page, evidence in (
            ("first", c.first_document, c.first_page, c.first_evidence),
            ("follow-up", c.document, c.page, c.evidence),
        )
        if normalise(evidence) not in pages.get((document, page), "")
    ]
    assert wrong == []


def test_every_follow_up_leans_on_its_first_question_and_the_rewrite_carries_it() -> None:
    for c in CONVERSATIONS:
        assert leans_on_history(c.follow_up), c.follow_up
        rewritten = local_rewrite(c.follow_up, [Exchange(c.first, c.first, "")])
        assert rewritten.startswith(c.follow_up)
        assert len(rewritten) > len(c.follow_up), c.follow_up


def test_a_standalone_question_is_not_rewritten() -> None:
    history = [Exchange("What is MCAS?", "What is MCAS?", "")]
    question = "Which FCC OPS software version must be installed on FCC A and FCC B?"
    assert local_rewrite(question, history) == question
    assert local_rewrite("and the cost?", []) == "and the cost?"

"""The export formats on fixed turns: the Markdown matches its golden file, the DOCX opens
with python-docx and holds every quote with its page or time range; a citation the
requester can no longer read is withheld, with the answer that may quote it."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import docx

from rag_app.auth.principal import Principal
from rag_app.conversations.export import export_of, to_docx, to_markdown
from rag_app.conversations.records import Conversation, StoredCitation, Turn
from rag_app.domain import Citation
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "conversations" / "golden" / "conversation-export.md"
ASKED = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
READER = Principal("key:0123456789ab", read=frozenset({"faa", "hearings"}), write=frozenset())


def _turns() -> tuple[Conversation, tuple[Turn, ...]]:
    aoa = Citation(
        "d-faa", "FAA AD 2020-17221", 6, "AOA sensor system test  ... 40 work-hours", "d-faa#31"
    )
    hearing = Citation(
        "d-hear",
        "Hearing, 4 March",
        1,
        "the operator bears the cost",
        "d-hear#2",
        start_s=785.0,
        end_s=815.5,
    )
    secret = Citation("d-sec", "Sealed memo", 2, "privileged words", "d-sec#0")
    first = Turn(
        "a_" + "1" * 24,
        "c_" + "9" * 24,
        1,
        "how many work-hours does the AOA sensor system test take",
        "how many work-hours does the AOA sensor system test take",
        "The AOA sensor system test takes 40 work-hours [1].",
        True,
        (StoredCitation(aoa, "faa"),),
        {"answerer": "extractive"},
        ASKED,
    )
    second = Turn(
        "a_" + "2" * 24,
        "c_" + "9" * 24,
        2,
        "and who pays for it?",
        "and who pays for it? aoa sensor system test work-hours",
        "The operator bears the cost [1].",
        True,
        (StoredCitation(hearing, "hearings"),),
        {"answerer": "extractive"},
        ASKED,
    )
    third = Turn(
        "a_" + "3" * 24,
        "c_" + "9" * 24,
        3,
        "anything sealed?",
        "anything sealed?",
        "It says privileged words [1].",
        True,
        (StoredCitation(secret, "sealed"),),
        {"answerer": "extractive"},
        ASKED,
    )
    conversation = Conversation(
        "c_" + "9" * 24,
        READER.name,
        "how many work-hours does the AOA sensor system test take",
        ASKED,
        ASKED,
        (first, second, third),
    )
    return conversation, conversation.turns


def test_the_markdown_export_matches_the_golden_file() -> None:
    conversation, turns = _turns()
    generated = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    markdown = to_markdown(export_of(conversation, turns, READER, generated))
    assert markdown == GOLDEN.read_text(encoding="utf-8")
    assert "privileged words" not in markdown


def test_the_docx_export_opens_and_holds_each_quote_and_place() -> None:
    conversation, turns = _turns()
    data = to_docx(export_of(conversation, turns, READER, ASKED))
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "AOA sensor system test ... 40 work-hours" in text
    assert "FAA AD 2020-17221, page 6 (d-faa)" in text
    assert "the operator bears the cost" in text
    assert "Hearing, 4 March, 13:05\u201313:35 (d-hear)" in text
    assert "privileged words" not in text
    assert "1 citation(s) withheld." in text
    assert document.core_properties.author == READER.name

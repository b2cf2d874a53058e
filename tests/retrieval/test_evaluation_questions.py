"""Question files: what they may hold, the errors for what they may not, and relevance."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_app.domain import Chunk
from rag_app.errors import InvalidInputError
from rag_app.evaluation.questions import Question, Target, load_questions, parse_questions


def test_questions_with_and_without_page_and_span(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"question": " What is the cost? ", "document": "faa.pdf", "page": 6}\n'
        "\n"
        '{"question": "Who argued?", "document": 42}\n'
        '{"question": "Salary", "document": "d1", "span": "District  Director"}\n',
        encoding="utf-8",
    )
    assert load_questions(path) == [
        Question("What is the cost?", "faa.pdf", 6, None, line=1),
        Question("Who argued?", "42", None, None, line=3),
        Question("Salary", "d1", None, "District  Director", line=4),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "q.jsonl holds no questions"),
        ("\n  \n", "holds no questions"),
        ('{"question": "q", "page": 1}\n', "line 1: expected"),
        ('{"question": "q", "document": "d"}\nnot json\n', "line 2: expected"),
        ('["q", "d"]\n', "line 1: expected an object"),
        ('{"question": "q", "document": "d", "page": "six"}\n', "line 1: non-integer page 'six'"),
        ('{"question": "q", "document": "d", "page": 1.5}\n', "non-integer page 1.5"),
        ('{"question": "q", "document": "d", "page": true}\n', "non-integer page True"),
        ('{"question": "q", "document": "d", "page": -1}\n', "negative page"),
        ('{"question": "  ", "document": "d"}\n', "line 1: empty question"),
        ('{"question": "q", "document": ""}\n', "document must be a non-empty string"),
        ('{"question": "q", "document": null}\n', "document must be a non-empty string"),
        ('{"question": "q", "document": "d", "span": " "}\n', "span must be a non-empty"),
        ('{"question": "q", "document": "d", "pages": 3}\n', "unknown field(s) pages"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInputError) as error:
        load_questions(path)
    assert message in str(error.value)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"question": "\xff"}')
    with pytest.raises(InvalidInputError, match="question file"):
        load_questions(path)
    with pytest.raises(InvalidInputError, match="No such file"):
        load_questions(tmp_path / "missing.jsonl")


def test_a_huge_file_reads_every_question() -> None:
    text = "".join(f'{{"question": "q{n}", "document": "d", "page": {n}}}\n' for n in range(50_000))
    questions = parse_questions(text, "big")
    assert len(questions) == 50_000
    assert questions[-1] == Question("q49999", "d", 49_999, None, line=50_000)


def chunk(document_id: str, page: int, text: str) -> Chunk:
    return Chunk(document_id, 0, text, page, 0, len(text), "t", "c")


def test_a_passage_is_relevant_by_document_then_page_then_span() -> None:
    passage = chunk("d1", 3, "The DISTRICT\ndirector   earns 37,499.96")
    assert Target("d1").matches(passage)
    assert not Target("d2").matches(passage)
    assert Target("d1", 3).matches(passage)
    assert not Target("d1", 4).matches(passage)
    assert Target("d1", 3, "district director earns").matches(passage)
    assert Target("d1", None, "  District Director\tEARNS ").matches(passage)
    assert not Target("d1", 3, "district manager").matches(passage)

"""Question files (JSONL) and what makes a retrieved passage relevant to a question.

One JSON object a line; blank lines are skipped::

    {"question": "...", "document": "<document id, title or filename>", "page": 6,
     "span": "text the passage must contain"}

``page`` (an integer, numbered as the documents' pages are) and ``span`` are optional. A
passage is relevant when it is a chunk of the document, on that page when one is given, and
holds the span when one is given: compared with whitespace collapsed and case folded, so a
line break in the PDF does not matter. A span must fit inside one chunk (keep it shorter
than the chunk overlap to be safe).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag_app.domain import Chunk
from rag_app.errors import InvalidInputError

FIELDS = frozenset({"question", "document", "page", "span"})
SHAPE = '{"question": "...", "document": "...", "page": N, "span": "..."} (page, span optional)'


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces, case folded: how spans are compared."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True, slots=True)
class Question:
    question: str
    document: str
    """As written in the file: a document id, title or filename (resolved by the caller)."""
    page: int | None = None
    span: str | None = None
    line: int = 0
    """Its line in the file, for messages."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a relevant passage is: of ``document_id``, on ``page`` (None: any), holding
    ``span`` (None: anything)."""

    document_id: str
    page: int | None = None
    span: str | None = None

    def matches(self, chunk: Chunk) -> bool:
        return (
            chunk.document_id == self.document_id
            and (self.page is None or chunk.page == self.page)
            and (self.span is None or normalise(self.span) in normalise(chunk.text))
        )


def _question(value: Any, where: str, line: int) -> Question:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where}: expected an object {SHAPE}")
    unknown = sorted(set(value) - FIELDS)
    if unknown:
        raise InvalidInputError(f"{where}: unknown field(s) {', '.join(unknown)}; expected {SHAPE}")
    missing = [name for name in ("question", "document") if name not in value]
    if missing:
        raise InvalidInputError(f"{where}: expected {SHAPE}, missing {', '.join(missing)}")
    question, document = value["question"], value["document"]
    if not isinstance(question, str) or not question.strip():
        raise InvalidInputError(f"{where}: empty question")
    # A source's document ids may be JSON numbers; they are compared as text.
    if isinstance(document, bool) or not isinstance(document, str | int) or not str(document):
        raise InvalidInputError(f"{where}: document must be a non-empty string")
    page = value.get("page")
    if page is not None and (isinstance(page, bool) or not isinstance(page, int)):
        raise InvalidInputError(f"{where}: non-integer page {page!r}")
    if page is not None and page < 0:
        raise InvalidInputError(f"{where}: negative page {page}")
    span = value.get("span")
    if span is not None and (not isinstance(span, str) or not normalise(span)):
        raise InvalidInputError(f"{where}: span must be a non-empty string")
    return Question(question.strip(), str(document), page, span, line)


def parse_questions(text: str, source: str) -> list[Question]:
    """The questions of a JSONL text; ``source`` names it in messages. Raises
    ``InvalidInputError`` naming the line of the first malformed one, or when there are none."""
    questions = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            value = json.loads(line)
        except ValueError as e:
            raise InvalidInputError(
                f"{where}: expected {SHAPE}, got {line[:120]!r} (not JSON: {e})"
            ) from None
        questions.append(_question(value, where, number))
    if not questions:
        raise InvalidInputError(f"{source} holds no questions")
    return questions


def load_questions(path: Path) -> list[Question]:
    """The questions of a JSONL file (see the module's docstring)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"question file {path}: {e}") from None
    return parse_questions(text, str(path))

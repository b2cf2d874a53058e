"""``migrate verify``: the same questions against the source and the target, hit@1/hit@5.

A question file is JSONL, one object a line: ``{"question": "...", "document": "<the
source's document id>", "page": 6}`` (page numbered as in the source). A question scores a
hit@k when a passage of that document and page is among the first k results. The source is
searched with PostgreSQL full-text ranking over its text (its own vectors would need its
embedding model, which a re-embedding migration leaves behind); the target through the
service's search, as /search answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag_app.errors import InvalidInputError
from rag_app.migration.mapping import Mapping
from rag_app.migration.rows import document_id_for
from rag_app.migration.source import SourceTable
from rag_app.retrieval import QueryService

TOP_K = 5


@dataclass(frozen=True, slots=True)
class Question:
    question: str
    document: str
    page: int


def load_questions(path: Path) -> list[Question]:
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"question file {path}: {e}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
            question = Question(str(value["question"]), str(value["document"]), value["page"])
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidInputError(
                f"{path} line {number}: expected "
                '{"question": "...", "document": "...", "page": N}, '
                f"got {line[:120]!r} ({type(e).__name__}: {e})"
            ) from None
        if not question.question.strip() or not isinstance(question.page, int):
            raise InvalidInputError(f"{path} line {number}: empty question or non-integer page")
        questions.append(question)
    if not questions:
        raise InvalidInputError(f"{path} holds no questions")
    return questions


@dataclass
class Score:
    name: str
    ranks: list[int | None] = field(default_factory=list)
    """Per question: the 1-based rank of the first right passage, ``None`` if not in 5."""

    def hits(self, k: int) -> int:
        return sum(1 for rank in self.ranks if rank is not None and rank <= k)

    def line(self) -> str:
        n = len(self.ranks)
        cells = [f"{self.hits(k):>3}/{n} ({self.hits(k) / n:>4.0%})" for k in (1, TOP_K)]
        return f"  {self.name:<28} hit@1 {cells[0]}   hit@{TOP_K} {cells[1]}"


def _rank(found: list[tuple[Any, Any]], wanted: tuple[Any, Any]) -> int | None:
    return next((i for i, item in enumerate(found, 1) if item == wanted), None)


async def verify(
    source: SourceTable, queries: QueryService, mapping: Mapping, questions: list[Question]
) -> list[str]:
    keyword = Score("source (keyword, PostgreSQL)")
    target = Score("target (this service)")
    misses = []
    for q in questions:
        found = await source.keyword_search(q.question, top_k=TOP_K)
        keyword.ranks.append(_rank([(str(d), p) for d, p in found], (q.document, q.page)))
        hits = await queries.search(
            q.question, top_k=TOP_K, filters={"collection": mapping.collection}
        )
        page = q.page + (1 - mapping.page_base)
        rank = _rank(
            [(h.chunk.document_id, h.chunk.page) for h in hits], (document_id_for(q.document), page)
        )
        target.ranks.append(rank)
        if rank is None:
            got = ", ".join(f"{h.chunk.title} p{h.chunk.page}" for h in hits[:3])
            misses.append(f"  {q.question[:70]!r}: expected page {q.page}; got {got}")
    lines = [f"{len(questions)} questions", keyword.line(), target.line()]
    if misses:
        lines += ["target misses (top 3 shown):", *misses]
    return lines

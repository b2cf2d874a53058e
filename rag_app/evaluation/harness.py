"""``rag-app eval``: every question through the service's search, in each search mode; the
rank of each question's first relevant passage, the scores, and the misses.

Questions name documents as people do (by id, title or filename); they are resolved against
the catalog before any search runs, so a typo fails at once rather than as a miss.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag_app.catalog.base import Catalog
from rag_app.domain import Document, DocumentStatus, Hit, SearchMode
from rag_app.errors import InvalidInputError
from rag_app.evaluation.metrics import CUTOFF, Scores, first_relevant_rank
from rag_app.evaluation.questions import Question, Target
from rag_app.retrieval import QueryService

PAGE_SIZE = 500
MISS_SHOWS = 3


async def _all_documents(catalog: Catalog) -> list[Document]:
    documents: list[Document] = []
    while True:
        page = await catalog.list_documents(
            collections=None, limit=PAGE_SIZE, offset=len(documents)
        )
        documents.extend(page.items)
        if not page.items or len(documents) >= page.total:
            return documents


def _lookup(documents: Sequence[Document], reference: str) -> list[Document]:
    """By id, else by title, else by filename: the first field any document matches."""
    for field in ("document_id", "title", "filename"):
        found = [d for d in documents if getattr(d, field) == reference]
        if found:
            return found
    return []


async def resolve_documents(catalog: Catalog, questions: Sequence[Question]) -> dict[str, str]:
    """Each question's ``document`` (id, title or filename) -> the document id. Raises
    ``InvalidInputError`` naming every reference that matches no document, more than one,
    or one that is not ready (not indexed, or failed)."""
    documents = await _all_documents(catalog)
    lines: dict[str, list[int]] = defaultdict(list)
    for q in questions:
        lines[q.document].append(q.line)
    resolved: dict[str, str] = {}
    problems = []
    for reference, where in lines.items():
        found = _lookup(documents, reference)
        shown = ", ".join(map(str, where[:5])) + ("..." if len(where) > 5 else "")
        at = f"{reference!r} (line {shown})"
        if not found:
            problems.append(f"no document {at}")
        elif len(found) > 1:
            problems.append(f"{len(found)} documents match {at}; name it by its id")
        elif found[0].status is not DocumentStatus.READY:
            problems.append(f"document {at} is {found[0].status.value}, not ready")
        else:
            resolved[reference] = found[0].document_id
    if problems:
        raise InvalidInputError("; ".join(problems))
    return resolved


@dataclass(frozen=True, slots=True)
class Miss:
    question: Question
    got: tuple[Hit, ...]
    """The first results returned instead."""

    def line(self) -> str:
        expected = self.question.document
        if self.question.page is not None:
            expected += f" p{self.question.page}"
        if self.question.span is not None:
            expected += f" {self.question.span[:40]!r}"
        got = "; ".join(f"{h.chunk.title} p{h.chunk.page}" for h in self.got) or "nothing"
        return f"  {self.question.question[:70]!r}: expected {expected}; got {got}"


@dataclass(frozen=True, slots=True)
class ModeResult:
    mode: SearchMode
    ranks: tuple[int | None, ...]
    misses: tuple[Miss, ...]

    @property
    def scores(self) -> Scores:
        return Scores.of(self.ranks)


@dataclass(frozen=True, slots=True)
class Evaluation:
    questions: tuple[Question, ...]
    top_k: int
    results: tuple[ModeResult, ...]

    def table(self) -> list[str]:
        lines = [f"{'mode':<8} {'n':>4} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7} {'nDCG@10':>8}"]
        for r in self.results:
            s = r.scores
            lines.append(
                f"{r.mode.value:<8} {s.n:>4} {s.hit_at_1:>6.3f} {s.hit_at_5:>6.3f} "
                f"{s.mrr_at_10:>7.3f} {s.ndcg_at_10:>8.3f}"
            )
        return lines

    def miss_lines(self) -> list[str]:
        lines = []
        for r in self.results:
            lines.append(f"{r.mode.value}: {len(r.misses)} not in the first {CUTOFF}")
            lines.extend(m.line() for m in r.misses)
        return lines

    def figures(self) -> dict[str, Any]:
        """Per mode: the scores and every question's rank (None: not in the first 10)."""
        return {
            "questions": len(self.questions),
            "top_k": self.top_k,
            "modes": {
                r.mode.value: {**r.scores.as_dict(), "ranks": list(r.ranks)} for r in self.results
            },
        }


async def evaluate(
    queries: QueryService,
    catalog: Catalog,
    questions: Sequence[Question],
    *,
    modes: Sequence[SearchMode],
    top_k: int = CUTOFF,
) -> Evaluation:
    """Search every question in every mode (no filters, every collection) and rank the
    first relevant passage among the first ``min(top_k, 10)`` results."""
    ids = await resolve_documents(catalog, questions)
    targets = [Target(ids[q.document], q.page, q.span) for q in questions]
    results = []
    for mode in modes:
        ranks: list[int | None] = []
        misses = []
        for q, target in zip(questions, targets, strict=True):
            found = await queries.search(q.question, top_k=top_k, filters={}, mode=mode)
            rank = first_relevant_rank(target.matches(h.chunk) for h in found)
            ranks.append(rank)
            if rank is None:
                misses.append(Miss(q, tuple(found[:MISS_SHOWS])))
        results.append(ModeResult(mode, tuple(ranks), tuple(misses)))
    return Evaluation(tuple(questions), top_k, tuple(results))

"""``migrate verify``: the same questions against the source and the target, hit@1/hit@5.

The question file is the one ``rag-app eval`` reads (``rag_app.evaluation.questions``), with
``document`` the source's document id and ``page`` numbered as in the source. A question
scores a hit@k when a passage of that document (and page, if given) is among the first k
results; on the target the passage must also hold the ``span`` if one is given (the source's
keyword search returns pages, not passages). The source is searched with PostgreSQL
full-text ranking over its text (its own vectors would need its embedding model, which a
re-embedding migration leaves behind); the target through the service's search, as /search
answers.
"""

from __future__ import annotations

from typing import Any

from rag_app.domain import MetadataValue
from rag_app.evaluation.metrics import first_relevant_rank, hits
from rag_app.evaluation.questions import Question, Target
from rag_app.migration.mapping import Mapping
from rag_app.migration.rows import document_id_for
from rag_app.migration.source import SourceTable
from rag_app.retrieval import QueryService

TOP_K = 5


def _line(name: str, ranks: list[int | None]) -> str:
    n = len(ranks)
    cells = [f"{hits(ranks, k):>3}/{n} ({hits(ranks, k) / n:>4.0%})" for k in (1, TOP_K)]
    return f"  {name:<28} hit@1 {cells[0]}   hit@{TOP_K} {cells[1]}"


def _same_page(found: Any, wanted: int | None) -> bool:
    return wanted is None or (found is not None and str(found) == str(wanted))


async def verify(
    source: SourceTable, queries: QueryService, mapping: Mapping, questions: list[Question]
) -> list[str]:
    """``document`` in a question is the source's document key (with a collection join,
    the document of that key in whichever source collection holds it)."""
    keyword: list[int | None] = []
    target: list[int | None] = []
    misses = []
    source_collections = list((await source.count()).by_collection)
    targets = {mapping.target_collection(c) for c in source_collections}
    filters: dict[str, MetadataValue] = {"collection": targets.pop()} if len(targets) == 1 else {}
    for q in questions:
        found = await source.keyword_search(q.question, top_k=TOP_K)
        keyword.append(
            first_relevant_rank(str(d) == q.document and _same_page(p, q.page) for _, d, p in found)
        )
        page = None if q.page is None else q.page + (1 - source.page_base)
        wanted = [Target(document_id_for(q.document, c), page, q.span) for c in source_collections]
        results = await queries.search(q.question, top_k=TOP_K, filters=filters)
        rank = first_relevant_rank(any(w.matches(h.chunk) for w in wanted) for h in results)
        target.append(rank)
        if rank is None:
            got = ", ".join(f"{h.chunk.title} p{h.chunk.page}" for h in results[:3])
            misses.append(f"  {q.question[:70]!r}: expected page {q.page}; got {got}")
    lines = [
        f"{len(questions)} questions",
        _line("source (keyword, PostgreSQL)", keyword),
        _line("target (this service)", target),
    ]
    if misses:
        lines += ["target misses (top 3 shown):", *misses]
    return lines

"""A conversation or one answer for the matter file: Markdown or DOCX, each turn with its
question, the query searched, the answer, and every citation with its document title,
page (or time range) and verified quote; when and by whom it was generated.

Exports show what the requester may see now: a citation to a collection it can no longer
read is withheld (and with it the answer text, which may quote it), as in the API.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rag_app.auth.principal import Principal
from rag_app.conversations.records import Conversation, Turn
from rag_app.conversations.service import WITHHELD_ANSWER, visible_citations
from rag_app.domain import Citation

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def location(citation: Citation) -> str:
    """``page 6``, or for media the time range (``13:05-13:35``, ``1:02:10-1:02:40``)."""
    if citation.start_s is not None and citation.end_s is not None:
        return f"{_clock(citation.start_s)}\u2013{_clock(citation.end_s)}"
    return f"page {citation.page}"


@dataclass(frozen=True, slots=True)
class ExportedTurn:
    number: int
    question: str
    rewritten_query: str
    answer: str
    grounded: bool
    answer_id: str
    asked_at: datetime
    citations: tuple[Citation, ...]
    withheld: int


@dataclass(frozen=True, slots=True)
class Export:
    title: str
    conversation_id: str
    generated_at: datetime
    generated_by: str
    turns: tuple[ExportedTurn, ...]


def export_of(
    conversation: Conversation,
    turns: Sequence[Turn],
    principal: Principal,
    generated_at: datetime,
) -> Export:
    """What ``principal`` may see of ``turns`` of ``conversation``, to render."""
    exported = []
    for turn in turns:
        visible = visible_citations(principal, turn)
        exported.append(
            ExportedTurn(
                number=turn.turn_no,
                question=turn.question,
                rewritten_query=turn.rewritten_query,
                answer=WITHHELD_ANSWER if visible.withheld else turn.answer,
                grounded=turn.grounded,
                answer_id=turn.answer_id,
                asked_at=turn.created_at,
                citations=tuple(c.citation for c in visible.citations),
                withheld=visible.withheld,
            )
        )
    return Export(
        conversation.title,
        conversation.conversation_id,
        generated_at,
        principal.name,
        tuple(exported),
    )


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def to_markdown(export: Export) -> str:
    lines = [
        f"# {_one_line(export.title)}",
        "",
        f"Conversation `{export.conversation_id}`. Generated {_stamp(export.generated_at)} "
        f"by `{export.generated_by}`.",
    ]
    for turn in export.turns:
        lines += ["", f"## {turn.number}. {_one_line(turn.question)}", ""]
        if _one_line(turn.rewritten_query) != _one_line(turn.question):
            lines += [f"Searched for: {_one_line(turn.rewritten_query)}", ""]
        lines += [turn.answer.strip(), ""]
        lines.append(
            f"Answer `{turn.answer_id}`, {_stamp(turn.asked_at)}; "
            + ("grounded in the citations below." if turn.grounded else "not grounded.")
        )
        if turn.citations:
            lines += ["", "Citations:", ""]
            for n, c in enumerate(turn.citations, 1):
                lines.append(f"{n}. **{_one_line(c.title)}**, {location(c)} (`{c.document_id}`)")
                lines.append(f"   > {_one_line(c.quote)}")
        if turn.withheld:
            lines += ["", f"{turn.withheld} citation(s) withheld."]
    return "\n".join(lines) + "\n"


def to_docx(export: Export) -> bytes:
    from docx import Document as DocxDocument

    document = DocxDocument()
    document.core_properties.title = export.title
    document.core_properties.author = export.generated_by
    document.add_heading(_one_line(export.title), level=1)
    document.add_paragraph(
        f"Conversation {export.conversation_id}. Generated {_stamp(export.generated_at)} "
        f"by {export.generated_by}."
    )
    for turn in export.turns:
        document.add_heading(f"{turn.number}. {_one_line(turn.question)}", level=2)
        if _one_line(turn.rewritten_query) != _one_line(turn.question):
            document.add_paragraph(f"Searched for: {_one_line(turn.rewritten_query)}")
        document.add_paragraph(turn.answer.strip())
        document.add_paragraph(
            f"Answer {turn.answer_id}, {_stamp(turn.asked_at)}; "
            + ("grounded in the citations below." if turn.grounded else "not grounded.")
        )
        for c in turn.citations:
            item = document.add_paragraph(style="List Number")
            item.add_run(_one_line(c.title)).bold = True
            item.add_run(f", {location(c)} ({c.document_id})")
            document.add_paragraph(_one_line(c.quote), style="Quote")
        if turn.withheld:
            document.add_paragraph(f"{turn.withheld} citation(s) withheld.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

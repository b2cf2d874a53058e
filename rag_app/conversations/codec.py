"""Turns and citations to JSON-ready values and back: the form both stores keep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rag_app.conversations.records import Feedback, StoredCitation, Turn
from rag_app.domain import Citation


def citation_values(stored: StoredCitation) -> dict[str, Any]:
    c = stored.citation
    return {
        "document_id": c.document_id,
        "title": c.title,
        "page": c.page,
        "quote": c.quote,
        "chunk_id": c.chunk_id,
        "ocr": c.ocr,
        "start_s": c.start_s,
        "end_s": c.end_s,
        "collection": stored.collection,
    }


def citation_of(values: dict[str, Any]) -> StoredCitation:
    collection = values.pop("collection")
    return StoredCitation(Citation(**values), collection)


def feedback_values(feedback: Feedback | None) -> dict[str, Any] | None:
    if feedback is None:
        return None
    return {"rating": feedback.rating, "comment": feedback.comment, "at": feedback.at.isoformat()}


def feedback_of(values: dict[str, Any] | None) -> Feedback | None:
    if values is None:
        return None
    return Feedback(values["rating"], values["comment"], datetime.fromisoformat(values["at"]))


def turn_values(turn: Turn) -> dict[str, Any]:
    return {
        "answer_id": turn.answer_id,
        "conversation_id": turn.conversation_id,
        "turn_no": turn.turn_no,
        "question": turn.question,
        "rewritten_query": turn.rewritten_query,
        "answer": turn.answer,
        "grounded": turn.grounded,
        "citations": [citation_values(c) for c in turn.citations],
        "metadata": dict(turn.metadata),
        "created_at": turn.created_at.isoformat(),
        "feedback": feedback_values(turn.feedback),
    }


def turn_of(values: dict[str, Any]) -> Turn:
    return Turn(
        answer_id=values["answer_id"],
        conversation_id=values["conversation_id"],
        turn_no=values["turn_no"],
        question=values["question"],
        rewritten_query=values["rewritten_query"],
        answer=values["answer"],
        grounded=values["grounded"],
        citations=tuple(citation_of(dict(c)) for c in values["citations"]),
        metadata=values["metadata"],
        created_at=datetime.fromisoformat(values["created_at"]),
        feedback=feedback_of(values["feedback"]),
    )

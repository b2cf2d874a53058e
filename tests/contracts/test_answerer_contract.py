"""The Answerer contract over every backend: the extractive answerer (local MiniLM) and
Bedrock Converse through the real boto3 client against the local Bedrock double. Both get
the question as retrieval hands it over: text, vector and terms."""

from __future__ import annotations

from typing import Any

import pytest

from rag_app.answerers.base import Answerer, Question
from rag_app.answerers.bedrock import BedrockAnswerer
from rag_app.answerers.extractive import ExtractiveAnswerer
from rag_app.domain import Answer, AnswerDelta, Chunk, Hit
from rag_app.embedders.base import embed_query
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.text.words import content_words
from rag_app_dev.bedrock_local import LocalBedrock
from tests.conftest import local_client

pytestmark = pytest.mark.anyio

LEASE = (
    "4.1 Rent. The Tenant shall pay a monthly rent of $2,400 on the first day of each month. "
    "4.2 Late payment. Rent paid after the fifth day incurs a late fee of $75."
)
QUESTION = "What is the late fee for rent paid after the fifth day?"


def hits(*texts: str) -> list[Hit]:
    return [
        Hit(Chunk(f"doc{i}", 0, t, i + 1, 0, len(t), f"Doc {i}", "c"), similarity=0.7)
        for i, t in enumerate(texts)
    ]


@pytest.fixture(params=["extractive", "bedrock"])
def answerer(
    request: pytest.FixtureRequest, embedder: MiniLmOnnxEmbedder, bedrock_server: LocalBedrock
) -> Any:
    bedrock_server.reset()
    if request.param == "extractive":
        return ExtractiveAnswerer(embedder, min_score=0.35, max_sentences=2)
    client = local_client("bedrock-runtime", bedrock_server.endpoint_url)
    return BedrockAnswerer(client, model_id="amazon.nova-lite-v1:0")


async def _asked(embedder: MiniLmOnnxEmbedder, text: str) -> Question:
    return Question(text, await embed_query(embedder, text), content_words(text))


async def _events(answerer: Answerer, question: Question, passages: list[Hit]) -> list[Any]:
    return [event async for event in answerer.stream(question, passages)]


async def test_it_is_an_answerer(answerer: Answerer) -> None:
    assert isinstance(answerer, Answerer)


async def test_deltas_then_exactly_one_answer_whose_text_they_make_up(
    answerer: Answerer, embedder: MiniLmOnnxEmbedder
) -> None:
    events = await _events(answerer, await _asked(embedder, QUESTION), hits(LEASE))
    *deltas, final = events
    assert isinstance(final, Answer)
    assert all(isinstance(d, AnswerDelta) for d in deltas)
    assert "".join(d.text for d in deltas).strip() == final.text.strip()


async def test_a_grounded_answer_cites_only_passages_it_was_given(
    answerer: Answerer, embedder: MiniLmOnnxEmbedder
) -> None:
    passages = hits("Schedule A lists the furniture.", LEASE)
    *_, final = await _events(answerer, await _asked(embedder, QUESTION), passages)
    assert final.grounded
    assert final.citations
    given = {(h.chunk.document_id, h.chunk.page, h.chunk.chunk_id) for h in passages}
    assert {(c.document_id, c.page, c.chunk_id) for c in final.citations} <= given
    assert all(f"[{n}]" in final.text for n in range(1, len(final.citations) + 1))


async def test_no_passages_give_an_answer_that_is_not_grounded(
    answerer: Answerer, embedder: MiniLmOnnxEmbedder
) -> None:
    *_, final = await _events(answerer, await _asked(embedder, QUESTION), [])
    assert isinstance(final, Answer)
    assert (final.grounded, final.citations) == (False, ())
    assert final.text

"""The Reranker contract, run against every implementation (the search's own order, and
Amazon Bedrock's Rerank through the real boto3 bedrock-agent-runtime client on the local
double, whose scores are word overlap: these tests check plumbing, not ranking quality),
and reranking wired into search and answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from rag_app.domain import Chunk, Hit
from rag_app.rerankers.base import NoReranker, Reranker
from rag_app.rerankers.bedrock import BedrockReranker, model_arn
from rag_app.services import open_services
from rag_app.settings import Settings
from rag_app_dev.bedrock_local import LocalBedrock
from tests.conftest import ingest_corpus, local_client

pytestmark = pytest.mark.anyio

TEXTS = [
    "The lessee shall pay the rent on the first day of each month.",
    "The security deposit is refunded within thirty days after the lease ends.",
    "Either party may terminate this agreement with sixty days notice.",
    "The deposit refund excludes the cost of repairing damage beyond normal wear.",
]


def hits(*texts: str) -> list[Hit]:
    return [
        Hit(
            Chunk(
                document_id="lease",
                chunk_no=n,
                text=t,
                page=1,
                char_start=0,
                char_end=len(t),
                title="Lease",
                collection="default",
            ),
            similarity=0.5 - n / 100,
            text_rank=float(n),
            score=1.0 - n / 10,
        )
        for n, t in enumerate(texts)
    ]


@pytest.fixture
def bedrock(bedrock_server: LocalBedrock) -> Iterator[LocalBedrock]:
    bedrock_server.reset()
    yield bedrock_server
    bedrock_server.reset()


def agent_client(server: LocalBedrock) -> Any:
    return local_client("bedrock-agent-runtime", server.endpoint_url)


@pytest.fixture(params=["none", "bedrock"])
def reranker(request: pytest.FixtureRequest, bedrock: LocalBedrock) -> Reranker:
    if request.param == "none":
        return NoReranker()
    return BedrockReranker(agent_client(bedrock), model_id="cohere.rerank-v3-5:0")


async def test_reranking_returns_at_most_top_k_of_the_given_hits_untouched(
    reranker: Reranker,
) -> None:
    assert isinstance(reranker, Reranker)
    given = hits(*TEXTS)
    ranked = await reranker.rerank("deposit refund", given, top_k=3)
    assert len(ranked) == 3
    keys = [h.chunk.chunk_id for h in ranked]
    assert len(set(keys)) == 3
    by_key = {h.chunk.chunk_id: h for h in given}
    for h in ranked:
        original = by_key[h.chunk.chunk_id]
        assert (h.chunk, h.similarity, h.text_rank) == (
            original.chunk,
            original.similarity,
            original.text_rank,
        )
    assert len(await reranker.rerank("deposit", given, top_k=10)) == len(given)


async def test_no_hits_rerank_to_none_without_a_call_and_top_k_is_checked(
    reranker: Reranker, bedrock: LocalBedrock
) -> None:
    assert await reranker.rerank("deposit", [], top_k=5) == []
    assert bedrock.calls["rerank"] == 0
    with pytest.raises(ValueError, match="top_k"):
        await reranker.rerank("deposit", hits(*TEXTS), top_k=0)


async def test_bedrock_rerank_orders_by_the_models_scores_on_the_wire(
    bedrock: LocalBedrock,
) -> None:
    ranked = await BedrockReranker(agent_client(bedrock), model_id="amazon.rerank-v1:0").rerank(
        "deposit refund damage", hits(*TEXTS), top_k=4
    )
    # The double scores the share of query words a text holds (no stemming): 3/3, 1/3.
    assert [h.chunk.chunk_no for h in ranked][:2] == [3, 1]
    assert [h.score for h in ranked][:2] == pytest.approx([1.0, 1 / 3])
    assert bedrock.calls["rerank"] == 1


async def test_a_model_that_is_not_a_rerank_model_is_a_clear_error(bedrock: LocalBedrock) -> None:
    reranker = BedrockReranker(agent_client(bedrock), model_id="amazon.nova-lite-v1:0")
    with pytest.raises(botocore.exceptions.ClientError, match="not a rerank model"):
        await reranker.rerank("deposit", hits(*TEXTS), top_k=2)
    assert model_arn("us-east-1", "cohere.rerank-v3-5:0") == (
        "arn:aws:bedrock:us-east-1::foundation-model/cohere.rerank-v3-5:0"
    )


@pytest.mark.slow
async def test_search_reranks_the_fused_candidates_with_rag_reranker_bedrock(
    bedrock: LocalBedrock, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, reranker="bedrock", rerank_candidates=15
    )
    async with open_services(settings, run_jobs=False) as services:
        await ingest_corpus(services)
        question = "how many work-hours does the AOA sensor system test take"
        found = await services.queries.search(question, top_k=5, filters={})
        assert bedrock.calls["rerank"] == 1
        assert len(found) == 5
        scores = [h.score for h in found]
        assert scores == sorted(scores, reverse=True)  # the reranker's relevance, best first
        answer = await services.queries.ask(question, top_k=5, filters={})
        assert bedrock.calls["rerank"] == 2
        assert answer.grounded

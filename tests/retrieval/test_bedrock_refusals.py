"""Bedrock's refusals reach the caller as problem responses that name the model and what to
do (never a 500), readiness reports a model the role cannot call, and the app emits the
metrics the stacks' alarms read: all through the real boto3 client and the local double."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient

from rag_app import metrics
from rag_app.answerers.base import Question, collect_answer
from rag_app.answerers.bedrock import BedrockAnswerer
from rag_app.api import create_app
from rag_app.domain import Chunk, Hit
from rag_app.embedders.bedrock_titan import BedrockTitanEmbedder
from rag_app.errors import ModelRefusedError, ModelThrottledError
from rag_app.model_access import ModelAccess
from rag_app.settings import Settings
from rag_app_dev.bedrock_local import LocalBedrock
from rag_app_dev.bedrock_local.server import REFUSALS
from tests.conftest import FAA_PDF, local_client, upload, wait_for_job

EMBEDDING = "amazon.titan-embed-text-v2:0"
ANSWER = "amazon.nova-lite-v1:0"
QUESTION = Question("what is the rent?", np.zeros(4, dtype=np.float32), frozenset({"rent"}))
HITS = [Hit(Chunk("d", 0, "The rent is $2,400 a month.", 1, 0, 27, "Lease", "c"), 0.7)]
# What the detail must tell the operator, per code.
ADVICE = {
    "AccessDeniedException": "enable access to the model",
    "ResourceNotFoundException": "check the model id",
    "ValidationException": "inference profile",
    "ServiceQuotaExceededException": "raise the quota",
    "ThrottlingException": "retry shortly",
}
THROTTLING = {"ServiceQuotaExceededException", "ThrottlingException"}


@pytest.fixture
def bedrock(bedrock_server: LocalBedrock) -> Iterator[LocalBedrock]:
    bedrock_server.reset()
    yield bedrock_server
    bedrock_server.reset()


def _client(server: LocalBedrock) -> Any:
    return local_client("bedrock-runtime", server.endpoint_url, max_attempts=1)


@pytest.mark.anyio
@pytest.mark.parametrize("code", sorted(REFUSALS))
async def test_each_refusal_names_the_model_and_what_to_do(
    bedrock: LocalBedrock, code: str
) -> None:
    bedrock.refuse(EMBEDDING, code)
    bedrock.refuse(ANSWER, code)
    embedder = BedrockTitanEmbedder(_client(bedrock), model_id=EMBEDDING, dimensions=256)
    answerer = BedrockAnswerer(_client(bedrock), model_id=ANSWER)
    expected = ModelThrottledError if code in THROTTLING else ModelRefusedError
    with pytest.raises(expected) as embedding:
        await embedder.embed_batch(["a clause"])
    with pytest.raises(expected) as answering:
        await collect_answer(answerer.stream(QUESTION, HITS))
    with pytest.raises(expected):
        await answerer.probe()
    for error, model in ((embedding.value, EMBEDDING), (answering.value, ANSWER)):
        assert model in str(error)
        assert code in str(error)
        assert ADVICE[code] in str(error)


@pytest.mark.anyio
async def test_a_model_that_is_not_refused_still_answers(bedrock: LocalBedrock) -> None:
    bedrock.refuse("some.other-model-v1:0", "AccessDeniedException")
    answerer = BedrockAnswerer(_client(bedrock), model_id=ANSWER)
    await answerer.probe()
    answer = await collect_answer(answerer.stream(QUESTION, HITS))
    assert answer.grounded


def test_refusing_an_unknown_code_is_an_error(bedrock: LocalBedrock) -> None:
    with pytest.raises(ValueError, match="not one of"):
        bedrock.refuse(ANSWER, "TeapotException")


@pytest.mark.anyio
async def test_model_access_reports_refusals_and_clears_when_access_is_granted(
    bedrock: LocalBedrock,
) -> None:
    answerer = BedrockAnswerer(_client(bedrock), model_id=ANSWER)
    bedrock.refuse(ANSWER, "AccessDeniedException")
    access = ModelAccess({ANSWER: answerer.probe}, recheck_seconds=0)
    refused = await access.check()
    assert list(refused) == [ANSWER]
    assert "enable access to the model" in refused[ANSWER]
    bedrock.refusals.clear()  # the operator enabled model access
    assert await access.check() == {}
    calls = bedrock.calls["converse"]
    assert await access.check() == {}  # nothing left to check: no more calls
    assert bedrock.calls["converse"] == calls


@pytest.mark.anyio
async def test_model_access_rechecks_at_most_once_per_interval(bedrock: LocalBedrock) -> None:
    answerer = BedrockAnswerer(_client(bedrock), model_id=ANSWER)
    bedrock.refuse(ANSWER, "ResourceNotFoundException")
    access = ModelAccess({ANSWER: answerer.probe}, recheck_seconds=3600)
    await access.check()
    await access.check()
    await access.check()
    assert bedrock.calls["converse"] == 1
    assert ANSWER in access.refused


def _settings(database_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        embedder="bedrock",
        answerer="bedrock",
        bedrock_embedding_dimensions=512,
        bedrock_embedding_model_id=EMBEDDING,
        bedrock_answer_model_id=ANSWER,
        **extra,
    )


def test_search_answers_problems_not_500s_when_bedrock_refuses(
    bedrock: LocalBedrock, database_url: str, tmp_path: Path
) -> None:
    with TestClient(create_app(_settings(database_url, tmp_path))) as api:
        bedrock.refuse(EMBEDDING, "AccessDeniedException")
        searched = api.post("/search", json={"query": "work-hours"})
        assert searched.status_code == 502, searched.text
        assert searched.headers["content-type"].startswith("application/problem+json")
        assert EMBEDDING in searched.json()["detail"]
        bedrock.refuse(EMBEDDING, "ServiceQuotaExceededException")
        searched = api.post("/search", json={"query": "work-hours"})
        assert searched.status_code == 503
        assert searched.headers["retry-after"]


@pytest.mark.slow
def test_the_api_answers_problems_not_500s_when_bedrock_refuses(
    bedrock: LocalBedrock, database_url: str, tmp_path: Path
) -> None:
    with TestClient(create_app(_settings(database_url, tmp_path))) as api:
        _, body = upload(api, FAA_PDF)
        assert wait_for_job(api, body["job_id"])["status"] == "succeeded"
        bedrock.refuse(ANSWER, "AccessDeniedException")
        asked = api.post("/ask", json={"question": "how many work-hours does the test take"})
        assert asked.status_code == 502, asked.text
        assert asked.headers["content-type"].startswith("application/problem+json")
        assert ANSWER in asked.json()["detail"]
        assert "enable access to the model" in asked.json()["detail"]

        bedrock.refuse(EMBEDDING, "ThrottlingException")
        searched = api.post("/search", json={"query": "work-hours"})
        assert searched.status_code == 503, searched.text
        assert searched.headers["retry-after"]
        assert EMBEDDING in searched.json()["detail"]

        bedrock.refuse(EMBEDDING, "ResourceNotFoundException")
        searched = api.post("/search", json={"query": "work-hours"})
        assert searched.status_code == 502
        assert "check the model id" in searched.json()["detail"]

        # An upload whose embedding is refused fails its job with the same detail.
        _, second = upload(api, FAA_PDF, collection="refused")
        job = wait_for_job(api, second["job_id"])
        assert job["status"] == "failed"
        assert EMBEDDING in job["error"]


def test_readiness_reports_a_model_the_role_cannot_call(
    bedrock: LocalBedrock, database_url: str, tmp_path: Path
) -> None:
    bedrock.refuse(ANSWER, "AccessDeniedException")
    settings = _settings(database_url, tmp_path, bedrock_model_check=True)
    with TestClient(create_app(settings)) as api:
        ready = api.get("/health/ready")
        assert ready.status_code == 503
        assert ANSWER in ready.json()["detail"]
        assert list(ready.json()["models"]) == [ANSWER]
        assert api.get("/health/live").status_code == 200


def test_readiness_is_ready_when_every_model_answers(
    bedrock: LocalBedrock, database_url: str, tmp_path: Path
) -> None:
    settings = _settings(database_url, tmp_path, bedrock_model_check=True)
    with TestClient(create_app(settings)) as api:
        assert api.get("/health/ready").status_code == 200
    assert bedrock.calls["converse"] == 1  # the start-up check: one one-token call


@pytest.mark.anyio
async def test_throttles_and_refusals_are_emitted_as_embedded_metrics(
    bedrock: LocalBedrock,
) -> None:
    bedrock.throttle_ratio = 1.0
    embedder = BedrockTitanEmbedder(
        local_client("bedrock-runtime", bedrock.endpoint_url, max_attempts=3),
        model_id=EMBEDDING,
        dimensions=256,
    )
    with metrics.redirected(io.StringIO()) as out, pytest.raises(ModelThrottledError):
        await embedder.embed_batch(["a clause"])
    assert bedrock.throttled == 3  # botocore's attempts, then the refusal
    records = [json.loads(line) for line in out.getvalue().splitlines() if "_aws" in line]
    throttles = [r for r in records if metrics.BEDROCK_THROTTLES in r]
    assert len(throttles) == 1
    spec = throttles[0]["_aws"]["CloudWatchMetrics"][0]
    assert spec == {
        "Namespace": "RagApp",
        # Without dimensions for the stacks' alarm, and by model.
        "Dimensions": [[], ["Model"]],
        "Metrics": [{"Name": metrics.BEDROCK_THROTTLES, "Unit": "Count"}],
    }
    assert throttles[0]["Model"] == EMBEDDING


def test_an_emf_line_is_one_json_object_and_a_broken_stream_is_ignored() -> None:
    out = io.StringIO()
    metrics.emit(metrics.INGESTION_FAILURES, stream=out, Stage="extract")
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert record[metrics.INGESTION_FAILURES] == 1
    assert record["Stage"] == "extract"
    assert isinstance(record["_aws"]["Timestamp"], int)
    closed = io.StringIO()
    closed.close()
    metrics.emit(metrics.INGESTION_FAILURES, stream=closed, Stage="extract")  # no exception

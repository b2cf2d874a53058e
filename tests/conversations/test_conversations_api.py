"""Conversations through the real API: follow-ups rewritten with the earlier turns, turns
kept with their citations, ownership by principal, feedback, retention."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.settings import Settings
from rag_app_dev.bedrock_local import LocalBedrock
from tests.conftest import AOA_QUESTION, CORPUS, FAA_PDF, _fresh_database, upload, wait_for_job

SMALL_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"

FOLLOW_UP = "and how much does it cost per operator?"


@pytest.fixture(scope="module")
def faa(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=tmp_path_factory.mktemp("conversations") / "data",
    )
    with TestClient(create_app(settings)) as client:
        status, body = upload(client, FAA_PDF, title="FAA AD 2020-17221", collection="faa")
        assert status == 202, body
        assert wait_for_job(client, body["job_id"])["status"] == "succeeded"
        yield client


def test_a_follow_up_is_rewritten_with_the_first_question_and_kept_in_order(
    faa: TestClient[Any],
) -> None:
    first = faa.post("/ask", json={"question": AOA_QUESTION}).json()
    assert first["rewritten_query"] == AOA_QUESTION
    assert first["conversation_id"].startswith("c_")
    assert first["answer_id"].startswith("a_")
    second = faa.post(
        "/ask", json={"question": FOLLOW_UP, "conversation_id": first["conversation_id"]}
    ).json()
    assert second["conversation_id"] == first["conversation_id"]
    assert second["rewritten_query"].startswith(FOLLOW_UP)
    assert "aoa" in second["rewritten_query"]
    assert "sensor" in second["rewritten_query"]
    assert second["metadata"]["rewriter"] == "local"
    conversation = faa.get(f"/conversations/{first['conversation_id']}").json()
    assert [t["answer_id"] for t in conversation["turns"]] == [
        first["answer_id"],
        second["answer_id"],
    ]
    assert conversation["turns"][1]["citations"] == second["citations"]
    listed = faa.get("/conversations").json()
    assert listed["items"][0]["conversation_id"] == first["conversation_id"]


def test_streamed_ask_starts_with_the_ids_and_stores_the_turn(faa: TestClient[Any]) -> None:
    with faa.stream(
        "POST", "/ask", json={"question": AOA_QUESTION}, headers={"accept": "text/event-stream"}
    ) as response:
        body = "".join(response.iter_text()).replace("\r\n", "\n")
    events = [
        (block.split("\n")[0].removeprefix("event: "), block.split("data: ", 1)[1])
        for block in body.strip().split("\n\n")
        if "data: " in block
    ]
    assert events[0][0] == "start"
    assert events[-1][0] == "done"
    start = json.loads(events[0][1])
    answer = json.loads(next(data for name, data in events if name == "answer"))
    assert answer["answer_id"] == start["answer_id"]
    stored = faa.get(f"/answers/{start['answer_id']}").json()
    assert stored["answer"] == answer["answer"]


def test_feedback_is_kept_on_the_answer(faa: TestClient[Any]) -> None:
    answer = faa.post("/ask", json={"question": AOA_QUESTION}).json()
    response = faa.post(
        f"/answers/{answer['answer_id']}/feedback", json={"rating": "down", "comment": "vague"}
    )
    assert response.status_code == 200, response.text
    assert faa.get(f"/answers/{answer['answer_id']}").json()["feedback"]["rating"] == "down"
    bad = faa.post(f"/answers/{answer['answer_id']}/feedback", json={"rating": "meh"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": "x", "conversation_id": "c_" + "0" * 24},
        {"question": "x", "conversation_id": "nope\u0000"},
        {"question": "x", "conversation_id": "c" * 65},
    ],
)
def test_bad_or_unknown_conversations_are_refused(faa: TestClient[Any], body: Any) -> None:
    assert faa.post("/ask", json=body).status_code in (400, 404)


def test_deleting_a_conversation_removes_its_answers(faa: TestClient[Any]) -> None:
    answer = faa.post("/ask", json={"question": AOA_QUESTION}).json()
    assert faa.delete(f"/conversations/{answer['conversation_id']}").status_code == 204
    assert faa.get(f"/conversations/{answer['conversation_id']}").status_code == 404
    assert faa.get(f"/answers/{answer['answer_id']}").status_code == 404


def test_with_bedrock_a_follow_up_costs_one_rewrite_call_and_the_answer_sees_the_turns(
    postgres_url: str, tmp_path: Path, bedrock_server: LocalBedrock
) -> None:
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=tmp_path / "data",
        answerer="bedrock",
    )
    bedrock_server.reset()
    with TestClient(create_app(settings)) as client:
        status, body = upload(client, SMALL_PDF, collection="bulletins")
        assert status == 202, body
        assert wait_for_job(client, body["job_id"])["status"] == "succeeded"
        first = client.post("/ask", json={"question": "How many ballots were cast?"}).json()
        standalone = "How many votes did Neel Kashkari receive in precinct 0050003A?"
        bedrock_server.converse_replies.append(standalone)
        follow = client.post(
            "/ask",
            json={"question": "And Kashkari?", "conversation_id": first["conversation_id"]},
        ).json()
    assert "rewriter" not in first["metadata"] or first["metadata"]["rewriter"] == "none"
    assert follow["rewritten_query"] == standalone
    assert follow["metadata"]["rewriter"] == "bedrock"
    assert follow["metadata"]["rewrite_input_tokens"] > 0
    assert follow["metadata"]["rewrite_output_tokens"] == len(standalone.split())
    rewrite, answer = bedrock_server.prompts[-2:]
    assert "And Kashkari?" in rewrite["messages"][-1]["content"][0]["text"]
    roles = [m["role"] for m in answer["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert answer["messages"][0]["content"][0]["text"] == "How many ballots were cast?"
    assert "<passages>" not in answer["messages"][0]["content"][0]["text"]
    assert "<passages>" in answer["messages"][-1]["content"][0]["text"]

"""The OpenAI-compatible endpoint, driven by the official ``openai`` client over real HTTP:
plain and streamed answers keep their [n] markers and carry the citations extension, a
multi-turn conversation is answered as a follow-up, grants hold, and errors are OpenAI
error objects the client raises as its own exceptions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import AOA_QUESTION
from tests.support.live_server import SecuredServer

MODEL = "rag-app-extractive"


@pytest.fixture
def server(secured_live_server: SecuredServer) -> SecuredServer:
    return secured_live_server


@pytest.fixture
def client() -> Iterator[Callable[[SecuredServer, str], openai.OpenAI]]:
    """The official client on the service's /v1 with a key; closed after the test."""
    opened: list[openai.OpenAI] = []

    def open_client(server: SecuredServer, key: str) -> openai.OpenAI:
        opened.append(
            openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=60)
        )
        return opened[-1]

    yield open_client
    for c in opened:
        c.close()


def pages_cited(citations: list[dict[str, Any]], document_id: str) -> set[int]:
    return {c["page"] for c in citations if c["document_id"] == document_id}


def test_models_lists_the_configured_answerer(
    server: SecuredServer, client: Callable[[SecuredServer, str], openai.OpenAI]
) -> None:
    models = client(server, server.faa_key).models.list()
    assert [m.id for m in models.data] == [MODEL]


def test_a_completion_keeps_its_markers_and_carries_the_citations(
    server: SecuredServer, client: Callable[[SecuredServer, str], openai.OpenAI]
) -> None:
    completion = client(server, server.faa_key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": AOA_QUESTION}]
    )
    text = completion.choices[0].message.content or ""
    extra = completion.model_extra or {}
    citations = extra["citations"]
    assert "[1]" in text
    assert extra["grounded"] is True
    assert 6 in pages_cited(citations, server.faa_document_id)
    assert all(
        c["link"].startswith(f"/documents/{c['document_id']}/content#page=") for c in citations
    )
    assert len(citations) >= max(int(n) for n in _markers(text))


def _markers(text: str) -> list[str]:
    import re

    return re.findall(r"\[(\d+)\]", text)


def test_a_streamed_completion_ends_with_the_citations(
    server: SecuredServer, client: Callable[[SecuredServer, str], openai.OpenAI]
) -> None:
    stream = client(server, server.faa_key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": AOA_QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    extra = last.model_extra or {}
    assert last.choices[0].finish_reason == "stop"
    assert "[1]" in text
    assert extra["grounded"] is True
    assert extra["answer"] == text  # the extractive answer needs no correction
    assert 6 in pages_cited(extra["citations"], server.faa_document_id)
    assert all(c.model_extra is None or "citations" not in c.model_extra for c in chunks[:-1])


def test_a_follow_up_is_answered_with_the_earlier_question(
    server: SecuredServer, client: Callable[[SecuredServer, str], openai.OpenAI]
) -> None:
    follow_up = "how long does it take?"  # names nothing on its own
    alone = client(server, server.faa_key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": follow_up}]
    )
    in_conversation = client(server, server.faa_key).chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": AOA_QUESTION},
            {"role": "assistant", "content": "It takes 2 work-hours [1]."},
            {"role": "user", "content": [{"type": "text", "text": follow_up}]},
        ],
    )
    cited_alone = pages_cited((alone.model_extra or {})["citations"], server.faa_document_id)
    cited = pages_cited((in_conversation.model_extra or {})["citations"], server.faa_document_id)
    assert 6 not in cited_alone
    assert 6 in cited
    assert "work-hours" in (in_conversation.choices[0].message.content or "")


def test_a_key_without_the_grant_gets_no_passage_of_the_collection(
    server: SecuredServer, client: Callable[[SecuredServer, str], openai.OpenAI]
) -> None:
    completion = client(server, server.bulletins_key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": AOA_QUESTION}]
    )
    citations = (completion.model_extra or {})["citations"]
    assert all(c["document_id"] != server.faa_document_id for c in citations)
    assert "work-hours" not in (completion.choices[0].message.content or "")


def test_a_wrong_key_gets_an_openai_shaped_401(
    server: SecuredServer, client: Callable[[SecuredServer, str], openai.OpenAI]
) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        client(server, "rag_wrong_key").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": AOA_QUESTION}]
        )
    assert raised.value.status_code == 401
    assert raised.value.code == "invalid_api_key"
    assert raised.value.type == "invalid_request_error"
    response = httpx.get(f"{server.url}/v1/models")  # no key at all
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_an_unknown_model_and_a_conversation_not_ending_with_the_user_are_refused(
    server: SecuredServer, client: Callable[[SecuredServer, str], openai.OpenAI]
) -> None:
    openai_client = client(server, server.faa_key)
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": AOA_QUESTION}]
        )
    with pytest.raises(openai.BadRequestError, match="last message"):
        openai_client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "user", "content": AOA_QUESTION},
                {"role": "assistant", "content": "2 work-hours"},
            ],
        )
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model=MODEL, messages=[])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"model": "rag-app-extractive"}',
        b'{"model": "rag-app-extractive", "messages": [{"role": "wizard", "content": "x"}]}',
        b'{"model": "rag-app-extractive", "messages": [{"role": "user", "content": "   "}]}',
    ],
)
def test_malformed_requests_get_a_400_error_object(server: SecuredServer, body: bytes) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {server.faa_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_huge_question_is_refused_cleanly(server: SecuredServer) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "word " * 30_000}]},
        headers={"Authorization": f"Bearer {server.faa_key}"},
    )
    assert response.status_code == 400, response.text
    assert "error" in response.json()

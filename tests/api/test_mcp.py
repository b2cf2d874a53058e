"""The MCP server, driven by the ``mcp`` SDK's own client: over streamable HTTP on the
running service (``/mcp``, bearer auth) and over stdio (``rag-app mcp`` as a child process
with RAG_API_KEY). Every tool is listed and called, citations come back as structured
content, and a key without a collection's grant reaches none of its passages through any
tool."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import AOA_QUESTION
from tests.support.live_server import SecuredServer

pytestmark = pytest.mark.anyio
RAG_APP = str(Path(sys.executable).parent / "rag-app")
TOOLS = {"search", "ask", "list_documents", "get_passage"}


@asynccontextmanager
async def http_session(server: SecuredServer, key: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=120) as client,
        streamable_http_client(f"{server.url}/mcp", http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def _stdio_env(server: SecuredServer, key: str | None) -> dict[str, str]:
    settings = server.settings
    assert settings.database_url is not None
    assert settings.api_keys_file is not None
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "RAG_DATABASE_URL": settings.database_url.get_secret_value(),
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_AUTH": "required",
        "RAG_API_KEYS_FILE": str(settings.api_keys_file),
    }
    if key is not None:
        env["RAG_API_KEY"] = key
    return env


@asynccontextmanager
async def stdio_session(server: SecuredServer, key: str) -> AsyncIterator[ClientSession]:
    parameters = StdioServerParameters(command=RAG_APP, args=["mcp"], env=_stdio_env(server, key))
    async with (
        stdio_client(parameters) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.isError, result.content
    assert result.structuredContent is not None
    return result.structuredContent


async def refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.isError
    return " ".join(getattr(c, "text", "") for c in result.content)


async def _every_tool_answers_with_citations(session: ClientSession, server: SecuredServer) -> None:
    listed = await session.list_tools()
    assert {t.name for t in listed.tools} == TOOLS
    assert all(t.outputSchema for t in listed.tools)

    hits = (await call(session, "search", query=AOA_QUESTION, top_k=3))["hits"]
    assert 6 in [h["page"] for h in hits if h["document_id"] == server.faa_document_id]

    answer = await call(session, "ask", question=AOA_QUESTION)
    assert answer["grounded"]
    assert "[1]" in answer["answer"]
    cited = answer["citations"][0]
    assert cited["marker"] == 1
    assert (cited["document_id"], cited["page"]) == (server.faa_document_id, 6)
    assert cited["title"] == "FAA AD 2020-17221"
    assert cited["link"] == f"/documents/{server.faa_document_id}/content#page=6"

    passage = await call(session, "get_passage", document_id=server.faa_document_id, page=6)
    page_text = " ".join(p["text"] for p in passage["passages"])
    assert cited["quote"].split()[0] in page_text
    assert all(p["page"] == 6 for p in passage["passages"])
    one = passage["passages"][0]["chunk_id"]
    by_id = await call(session, "get_passage", document_id=server.faa_document_id, chunk_id=one)
    assert [p["chunk_id"] for p in by_id["passages"]] == [one]

    documents = (await call(session, "list_documents"))["documents"]
    assert server.faa_document_id in [d["document_id"] for d in documents]


async def _no_tool_reaches_the_faa_collection(
    session: ClientSession, server: SecuredServer
) -> None:
    faa = server.faa_document_id
    for collection in (None, "faa"):
        hits = (await call(session, "search", query=AOA_QUESTION, collection=collection))["hits"]
        assert faa not in [h["document_id"] for h in hits]
        answer = await call(session, "ask", question=AOA_QUESTION, collection=collection)
        assert faa not in [c["document_id"] for c in answer["citations"]]
        assert "work-hours" not in answer["answer"]
        documents = (await call(session, "list_documents", collection=collection))["documents"]
        assert faa not in [d["document_id"] for d in documents]
    assert f"no document {faa!r}" in await refused(session, "get_passage", document_id=faa, page=6)


async def test_http_tools_answer_with_citations_within_the_callers_grants(
    secured_live_server: SecuredServer,
) -> None:
    server = secured_live_server
    async with http_session(server, server.faa_key) as session:
        await _every_tool_answers_with_citations(session, server)
        assert "give either page or chunk_id" in await refused(
            session, "get_passage", document_id=server.faa_document_id
        )
        assert await refused(session, "search", query="")  # below the schema's minimum
    async with http_session(server, server.bulletins_key) as session:
        await _no_tool_reaches_the_faa_collection(session, server)
        bulletins = (await call(session, "list_documents"))["documents"]
        assert [d["document_id"] for d in bulletins] == [server.bulletin_document_id]


async def test_http_transport_requires_a_valid_key(secured_live_server: SecuredServer) -> None:
    url = f"{secured_live_server.url}/mcp"
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
        },
    }
    accept = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(timeout=30) as client:
        for headers in ({}, {"Authorization": "Bearer rag_wrong"}):
            response = await client.post(url, json=initialize, headers={**accept, **headers})
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
        ok = await client.post(
            url,
            json=initialize,
            headers={**accept, "Authorization": f"Bearer {secured_live_server.faa_key}"},
        )
        assert ok.status_code == 200, ok.text


@pytest.mark.slow  # two child processes, each loading the embedder
async def test_stdio_tools_act_with_the_grants_of_rag_api_key(
    secured_live_server: SecuredServer,
) -> None:
    server = secured_live_server
    async with stdio_session(server, server.faa_key) as session:
        await _every_tool_answers_with_citations(session, server)
    async with stdio_session(server, server.bulletins_key) as session:
        await _no_tool_reaches_the_faa_collection(session, server)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "set RAG_API_KEY"),
        pytest.param("rag_wrong", "not a valid", marks=pytest.mark.slow),  # starts the services
    ],
)
def test_stdio_refuses_to_start_without_a_valid_key(
    secured_live_server: SecuredServer, key: str | None, message: str
) -> None:
    result = subprocess.run(
        [RAG_APP, "mcp"],
        env=_stdio_env(secured_live_server, key),
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""  # nothing on the protocol's channel


async def test_http_ask_continues_a_conversation_as_the_http_api_does(
    secured_live_server: SecuredServer,
) -> None:
    server = secured_live_server
    async with http_session(server, server.faa_key) as session:
        first = await call(session, "ask", question=AOA_QUESTION)
        assert first["conversation_id"].startswith("c_")
        assert first["rewritten_query"] == AOA_QUESTION  # a first question is its own query
        follow_up = await call(
            session,
            "ask",
            question="and at what labor rate?",
            conversation_id=first["conversation_id"],
        )
        assert follow_up["conversation_id"] == first["conversation_id"]
        assert follow_up["answer_id"] != first["answer_id"]
        # A new question without the id starts a conversation of its own.
        other = await call(session, "ask", question=AOA_QUESTION)
        assert other["conversation_id"] != first["conversation_id"]
        # Unknown, malformed, empty and oversized ids: refused, nothing stored.
        assert "no conversation" in await refused(
            session, "ask", question=AOA_QUESTION, conversation_id="c_" + "0" * 24
        )
        assert "no conversation" in await refused(
            session, "ask", question=AOA_QUESTION, conversation_id="../../etc/passwd"
        )
        assert await refused(session, "ask", question=AOA_QUESTION, conversation_id="")
        assert await refused(session, "ask", question=AOA_QUESTION, conversation_id="c" * 65)
    # The same conversation through the HTTP API, with the same key: both turns, in order.
    headers = {"Authorization": f"Bearer {server.faa_key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
        shown = (await client.get(f"/conversations/{first['conversation_id']}")).json()
        assert [t["answer_id"] for t in shown["turns"]] == [
            first["answer_id"],
            follow_up["answer_id"],
        ]
    # Another caller cannot continue (or learn of) it.
    async with http_session(server, server.bulletins_key) as session:
        assert "no conversation" in await refused(
            session, "ask", question=AOA_QUESTION, conversation_id=first["conversation_id"]
        )

"""Ownership, revoked grants and the audit trail through the real API with API keys:
no principal reaches another's conversations or answers, stored citations follow the
current grants, and every request (refusals included) writes exactly one audit event."""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import docx
import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.auth.api_keys import FileKeyStore, KeyRecord, new_key
from rag_app.settings import Settings
from tests.conftest import AOA_QUESTION, CORPUS, FAA_PDF, _fresh_database, wait_for_job

# Two PDFs ingested and a few hundred requests: minutes on a shared machine.
pytestmark = pytest.mark.slow

COURT_PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
SMALL_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class World:
    client: TestClient[Any]
    keys_file: Path
    records: dict[str, KeyRecord]
    keys: dict[str, str]
    faa_document: str

    def as_(self, who: str, **headers: str) -> dict[str, str]:
        return {**bearer(self.keys[who]), **headers}

    def regrant(self, who: str, *, read: list[str]) -> None:
        """Change a key's grants in place (same id and secret), as an operator would."""
        record = self.records[who]
        self.records[who] = KeyRecord(
            record.id, record.name, record.sha256, sorted(read), record.write, record.created
        )
        anyio.run(FileKeyStore(self.keys_file).save, list(self.records.values()))


@pytest.fixture(scope="module")
def world(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("convo-security")
    keys_file = root / "api-keys.json"
    grants = {
        "admin": {"read": [], "write": ["*"]},
        "alice": {"read": ["faa", "court"], "write": []},
        "bob": {"read": ["faa", "court"], "write": []},
        "carol": {"read": ["faa"], "write": ["carol"]},
        "auditor": {"read": [], "write": [], "audit": True},
    }
    keys: dict[str, str] = {}
    records: dict[str, KeyRecord] = {}
    for who, grant in grants.items():
        keys[who], records[who] = new_key(who, **grant)  # type: ignore[arg-type]
    anyio.run(FileKeyStore(keys_file).save, list(records.values()))
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=root / "data",
        auth="required",
        api_keys_file=keys_file,
        api_keys_refresh_seconds=0,
        rate_limit_per_minute=100_000,
    )
    with TestClient(create_app(settings)) as client:
        ids = {}
        for collection, pdf in (("faa", FAA_PDF), ("court", COURT_PDF)):
            response = client.post(
                "/documents",
                files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
                data={"collection": collection, "title": pdf.stem},
                headers=bearer(keys["admin"]),
            )
            assert response.status_code == 202, response.text
            client.headers.update(bearer(keys["admin"]))
            assert wait_for_job(client, response.json()["job_id"])["status"] == "succeeded"
            ids[collection] = response.json()["document_id"]
        client.headers.pop("Authorization")
        yield World(client, keys_file, records, keys, ids["faa"])


def _conversation(world: World, who: str) -> dict[str, Any]:
    first = world.client.post(
        "/ask", json={"question": AOA_QUESTION}, headers=world.as_(who)
    ).json()
    world.client.post(
        "/ask",
        json={"question": "and what does it cost?", "conversation_id": first["conversation_id"]},
        headers=world.as_(who),
    )
    return first


def test_no_principal_reaches_another_principals_conversations_in_200_tries(
    world: World,
) -> None:
    mine = {who: _conversation(world, who) for who in ("alice", "bob")}
    client = world.client
    attempts = [
        lambda c, a, h: client.get(f"/conversations/{c}", headers=h),
        lambda c, a, h: client.get(f"/answers/{a}", headers=h),
        lambda c, a, h: client.post(
            "/ask", json={"question": "and the fees?", "conversation_id": c}, headers=h
        ),
        lambda c, a, h: client.get(f"/conversations/{c}/export?format=md", headers=h),
        lambda c, a, h: client.get(f"/conversations/{c}/export?format=docx", headers=h),
        lambda c, a, h: client.get(f"/answers/{a}/export", headers=h),
        lambda c, a, h: client.post(f"/answers/{a}/feedback", json={"rating": "up"}, headers=h),
        lambda c, a, h: client.delete(f"/conversations/{c}", headers=h),
    ]
    outcomes = []
    for n, attempt in zip(range(200), itertools.cycle(attempts), strict=False):
        intruder, owner = ("bob", "alice") if n % 2 else ("alice", "bob")
        target = mine[owner]
        response = attempt(target["conversation_id"], target["answer_id"], world.as_(intruder))
        outcomes.append(response.status_code)
    assert len(outcomes) == 200
    assert set(outcomes) == {404}, outcomes
    for who, first in mine.items():
        kept = client.get(f"/conversations/{first['conversation_id']}", headers=world.as_(who))
        assert kept.status_code == 200
        assert len(kept.json()["turns"]) == 2
        assert kept.json()["turns"][0]["feedback"] is None
        listed = client.get("/conversations", headers=world.as_(who)).json()["items"]
        other = mine["bob" if who == "alice" else "alice"]["conversation_id"]
        assert other not in [c["conversation_id"] for c in listed]


def test_a_revoked_grant_withholds_stored_citations_and_their_answer(world: World) -> None:
    first = world.client.post(
        "/ask", json={"question": AOA_QUESTION}, headers=world.as_("bob")
    ).json()
    assert first["citations"], first
    assert {c["document_id"] for c in first["citations"]} == {world.faa_document}
    world.regrant("bob", read=["court"])
    try:
        turn = world.client.get(f"/answers/{first['answer_id']}", headers=world.as_("bob")).json()
        assert turn["citations"] == []
        assert turn["withheld_citations"] == len(first["citations"])
        assert "withheld" in turn["answer"]
        exported = world.client.get(
            f"/answers/{first['answer_id']}/export", headers=world.as_("bob")
        ).text
        for citation in first["citations"]:
            assert " ".join(citation["quote"].split()) not in exported
    finally:
        world.regrant("bob", read=["faa", "court"])
    again = world.client.get(f"/answers/{first['answer_id']}", headers=world.as_("bob")).json()
    assert again["withheld_citations"] == 0


def test_the_docx_export_opens_and_holds_every_quote_and_page(world: World) -> None:
    first = _conversation(world, "alice")
    conversation = world.client.get(
        f"/conversations/{first['conversation_id']}", headers=world.as_("alice")
    ).json()
    response = world.client.get(
        f"/conversations/{first['conversation_id']}/export?format=docx",
        headers=world.as_("alice"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
    citations = [c for t in conversation["turns"] for c in t["citations"]]
    assert citations
    for citation in citations:
        assert " ".join(citation["quote"].split()) in text
        assert f"page {citation['page']} ({citation['document_id']})" in text
    assert "key:" + world.records["alice"].id in text
    markdown = world.client.get(
        f"/conversations/{first['conversation_id']}/export", headers=world.as_("alice")
    ).text
    for citation in citations:
        assert f"> {' '.join(citation['quote'].split())}" in markdown


# -- the audit trail -------------------------------------------------------------------------


def _events(world: World, request_id: str) -> list[dict[str, Any]]:
    response = world.client.get("/audit", params={"limit": 10_000}, headers=world.as_("auditor"))
    assert response.status_code == 200, response.text
    return [e for e in response.json()["events"] if e["request_id"] == request_id]


def test_every_call_writes_exactly_one_event_with_its_fields(world: World) -> None:
    client, carol = world.client, world.records["carol"]
    principal = f"key:{carol.id}"
    calls: list[tuple[str, str, int, Any]] = []  # request id, action, status, check

    def call(
        method: str,
        url: str,
        action: str,
        status: int,
        who: str | None = "carol",
        check: Any = None,
        **kwargs: Any,
    ) -> Any:
        request_id = uuid.uuid4().hex
        headers = {"X-Request-ID": request_id, **(world.as_(who) if who else {})}
        response = client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == status, (method, url, response.text)
        assert response.headers["x-request-id"] == request_id
        calls.append((request_id, action, status, check))
        return response

    pdf = {"file": (SMALL_PDF.name, SMALL_PDF.read_bytes(), "application/pdf")}
    replacement = {"file": (COURT_PDF.name, COURT_PDF.read_bytes(), "application/pdf")}
    uploaded = call(
        "POST", "/documents", "uploadDocument", 202, files=pdf, data={"collection": "carol"}
    ).json()
    document_id = uploaded["document_id"]
    call("POST", "/documents", "uploadDocument", 403, files=pdf, data={"collection": "faa"})
    client.headers.update(world.as_("carol"))
    wait_for_job(client, uploaded["job_id"])
    client.headers.pop("Authorization")
    call(
        "POST",
        "/documents",
        "replaceDocument",
        202,
        files=replacement,
        data={"collection": "carol", "document_id": document_id, "title": "v2"},
    )
    call("GET", "/documents", "listDocuments", 200)
    call(
        "GET",
        f"/documents/{document_id}",
        "getDocument",
        200,
        check={"documents": [document_id], "collections": ["carol"]},
    )
    call("GET", f"/documents/{world.faa_document}x", "getDocument", 404)
    call(
        "GET",
        f"/documents/{document_id}/content",
        "getDocumentContent",
        200,
        check={"documents": [document_id]},
    )
    call("GET", "/documents/nothing-here/content", "getDocumentContent", 404)
    call("GET", f"/jobs/{uploaded['job_id']}", "getJob", 200)
    call("GET", "/jobs/nope", "getJob", 404)
    call(
        "POST",
        "/search",
        "search",
        200,
        json={"query": AOA_QUESTION},
        check={"question": AOA_QUESTION},
    )
    call("POST", "/search", "search", 400, json={"query": ""})
    asked = call(
        "POST",
        "/ask",
        "ask",
        200,
        json={"question": AOA_QUESTION},
        check={"question": AOA_QUESTION},
    ).json()
    call("POST", "/ask", "ask", 404, json={"question": "and?", "conversation_id": "c_" + "0" * 24})
    conversation_id, answer_id = asked["conversation_id"], asked["answer_id"]
    cited = sorted({c["document_id"] for c in asked["citations"]})
    call("GET", "/conversations", "listConversations", 200)
    call(
        "GET",
        f"/conversations/{conversation_id}",
        "getConversation",
        200,
        check={"documents": cited},
    )
    call("GET", "/conversations/c_" + "1" * 24, "getConversation", 404)
    call("GET", f"/answers/{answer_id}", "getAnswer", 200, check={"documents": cited})
    call("GET", "/answers/a_" + "1" * 24, "getAnswer", 404)
    call(
        "POST",
        f"/answers/{answer_id}/feedback",
        "giveFeedback",
        200,
        json={"rating": "up", "comment": "useful"},
    )
    call("POST", "/answers/a_" + "1" * 24 + "/feedback", "giveFeedback", 404, json={"rating": "up"})
    call("GET", f"/conversations/{conversation_id}/export", "exportConversation", 200)
    call("GET", f"/conversations/{conversation_id}/export?format=docx", "exportConversation", 200)
    call("GET", "/conversations/c_" + "1" * 24 + "/export", "exportConversation", 404)
    call("GET", f"/answers/{answer_id}/export", "exportAnswer", 200)
    call("GET", "/answers/a_" + "1" * 24 + "/export", "exportAnswer", 404)
    call("GET", "/audit", "queryAudit", 403)
    call("DELETE", f"/conversations/{conversation_id}", "deleteConversation", 204)
    call("DELETE", f"/conversations/{conversation_id}", "deleteConversation", 404)
    call(
        "DELETE",
        f"/documents/{document_id}",
        "deleteDocument",
        204,
        check={"documents": [document_id]},
    )
    call("DELETE", f"/documents/{document_id}", "deleteDocument", 404)
    call("GET", "/conversations", "listConversations", 401, who=None)
    health_id = uuid.uuid4().hex
    assert client.get("/health/live", headers={"X-Request-ID": health_id}).status_code == 200

    for request_id, action, status, check in calls:
        events = _events(world, request_id)
        assert len(events) == 1, (action, status, events)
        event = events[0]
        assert (event["action"], event["status"]) == (action, status), event
        assert event["principal"] == ("anonymous" if status == 401 else principal)
        for field, value in (check or {}).items():
            assert event[field] == value, (action, field, event)
    assert _events(world, health_id) == []
    # The deleted document's events are still there.
    history = world.client.get(
        "/audit", params={"document_id": document_id}, headers=world.as_("auditor")
    ).json()["events"]
    assert {e["action"] for e in history} >= {"uploadDocument", "deleteDocument"}
    replaced = next(e for e in history if e["action"] == "replaceDocument")
    assert replaced["collections"] == ["carol"]


def test_the_audit_trail_filters_and_exports_csv(world: World) -> None:
    carol = f"key:{world.records['carol'].id}"
    world.client.post("/search", json={"query": "work-hours"}, headers=world.as_("carol"))
    response = world.client.get(
        "/audit",
        params={"principal": carol, "action": "search", "format": "csv"},
        headers=world.as_("auditor"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].startswith("event_id,at,principal,action,status")
    assert len(lines) >= 2
    assert all(f",{carol},search," in line for line in lines[1:])
    naive = world.client.get(
        "/audit", params={"since": "2026-01-01T00:00:00"}, headers=world.as_("auditor")
    )
    assert naive.status_code == 400
    future = world.client.get(
        "/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=world.as_("auditor")
    )
    assert future.json()["events"] == []

"""Word and e-mail files through the real API: generated .docx (python-docx) and .eml
(stdlib ``email``) files with questions whose answers sit in a known section, message or
attachment (hit@5 printed); e-mail headers as filterable metadata and the message as the
citation's title; attachments as documents of their own linked by ``parent_document_id``;
hostile variants (a ZIP bomb, MIME nested too deep, huge headers, a malformed Outlook file)
each fail their own job while the service keeps serving."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.ingest.email_messages import OLE_MAGIC
from rag_app.settings import Settings
from tests.conftest import CORPUS, _fresh_database, wait_for_job

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BULLETIN_PDF = CORPUS / "pdf" / "la-precinct-bulletin-2014-p1.pdf"


def contract_docx() -> bytes:
    """A services agreement: the answers sit in known sections (pages 2-4)."""
    document = docx.Document()
    document.add_paragraph("Master services agreement between Harbor Freight Legal LLP and Acme.")
    document.add_heading("1. Definitions", level=1)
    document.add_paragraph("The Supplier means Acme Logistics Limited, a company in Leeds.")
    document.add_paragraph("The Services means the warehousing described in Schedule 2.")
    document.add_heading("2. Fees", level=1)
    document.add_paragraph("The Customer shall pay a monthly retainer of 4,750 euros.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Late payment interest"
    table.cell(0, 1).text = "eight percent a year"
    document.add_heading("3. Termination", level=1)
    document.add_paragraph("Either party may terminate this agreement on ninety days notice.")
    document.add_paragraph("Confidentiality survives termination for five years.")
    _tracked_change(document.add_paragraph("Disputes go to arbitration in "), "Zurich", "Geneva")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _tracked_change(paragraph: Any, inserted: str, deleted: str) -> None:
    """Append a tracked insertion and a tracked deletion, as Word records them."""
    for tag, text_tag, text in (("w:ins", "w:t", inserted), ("w:del", "w:delText", deleted)):
        change = OxmlElement(tag)
        change.set(qn("w:id"), "1" if tag == "w:ins" else "2")
        change.set(qn("w:author"), "Reviewer")
        run = OxmlElement("w:r")
        node = OxmlElement(text_tag)
        node.text = text
        run.append(node)
        change.append(run)
        paragraph._p.append(change)


def message_eml(attachments: list[tuple[str, bytes, str]]) -> bytes:
    message = EmailMessage()
    message["Subject"] = "Deposition schedule for the Whitfield matter"
    message["From"] = "Alice Moreno <Alice.Moreno@harborlegal.example>"
    message["To"] = "bob@client.example, Carol <carol@client.example>"
    message["Date"] = "Tue, 03 Mar 2026 10:15:00 +0000"
    message.set_content(
        "Bob,\n\nThe deposition of the plant manager is moved to 14 April in Portland.\n"
        "Please bring the maintenance logs.\n\nAlice"
    )
    for filename, data, media_type in attachments:
        main, sub = media_type.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return bytes(message)


def html_only_eml() -> bytes:
    message = EmailMessage()
    message["Subject"] = "Settlement figure"
    message["From"] = "dan@opposing.example"
    message["To"] = "alice.moreno@harborlegal.example"
    message["Date"] = "Wed, 04 Mar 2026 09:00:00 +0000"
    message.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Our client would accept "
        "a settlement of <b>310,000 dollars</b> if signed by Friday.</p></body></html>",
        subtype="html",
    )
    return bytes(message)


@pytest.fixture(scope="module")
def client(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient[Any]]:
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=tmp_path_factory.mktemp("office") / "data",
    )
    with TestClient(create_app(settings)) as c:
        yield c


def submit(
    client: TestClient[Any], name: str, data: bytes, media_type: str, **fields: str
) -> dict[str, Any]:
    response = client.post("/documents", files={"file": (name, data, media_type)}, data=fields)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    body["job"] = wait_for_job(client, body["job_id"])
    return body


@pytest.fixture(scope="module")
def ingested(client: TestClient[Any]) -> dict[str, str]:
    contract = submit(client, "msa.docx", contract_docx(), DOCX_TYPE, collection="matters")
    message = submit(
        client,
        "deposition.eml",
        message_eml(
            [
                ("bulletin.pdf", BULLETIN_PDF.read_bytes(), "application/pdf"),
                ("msa-copy.docx", contract_docx()[:5000], DOCX_TYPE),  # a truncated copy
                ("notes.bin", b"\x00\x01 not a supported file", "application/octet-stream"),
            ]
        ),
        "message/rfc822",
        collection="matters",
    )
    html = submit(client, "settlement.eml", html_only_eml(), "message/rfc822", collection="matters")
    for body in (contract, message, html):
        assert body["job"]["status"] == "succeeded", body["job"]
    for attachment in children(client, message["document_id"]):
        wait_for_job(client, attachment["job_id"])
    return {
        "contract": contract["document_id"],
        "message": message["document_id"],
        "html": html["document_id"],
    }


def children(client: TestClient[Any], parent: str) -> list[dict[str, Any]]:
    documents = client.get("/documents", params={"limit": 500}).json()["items"]
    return [d for d in documents if d["metadata"].get("parent_document_id") == parent]


def test_answers_are_found_in_their_section_message_and_attachment(
    client: TestClient[Any], ingested: dict[str, str]
) -> None:
    (attachment,) = [d for d in children(client, ingested["message"]) if d["status"] == "ready"]
    questions = [
        ("what is the monthly retainer", ingested["contract"], 3),
        ("who is the supplier", ingested["contract"], 2),
        ("how much notice is needed to terminate the agreement", ingested["contract"], 4),
        ("when is the deposition of the plant manager", ingested["message"], 1),
        ("what settlement amount would the client accept", ingested["html"], 1),
        ("precinct bulletin", attachment["document_id"], 1),
    ]
    found = 0
    for question, document_id, page in questions:
        hits = client.post("/search", json={"query": question, "top_k": 5}).json()["hits"]
        found += (document_id, page) in [(h["document_id"], h["page"]) for h in hits]
    print(f"\nWord and e-mail: hit@5 = {found}/{len(questions)} = {found / len(questions):.2f}")
    assert found == len(questions)


def test_a_word_citation_names_the_section_and_paragraph(
    client: TestClient[Any], ingested: dict[str, str]
) -> None:
    answer = client.post("/ask", json={"question": "what is the monthly retainer"}).json()
    cited = [c for c in answer["citations"] if c["document_id"] == ingested["contract"]]
    assert cited[0]["page"] == 3  # the "2. Fees" section
    assert cited[0]["title"] == "msa.docx"
    passage = client.post("/search", json={"query": "late payment interest", "top_k": 1}).json()[
        "hits"
    ][0]
    assert "¶7 Late payment interest | eight percent a year" in passage["text"]


def test_tracked_changes_are_read_as_accepted(
    client: TestClient[Any], ingested: dict[str, str]
) -> None:
    hits = client.post(
        "/search",
        json={"query": "arbitration", "top_k": 1, "filters": {"document_id": ingested["contract"]}},
    ).json()["hits"]
    assert "Disputes go to arbitration in Zurich" in hits[0]["text"]
    assert "Geneva" not in hits[0]["text"]


def test_an_email_is_cited_by_subject_and_date_and_filtered_by_its_headers(
    client: TestClient[Any], ingested: dict[str, str]
) -> None:
    document = client.get(f"/documents/{ingested['message']}").json()
    assert document["title"] == "Deposition schedule for the Whitfield matter (2026-03-03)"
    assert document["metadata"] == {
        "email_subject": "Deposition schedule for the Whitfield matter",
        "email_from": "alice.moreno@harborlegal.example",
        "email_to": "bob@client.example,carol@client.example",
        "email_date": "2026-03-03",
    }
    answer = client.post(
        "/ask", json={"question": "when is the deposition of the plant manager"}
    ).json()
    assert answer["citations"][0]["title"] == document["title"]
    for key, value in (
        ("email_from", "alice.moreno@harborlegal.example"),
        ("email_date", "2026-03-03"),
    ):
        hits = client.post("/search", json={"query": "deposition", "filters": {key: value}}).json()[
            "hits"
        ]
        assert {h["document_id"] for h in hits} == {ingested["message"]}


def test_attachments_become_linked_documents_of_the_same_collection(
    client: TestClient[Any], ingested: dict[str, str]
) -> None:
    attached = {d["filename"]: d for d in children(client, ingested["message"])}
    assert set(attached) == {"bulletin.pdf", "msa-copy.docx"}  # notes.bin: not a supported type
    assert {d["collection"] for d in attached.values()} == {"matters"}
    assert attached["bulletin.pdf"]["status"] == "ready"
    assert attached["msa-copy.docx"]["status"] == "failed"  # its own job fails, not the message's
    answer = client.post(
        "/ask",
        json={
            "question": "precinct bulletin",
            "filters": {"parent_document_id": ingested["message"]},
        },
    ).json()
    assert {c["document_id"] for c in answer["citations"]} == {
        attached["bulletin.pdf"]["document_id"]
    }
    assert all(c["page"] == 1 for c in answer["citations"])


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (64 * 1024 * 1024))
    return out.getvalue()


def _nested_mime(depth: int) -> bytes:
    inner = b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        inner = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary
            + b"\r\n" + inner + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    return (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
        + inner
    )


HOSTILE = {
    "zip-bomb.docx": (_zip_bomb, "ZIP bomb"),
    "not-word.docx": (
        lambda: _zip_of({"hello.txt": "hi"}),
        "not a Word .docx",
    ),
    "nested.eml": (lambda: _nested_mime(200), "deeper than"),
    "huge-headers.eml": (
        lambda: (
            b"From: a@example.com\r\nTo: b@example.com\r\nSubject: "
            + b"x" * (400 * 1024)
            + b"\r\n\r\nbody"
        ),
        "headers are",
    ),
    "malformed.msg": (lambda: OLE_MAGIC + b"\x00" * 4096, "Outlook message cannot be read"),
}


def _zip_of(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_fail_their_own_job_and_the_service_keeps_serving(
    client: TestClient[Any], ingested: dict[str, str], name: str
) -> None:
    make, reason = HOSTILE[name]
    body = submit(client, name, make(), "application/octet-stream", collection="hostile")
    assert body["job"]["status"] == "failed"
    assert reason in body["job"]["error"], body["job"]["error"]
    assert client.get("/health/ready").status_code == 200
    hits = client.post("/search", json={"query": "monthly retainer", "top_k": 1}).json()["hits"]
    assert hits[0]["document_id"] == ingested["contract"]


@pytest.mark.slow  # the CLI loads its own embedder
def test_the_cli_ingests_word_and_email_files_from_a_folder(
    postgres_url: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from rag_app.cli import main

    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "msa.docx").write_bytes(contract_docx())
    (folder / "deposition.eml").write_bytes(
        message_eml([("bulletin.pdf", BULLETIN_PDF.read_bytes(), "application/pdf")])
    )
    (folder / "ignored.txt").write_text("not picked up")
    env = {"RAG_DATABASE_URL": _fresh_database(postgres_url), "RAG_DATA_DIR": str(tmp_path / "d")}
    result = CliRunner().invoke(main, ["ingest", str(folder), "--collection", "inbox"], env=env)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("ingested")]
    assert len(lines) == 2
    assert "ignored.txt" not in result.output
    listed = CliRunner().invoke(main, ["search", "precinct bulletin", "--top-k", "1"], env=env)
    assert listed.exit_code == 0, listed.output

"""An "on-prem-like" source: the table a Go + OpenAI + pgvector app keeps, filled with
real chunk text from ../shared/corpus/pdf (cut with the project's own PDF and chunking code),
1536-d vectors standing in for OpenAI's, rows of every document interleaved, and bad rows."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb

from rag_app.ingest.chunking import chunk_pages
from rag_app.ingest.pdf import extract_pages
from tests.conftest import CORPUS

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA onprem;
CREATE TABLE onprem.document_chunks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id      uuid,
    content     text,
    page_number integer,
    metadata    jsonb,
    source_file text,
    embedding   vector(1536)
);
CREATE INDEX ON onprem.document_chunks (doc_id, id);
"""

INSERT = (
    "INSERT INTO onprem.document_chunks (doc_id, content, page_number, metadata, source_file,"
    " embedding) VALUES (%s, %s, %s, %s, %s, %s)"
)

CHECKSUM = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY id), ''))"
    " FROM onprem.document_chunks t"
)

MAPPING = """
table = "onprem.document_chunks"
collection = "onprem"

[columns]
id = "id"
document_id = "doc_id"
text = "content"
page = "page_number"
metadata = "metadata"
source_key = "source_file"
"""

# One bad row per reason, in a document of its own, plus one with no document at all.
BAD_ROWS: list[tuple[str, str | None, int | None, object]] = [
    ("empty text", "", 1, {}),
    ("empty text", "   \n ", 1, {}),
    ("empty text", None, 1, {}),
    ("text over the embedder's limit", "a very long clause. " * 150, 1, {}),
    ("page missing or not a positive number", "a clause with no page", None, {}),
    ("metadata not a flat JSON object of usable keys", "nested metadata", 1, {"a": {"b": 1}}),
    ("metadata not a flat JSON object of usable keys", "a reserved key", 1, {"page": 3}),
    ("metadata over the S3 Vectors budget", "big metadata", 1, {f"k{i}": "x" * 500 for i in range(5)}),
]  # fmt: skip
BAD_DOCUMENT = uuid.UUID("00000000-0000-4000-8000-0000000000ba")


@dataclass(frozen=True, slots=True)
class OnPrem:
    """What was put in: ``chunks[doc_id]`` is the good rows' (text, page) in id order."""

    url: str
    documents: dict[str, str]  # doc_id -> source file name
    chunks: dict[str, list[tuple[str, int]]]
    bad_rows: int

    @property
    def good_rows(self) -> int:
        return sum(len(c) for c in self.chunks.values())

    def document_of(self, pdf_name: str) -> str:
        return next(d for d, name in self.documents.items() if name.endswith(pdf_name))


def create_onprem(url: str, *, skip: tuple[str, ...] = ()) -> OnPrem:
    """The source table in the database at ``url``, from every corpus PDF not in ``skip``."""
    rng = np.random.default_rng(7)
    documents: dict[str, str] = {}
    chunks: dict[str, list[tuple[str, int]]] = {}
    queues: list[list[tuple[object, ...]]] = []
    pdfs = [p for p in sorted((CORPUS / "pdf").glob("*.pdf")) if p.name not in skip]
    for n, pdf in enumerate(pdfs):
        doc_id = uuid.UUID(int=n + 1, version=4)
        documents[str(doc_id)] = f"uploads/2024/{pdf.name}"
        pages = extract_pages(pdf.read_bytes(), max_pages=100)
        spans = chunk_pages(pages, max_chars=1000, overlap=150)
        chunks[str(doc_id)] = [(s.text, s.page) for s in spans]
        meta = {"source": "go-ingest-v1", "lang": "en"}
        queues.append(
            [(doc_id, s.text, s.page, Jsonb(meta), documents[str(doc_id)]) for s in spans]
        )
    # The Go app ingested files concurrently: ids interleave across documents, while each
    # document's rows keep their own order.
    ordered: list[tuple[object, ...]] = []
    pick = random.Random(3)
    while queues := [q for q in queues if q]:
        ordered.append(pick.choice(queues).pop(0))
    bad: list[tuple[object, ...]] = [
        (BAD_DOCUMENT, text, page, Jsonb(meta), "uploads/bad.pdf")
        for _, text, page, meta in BAD_ROWS
    ]
    bad.append((None, "a row with no document", 1, Jsonb({}), None))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        register_vector(conn)
        with conn.cursor() as cursor:
            for row in [*ordered, *bad]:
                vector = rng.standard_normal(1536).astype(np.float32)
                cursor.execute(INSERT, (*row, vector / np.linalg.norm(vector)))
    return OnPrem(url, documents, chunks, bad_rows=len(bad))


def checksum(url: str) -> tuple[int, str]:
    with psycopg.connect(url) as conn:
        row = conn.execute(CHECKSUM).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def write_mapping(directory: Path, text: str = MAPPING) -> Path:
    path = directory / "mapping.toml"
    path.write_text(text)
    return path


# Questions a user of the corpus asks, with the page that answers each (verify's hit@k).
QUESTIONS: list[tuple[str, str, int]] = [
    ("how many work-hours does the AOA sensor system test take", "federal-register-2020-17221.pdf", 6),
    ("which Boeing service bulletin describes the AOA sensor system test and operational readiness flight", "federal-register-2020-17221.pdf", 5),
    ("what is the Runaway Stabilizer checklist of the AFM used for", "federal-register-2020-17221.pdf", 4),
    ("Minimum Equipment List provisions for inoperative flight control computers", "federal-register-2020-17221.pdf", 13),
    ("who was the petitioner in Knowles v. Mirzayance before the Supreme Court", "scotus-transcript-p1.pdf", 1),
    ("how many handgun background checks were there in Alabama", "nics-background-checks-2015-11.pdf", 1),
    ("90-day summary report for a child death or serious injury", "150109DSP-Milw-505-90D.pdf", 1),
    ("what was the district director paid in the senate expenditures", "senate-expenditures.pdf", 1),
]  # fmt: skip


def write_questions(directory: Path, onprem: OnPrem) -> Path:
    path = directory / "questions.jsonl"
    lines = [
        json.dumps({"question": q, "document": onprem.document_of(pdf), "page": page})
        for q, pdf, page in QUESTIONS
    ]
    path.write_text("\n".join(lines) + "\n")
    return path

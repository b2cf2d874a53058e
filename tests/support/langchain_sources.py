"""Sources shaped as LangChain's PGVector stores leave them: langchaingo's tables (the Go
app the team runs) and LangChain Python's (langchain-postgres), filled with real text from
../shared/corpus/pdf split with overlap the way their splitters do, 1536-d vectors standing
in for OpenAI's, random UUIDs, rows inserted in shuffled order, two collections (one that
must not be migrated) and the rows such apps really hold: no page, an empty document, a
``cmetadata`` that is not an object."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Json, Jsonb

from rag_app.ingest.pdf import extract_pages
from tests.conftest import CORPUS

# langchaingo's vectorstores/pgvector, as it creates them (the issue quotes this DDL).
LANGCHAINGO_DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE langchain_pg_collection (
    name varchar UNIQUE, cmetadata json, uuid uuid PRIMARY KEY);
CREATE TABLE langchain_pg_embedding (
    collection_id uuid REFERENCES langchain_pg_collection(uuid) ON DELETE CASCADE,
    embedding vector, document varchar, cmetadata json, uuid uuid PRIMARY KEY);
"""

# langchain-postgres's PGVector (jsonb metadata, an ``id`` primary key).
LANGCHAIN_DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE langchain_pg_collection (
    uuid uuid PRIMARY KEY, name varchar NOT NULL UNIQUE, cmetadata json);
CREATE TABLE langchain_pg_embedding (
    id varchar PRIMARY KEY,
    collection_id uuid REFERENCES langchain_pg_collection(uuid) ON DELETE CASCADE,
    embedding vector(1536), document varchar, cmetadata jsonb);
CREATE INDEX ix_cmetadata_gin ON langchain_pg_embedding USING gin (cmetadata jsonb_path_ops);
"""

INSERT_GO = (
    "INSERT INTO langchain_pg_embedding (collection_id, embedding, document, cmetadata, uuid)"
    " VALUES (%s, %s, %s, %s, %s)"
)
INSERT_PY = (
    "INSERT INTO langchain_pg_embedding (collection_id, embedding, document, cmetadata, id)"
    " VALUES (%s, %s, %s, %s, %s)"
)

CHECKSUM = """
SELECT (SELECT count(*) FROM langchain_pg_embedding),
       md5((SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')
            FROM langchain_pg_embedding t)
           || (SELECT coalesce(string_agg(c::text, E'\\n' ORDER BY c::text), '')
               FROM langchain_pg_collection c))
"""

Flavour = Literal["langchaingo", "langchain"]
MIGRATED = "matters"
NOT_MIGRATED = "scratch"
NOTE_SOURCE = "notes/call-with-client.txt"
NOTE_TEXT = [
    "Call with the client about the AOA sensor directive. The client operates four 737-8 "
    "aircraft and asked how long the sensor system test takes per aircraft.",
    "Follow-up items: confirm with maintenance that the flight control computer software "
    "has been updated, and send the client the compliance summary before the hearing.",
]


@dataclass
class LangChainSource:
    """What was put in: ``chunks[source]`` is each migrated document's (text, page) in
    reading order (page 1-based; ``0`` for the unpaged note), per source file name."""

    url: str
    flavour: Flavour
    chunks: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    scratch_texts: list[str] = field(default_factory=list)
    bad_rows: int = 0
    good_rows: int = 0

    def source_of(self, pdf_name: str) -> str:
        return next(s for s in self.chunks if s.endswith(pdf_name))


def split(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    """(start, passage) windows of at most ``size`` characters on word boundaries, each
    starting with the words of the previous one's last ``overlap`` characters: how
    LangChain's RecursiveCharacterTextSplitter merges a page's words."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    passages: list[tuple[int, str]] = []
    i = 0
    while i < len(words):
        start, j = words[i][0], i
        while j < len(words) and words[j][1] - start <= size:
            j += 1
        j = max(j, i + 1)  # a word longer than a window is a window of its own
        end = words[j - 1][1]
        passages.append((start, text[start:end]))
        if j >= len(words):
            break
        k = j
        while k - 1 > i and end - words[k - 1][0] <= overlap:
            k -= 1
        i = k if k > i else j
    return passages


def _vector(rng: np.random.Generator) -> np.ndarray:
    vector = rng.standard_normal(1536).astype(np.float32)
    return vector / np.linalg.norm(vector)


def create_langchain_source(
    url: str, flavour: Flavour, *, pdfs: tuple[str, ...] | None = None
) -> LangChainSource:
    """The two tables in the database at ``url``; ``pdfs``: corpus file names (all: None)."""
    rng = np.random.default_rng(11)
    shuffle = random.Random(5)
    source = LangChainSource(url, flavour)
    collections = {MIGRATED: uuid.uuid4(), NOT_MIGRATED: uuid.uuid4()}
    rows: list[tuple[uuid.UUID, str | None, object]] = []
    files = [p for p in sorted((CORPUS / "pdf").glob("*.pdf")) if pdfs is None or p.name in pdfs]
    # Go: langchaingo's PDF loader numbers pages from 1 and its RecursiveCharacter splitter
    # cuts 512 characters with 100 of overlap; Python: PyPDFLoader numbers from 0 and the
    # usual RecursiveCharacterTextSplitter(1000, 200, add_start_index=True) records offsets.
    size, overlap = (512, 100) if flavour == "langchaingo" else (1000, 200)
    for pdf in files:
        name = f"/srv/legal-app/uploads/{pdf.name}"
        pages = extract_pages(pdf.read_bytes(), max_pages=100)
        spans = [(p.number, *w) for p in pages for w in split(p.text, size, overlap)]
        source.chunks[name] = [(text, page) for page, _, text in spans]
        for page, start, text in spans:
            meta: dict[str, object] = {"source": name, "page": page}
            if flavour == "langchain":
                meta = {
                    "source": name,
                    "page": page - 1,
                    "start_index": start,
                    "producer": "pdfTeX-1.40",
                    "total_pages": len(pages),
                    "title": "a PDF's own title, which this service does not keep",
                }
            rows.append((collections[MIGRATED], text, meta))
    # A text loader's document: no page at all.
    source.chunks[NOTE_SOURCE] = [(text, 0) for text in NOTE_TEXT]
    rows += [(collections[MIGRATED], t, {"source": NOTE_SOURCE}) for t in NOTE_TEXT]
    # The collection that stays behind: same file names, other text.
    for n in range(5):
        text = f"Scratch note {n}: privileged draft text that must never leave the old app."
        source.scratch_texts.append(text)
        rows.append((collections[NOT_MIGRATED], text, {"source": "drafts/x.pdf", "page": 1}))
    source.good_rows = sum(len(c) for c in source.chunks.values())
    bad: list[tuple[uuid.UUID, str | None, object]] = [
        (collections[MIGRATED], "", {"source": "/srv/legal-app/uploads/empty.pdf", "page": 1}),
        (collections[MIGRATED], None, {"source": "/srv/legal-app/uploads/empty.pdf", "page": 2}),
        (collections[MIGRATED], "metadata is a list", ["not", "an", "object"]),
        (collections[MIGRATED], "metadata is a string", "just text"),
        (collections[MIGRATED], "a page that is no number", {"source": "odd.pdf", "page": "x"}),
    ]
    source.bad_rows = len(bad)
    rows += bad
    shuffle.shuffle(rows)
    wrap = Json if flavour == "langchaingo" else Jsonb
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(LANGCHAINGO_DDL if flavour == "langchaingo" else LANGCHAIN_DDL)
        register_vector(conn)
        with conn.cursor() as cursor:
            for name, collection_id in collections.items():
                cursor.execute(
                    "INSERT INTO langchain_pg_collection (name, cmetadata, uuid) "
                    "VALUES (%s, %s, %s)",
                    (name, Json({}), collection_id),
                )
            insert = INSERT_GO if flavour == "langchaingo" else INSERT_PY
            for collection_id, text, meta in rows:
                row_id: object = uuid.uuid4()
                if flavour == "langchain":
                    row_id = str(row_id)
                cursor.execute(insert, (collection_id, _vector(rng), text, wrap(meta), row_id))
    return source


def checksum(url: str) -> tuple[int, str]:
    with psycopg.connect(url) as conn:
        row = conn.execute(CHECKSUM).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])

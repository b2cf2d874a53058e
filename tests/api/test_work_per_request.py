"""What one upload and one question cost, counted with counting wrappers around the real
components (the embedded PostgreSQL catalog, the MiniLM embedder, the citation check): the
catalog reads and writes of ingesting one document and of replacing it; the embedder calls
(and how often the question is among the texts embedded) and the citation checks of one
/ask, on the extractive path and on the Bedrock path (local double). The figures print; the
test pins the data paths' promises: the question is embedded once and the citations are
checked once, on both paths."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rag_app.api import create_app
from rag_app.catalog.postgres import PostgresCatalog
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.retrieval import service as retrieval_service
from rag_app.settings import Settings
from tests.conftest import CORPUS

PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
QUESTION = "Who argued the case for the petitioner?"
READS = ("get_document", "find_document_by_content", "list_documents", "get_job")
WRITES = ("save_document", "save_job", "delete_document")


class Counts:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.embedded: list[list[str]] = []

    def reset(self) -> None:
        self.calls.clear()
        self.embedded.clear()

    @property
    def reads(self) -> int:
        return sum(self.calls[name] for name in READS)

    @property
    def writes(self) -> int:
        return sum(self.calls[name] for name in WRITES)


def _counting(counts: Counts, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    async def counted(*args: Any, **kwargs: Any) -> Any:
        counts.calls[name] += 1
        return await method(*args, **kwargs)

    return counted


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counts:
    counts = Counts()
    for name in (*READS, *WRITES):
        monkeypatch.setattr(
            PostgresCatalog, name, _counting(counts, name, getattr(PostgresCatalog, name))
        )
    embed = MiniLmOnnxEmbedder.embed_batch

    async def embed_batch(self: MiniLmOnnxEmbedder, texts: Any) -> Any:
        counts.embedded.append(list(texts))
        return await embed(self, texts)

    monkeypatch.setattr(MiniLmOnnxEmbedder, "embed_batch", embed_batch)
    verify = retrieval_service.verify_citations

    def verify_citations(*args: Any) -> Any:
        counts.calls["citation_check"] += 1
        return verify(*args)

    monkeypatch.setattr(retrieval_service, "verify_citations", verify_citations)
    return counts


def _ingest(client: TestClient[Any], counts: Counts, **fields: str) -> dict[str, int]:
    counts.reset()
    data = PDF.read_bytes() + (b"\n% replaced\n" if fields else b"")
    response = client.post("/documents", files={"file": (PDF.name, data)}, data=fields)
    assert response.status_code == 202, response.text
    client.blocking_portal.call(client.app.state.services.worker.idle)
    job = client.get(f"/jobs/{response.json()['job_id']}").json()
    assert job["status"] == "succeeded", job
    return {"document_id": response.json()["document_id"], **_catalog(counts, less_reads=1)}


def _catalog(counts: Counts, *, less_reads: int = 0) -> dict[str, int]:
    # less_reads: the GET /jobs above that checks the outcome is the test's, not the path's.
    return {"reads": counts.reads - less_reads, "writes": counts.writes}


def _ask(client: TestClient[Any], counts: Counts) -> dict[str, int]:
    counts.reset()
    answer = client.post("/ask", json={"question": QUESTION}).json()
    assert "citations" in answer, answer
    return {
        "embedder_calls": len(counts.embedded),
        "question_embedded": sum(batch.count(QUESTION) for batch in counts.embedded),
        "citation_checks": counts.calls["citation_check"],
    }


@pytest.mark.parametrize("answerer", ["extractive", "bedrock"])
def test_one_upload_and_one_question_do_each_step_once(
    answerer: str, counts: Counts, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, answerer=answerer)
    with TestClient(create_app(settings)) as client:
        new = _ingest(client, counts)
        replaced = _ingest(client, counts, document_id=str(new["document_id"]))
        asked = _ask(client, counts)
    print(f"\n{answerer}: ingest {new}, replace {replaced}, ask {asked}")
    assert asked["question_embedded"] == 1
    assert asked["citation_checks"] == 1
    assert asked["embedder_calls"] == (2 if answerer == "extractive" else 1)
    # Submit: 1 read (is this content already here?), job + document written; the job:
    # 1 read of the job, 2 of the document (start, finish), 3 stage writes (parsing,
    # embedding, done; chunking and indexing are not recorded), 2 of the document.
    assert (new["reads"], new["writes"]) == (3 + 1, 2 + 3 + 2)
    assert (replaced["reads"], replaced["writes"]) == (new["reads"], new["writes"])

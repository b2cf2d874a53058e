"""``rag-app eval`` on real corpus PDFs in the embedded PostgreSQL: the figures it prints
are the ones the metrics give for the ranks the service's search returns."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rag_app.cli import main
from rag_app.domain import JobStatus, SearchMode
from rag_app.evaluation.metrics import Scores
from rag_app.evaluation.questions import load_questions
from rag_app.ingest.service import Upload
from rag_app.services import open_services
from rag_app.settings import Settings
from tests.conftest import CORPUS, ROOT, _fresh_database

FILES = ["scotus-transcript-p1.pdf", "senate-expenditures.pdf", "150109DSP-Milw-505-90D.pdf"]
CORPUS_QUESTIONS = ROOT / "benchmarks" / "eval" / "corpus-pdf.jsonl"


async def ingest(settings: Settings) -> dict[str, str]:
    """filename -> document id, each job run to success."""
    ids = {}
    async with open_services(settings, run_jobs=False) as services:
        for name in FILES:
            submission = await services.ingestion.submit(
                Upload(name, (CORPUS / "pdf" / name).read_bytes())
            )
            await services.ingestion.run_job(submission.job_id)
            job = await services.catalog.get_job(submission.job_id)
            assert job is not None
            assert job.status is JobStatus.SUCCEEDED, job.error
            ids[name] = submission.document_id
    return ids


async def ranks_by_hand(
    settings: Settings, questions: list[tuple[str, str, int]]
) -> dict[str, list[int | None]]:
    """Per mode: the 1-based position of the first hit of (document id, page) in the top 10."""
    ranks: dict[str, list[int | None]] = {}
    async with open_services(settings, run_jobs=False) as services:
        for mode in SearchMode:
            ranks[mode.value] = []
            for question, document_id, page in questions:
                hits = await services.queries.search(question, top_k=10, filters={}, mode=mode)
                found = [(h.chunk.document_id, h.chunk.page) for h in hits]
                rank = (
                    found.index((document_id, page)) + 1 if (document_id, page) in found else None
                )
                ranks[mode.value].append(rank)
    return ranks


def run_eval(settings: Settings, *args: str) -> Result:
    assert settings.database_url is not None
    env = {
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_DATABASE_URL": settings.database_url.get_secret_value(),
    }
    return CliRunner().invoke(main, ["eval", *args], env=env)


@pytest.fixture(scope="module")
def corpus(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, dict[str, str]]:
    """Three PDFs ingested once, read by every test of the module."""
    settings = Settings(
        database_url=_fresh_database(postgres_url),
        data_dir=tmp_path_factory.mktemp("eval") / "data",
    )
    return settings, asyncio.run(ingest(settings))


def test_eval_prints_the_metrics_of_the_ranks_search_returns(
    corpus: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    settings, ids = corpus
    # The set's questions on these files; one names its document by id instead of filename.
    lines = [
        line
        for line in CORPUS_QUESTIONS.read_text(encoding="utf-8").splitlines()
        if json.loads(line)["document"] in FILES
    ]
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "document": ids[first["document"]]})
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    questions = load_questions(path)
    assert len(questions) >= 6

    out = tmp_path / "figures.json"
    result = run_eval(settings, "--questions", str(path), "--json", str(out), "--show-misses")
    assert result.exit_code == 0, result.output

    expected = asyncio.run(
        ranks_by_hand(
            settings,
            [(q.question, ids.get(q.document, q.document), q.page or 0) for q in questions],
        )
    )
    figures = json.loads(out.read_text())
    assert figures["store"] == "pgvector"
    assert figures["questions"] == len(questions)
    printed = result.stdout.splitlines()
    assert printed[0] == f"{len(questions)} questions, top 10, store pgvector"
    for mode, ranks in expected.items():
        scores = Scores.of(ranks)
        assert figures["modes"][mode]["ranks"] == ranks
        assert figures["modes"][mode]["MRR@10"] == round(scores.mrr_at_10, 4)
        row = next(line for line in printed if line.startswith(f"{mode} "))
        n, *cells = row.split()[1:]
        assert int(n) == len(questions)
        assert [float(c) for c in cells] == [
            round(x, 3)
            for x in (scores.hit_at_1, scores.hit_at_5, scores.mrr_at_10, scores.ndcg_at_10)
        ]
        misses = next(line for line in printed if line.startswith(f"{mode}: "))
        assert misses == f"{mode}: {ranks.count(None)} not in the first 10"
    # The small files answer most of their questions first in at least one mode.
    assert max(figures["modes"][m]["hit@1"] for m in figures["modes"]) >= 0.5


def test_one_mode_and_a_shorter_top_k(
    corpus: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    settings, _ = corpus
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"question": "How much was the district director Matthew Bain paid?", '
        '"document": "senate-expenditures.pdf", "page": 1, "span": "37,499.96"}\n'
    )
    result = run_eval(settings, "--questions", str(path), "--mode", "vector", "--top-k", "3")
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert rows[0] == "1 questions, top 3, store pgvector"
    assert [row.split()[0] for row in rows[1:]] == ["mode", "vector"]
    assert re.fullmatch(r"vector +1( +[01]\.\d{3}){4}", rows[2])


def test_unknown_documents_are_named_before_any_search(
    corpus: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    settings, _ = corpus
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"question": "a", "document": "senate-expenditures.pdf"}\n'
        '{"question": "b", "document": "no-such.pdf", "page": 2}\n'
        '{"question": "c", "document": "no-such.pdf"}\n'
        '{"question": "d", "document": "deadbeef"}\n'
    )
    result = run_eval(settings, "--questions", str(path))
    assert result.exit_code == 1
    assert "no document 'no-such.pdf' (line 2, 3)" in result.output
    assert "no document 'deadbeef' (line 4)" in result.output
    assert "hit@1" not in result.output


def test_a_malformed_question_file_is_refused(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", data_dir=tmp_path)
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a", "document": "x.pdf", "page": "one"}\n')
    result = run_eval(settings, "--questions", str(path))
    assert result.exit_code == 1
    assert "line 1: non-integer page 'one'" in result.output

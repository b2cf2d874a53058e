"""The extractive answer's cost and agreement, on the corpus PDFs and the questions of
benchmarks/eval/corpus-pdf.jsonl, through the service's ``ask`` in one process:

- every candidate sentence embedded on each ask (before issue 22's work);
- the best ``SEMANTIC_CANDIDATES`` sentences embedded on each ask;
- the same with the sentence-vector cache (``RAG_ANSWER_SENTENCE_CACHE``, the default):
  its first round is reported apart (cold: sentences met for the first time, though a
  chunk retrieved by an earlier question is already known) from the later ones (warm).

The variants alternate question by question on the same store and embedder, so load on a
shared machine hits them alike. Prints p50/p95 of ``ask`` (search included), texts embedded
per ask, the ratios, the load average, and how often each answers as the first does (same
grounded flag, same first cited sentence, same set of cited sentences); writes
benchmarks/results/extractive_answer.json.

With ``--onnxruntime``, one more variant answers as the default (cached) one does with a
second copy of the model on ONNX Runtime (``RAG_EMBED_RUNTIME=onnxruntime``), the engine
before OpenVINO became the default, for a same-run ratio between the two engines.

    .venv/bin/python benchmarks/extractive_answer.py [--rounds 3] [--candidates 8,6] [--onnxruntime]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run_record import machine, percentile
from rag_app.answerers.base import Answerer
from rag_app.answerers.extractive import SEMANTIC_CANDIDATES, ExtractiveAnswerer
from rag_app.domain import Answer, JobStatus
from rag_app.embedders.memo import MemoEmbedder
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.embedders.shared import SharedEmbedder
from rag_app.evaluation.questions import load_questions
from rag_app.ingest.service import Upload
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.retrieval import QueryService
from rag_app.services import open_services
from rag_app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
QUESTIONS = ROOT / "benchmarks" / "eval" / "corpus-pdf.jsonl"
RESULTS = ROOT / "benchmarks" / "results"
EVERY_SENTENCE = 1_000_000
CACHED = f"{SEMANTIC_CANDIDATES} sentences + sentence cache"


def _quotes(answer: Answer) -> list[str]:
    return [" ".join(c.quote.split()) for c in answer.citations]


ON_ONNXRUNTIME = f"{CACHED}, on onnxruntime"


async def run(
    root: Path, rounds: int, candidate_counts: tuple[int, ...] = (), onnxruntime: bool = False
) -> dict[str, Any]:
    cluster = EmbeddedPostgres(root / "pg")
    url = cluster.start().url
    try:
        settings = Settings(database_url=url, data_dir=root / "data", ocr="off", transcriber="off")
        async with open_services(settings, run_jobs=False) as services:
            for pdf in sorted(CORPUS.glob("*.pdf")):
                submission = await services.ingestion.submit(Upload(pdf.name, pdf.read_bytes()))
                await services.ingestion.run_job(submission.job_id)
                job = await services.catalog.get_job(submission.job_id)
                if job is None or job.status is not JobStatus.SUCCEEDED:
                    print(f"  {pdf.name}: not ingested ({job and job.error}); skipped")

            def extractive(embedder: Any, candidates: int) -> ExtractiveAnswerer:
                return ExtractiveAnswerer(
                    embedder,
                    min_score=settings.answer_min_score,
                    max_sentences=settings.answer_max_sentences,
                    semantic_candidates=candidates,
                )

            def memo(embedder: Any = None) -> MemoEmbedder:  # one cache per variant
                return MemoEmbedder(
                    embedder or services.embedder, capacity=settings.answer_sentence_cache
                )

            # The same model on ONNX Runtime, shared and batched as the service's is.
            other = (
                SharedEmbedder(
                    MiniLmOnnxEmbedder(
                        batch_size=settings.embed_batch_size,
                        threads=settings.embed_threads or os.cpu_count() or 1,
                        runtime="onnxruntime",
                    ),
                    window_seconds=settings.embed_batch_window_ms / 1000,
                    max_batch=settings.embed_batch_size,
                ).for_queries()
                if onnxruntime
                else None
            )

            answerers: dict[str, Answerer] = {
                "every candidate sentence": extractive(services.embedder, EVERY_SENTENCE),
                f"{SEMANTIC_CANDIDATES} sentences": extractive(
                    services.embedder, SEMANTIC_CANDIDATES
                ),
                CACHED: extractive(memo(), SEMANTIC_CANDIDATES),
                **{
                    f"{n} sentences + sentence cache": extractive(memo(), n)
                    for n in candidate_counts
                },
                **({ON_ONNXRUNTIME: extractive(memo(other), SEMANTIC_CANDIDATES)} if other else {}),
            }
            services_of = {
                name: QueryService(
                    store=services.store,
                    embedder=services.embedder,
                    answerer=answerer,
                    max_query_chars=settings.max_query_chars,
                    fusion=settings.hybrid_fusion,
                    vector_weight=settings.hybrid_vector_weight,
                )
                for name, answerer in answerers.items()
            }
            questions = [q.question for q in load_questions(QUESTIONS)]
            totals: dict[str, list[float]] = {}
            embedded: dict[str, list[int]] = {}
            answers: dict[str, dict[str, Answer]] = {name: {} for name in answerers}
            counted = [0]

            def count_texts(embedder: Any) -> None:
                """Adds the texts ``embedder`` embeds to ``counted``."""
                original = embedder.embed_batch

                async def counting(texts: Any) -> Any:
                    counted[0] += len(texts)
                    return await original(texts)

                embedder.embed_batch = counting

            count_texts(services.embedder)
            if other is not None:
                count_texts(other)
            top_k = 5
            for round_ in range(rounds):
                for question in questions:
                    for name, queries in services_of.items():
                        counted[0] = 0
                        t = time.perf_counter()
                        answer = await queries.ask(question, top_k=top_k, filters={})
                        key = f"{name}, {'first round' if round_ == 0 else 'later rounds'}"
                        totals.setdefault(key, []).append((time.perf_counter() - t) * 1000)
                        embedded.setdefault(key, []).append(counted[0])
                        answers[name][question] = answer
    finally:
        cluster.stop()
    first = next(iter(answerers))
    agreement: dict[str, dict[str, str]] = {}
    for name in list(answerers)[1:]:
        same_grounded = same_first = same_set = 0
        for q in questions:
            a, b = answers[first][q], answers[name][q]
            same_grounded += a.grounded == b.grounded
            same_first += _quotes(a)[:1] == _quotes(b)[:1]
            same_set += set(_quotes(a)) == set(_quotes(b))
        agreement[name] = {
            "same_grounded": f"{same_grounded}/{len(questions)}",
            "same_first_cited_sentence": f"{same_first}/{len(questions)}",
            "same_cited_sentences": f"{same_set}/{len(questions)}",
        }

    def stats(values: list[float]) -> dict[str, float]:
        return {
            "p50": round(statistics.median(values), 1),
            "p95": round(percentile(values, 0.95), 1),
        }

    figures: dict[str, dict[str, Any]] = {
        key: {
            "ask_ms": stats(values),
            "texts_embedded_per_answer_mean": round(statistics.mean(embedded[key]), 1),
        }
        for key, values in totals.items()
    }
    base = figures[f"{first}, first round"]["ask_ms"]["p50"]
    return {
        "questions": len(questions),
        "rounds": rounds,
        "top_k": top_k,
        "figures": figures,
        "ask_p50_over_every_sentence_first_round": {
            key: round(f["ask_ms"]["p50"] / base, 3) for key, f in figures.items()
        },
        "agreement_with_every_sentence": agreement,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--candidates",
        type=lambda text: tuple(int(n) for n in text.split(",") if n),
        default=(),
        help="also measure these counts of embedded sentences, with the cache (e.g. 8,6)",
    )
    parser.add_argument(
        "--onnxruntime",
        action="store_true",
        help="also answer with the model on ONNX Runtime (the engine before OpenVINO)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rag-answer-"))
    root.chmod(0o755)  # as root, the embedded PostgreSQL's own user must reach it
    at_start = machine()
    try:
        found = asyncio.run(run(root, args.rounds, args.candidates, args.onnxruntime))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for name, f in found["figures"].items():
        print(
            f"{name:<58} ask p50 {f['ask_ms']['p50']:7.1f} ms  p95 {f['ask_ms']['p95']:7.1f} ms"
            f"  texts embedded {f['texts_embedded_per_answer_mean']:5.1f}"
            f"  ratio {found['ask_p50_over_every_sentence_first_round'][name]:.3f}"
        )
    print("agreement with every sentence:", found["agreement_with_every_sentence"])
    report = {"machine": at_start, **found, "load_average_at_end": os.getloadavg()}
    print(
        f"load average at start {report['machine']['load_average_at_start']}, at end "
        f"{[round(x, 2) for x in report['load_average_at_end']]}"
    )
    out = RESULTS / "extractive_answer.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

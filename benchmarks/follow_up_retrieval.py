"""Follow-up retrieval with and without rewriting, over the two-turn evaluation set
(benchmarks/eval/conversations-pdf.jsonl) on the corpus PDFs.

For each conversation the first question is asked through the conversations service,
then the follow-up; the follow-up's page is looked for in the top 10 of a search for
(a) the follow-up alone and (b) the query the service rewrote it into. Two runs:

- local: the extractive answerer and the deterministic local rewrite;
- bedrock-double: answers and the rewrite call through the local Bedrock double, whose
  rewrite replies are scripted with each conversation's standalone form (this checks the
  plumbing of the Bedrock path, not a model's quality).

    .venv/bin/python benchmarks/follow_up_retrieval.py   # results/follow_up_retrieval.json
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run_record import machine  # noqa: E402
from rag_app.auth.principal import LOCAL_OPERATOR  # noqa: E402
from rag_app.conversations.records import Turn  # noqa: E402
from rag_app.evaluation.conversations import Ranked, TwoTurns, load_conversations  # noqa: E402
from rag_app.evaluation.metrics import first_relevant_rank, hit_rate, mrr  # noqa: E402
from rag_app.ingest.service import Upload  # noqa: E402
from rag_app.postgres.embedded import EmbeddedPostgres  # noqa: E402
from rag_app.services import Services, open_services  # noqa: E402
from rag_app.settings import Settings  # noqa: E402
from rag_app_dev.bedrock_local import LocalBedrock  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
SET = ROOT / "benchmarks" / "eval" / "conversations-pdf.jsonl"
RESULTS = ROOT / "benchmarks" / "results"


async def _answered(services: Services, question: str, conversation_id: str | None) -> Turn:
    pending = await services.conversations.ask(
        LOCAL_OPERATOR, question, conversation_id=conversation_id
    )
    async for event in pending.events:
        if isinstance(event, Turn):
            return event
    raise RuntimeError("no answer")


async def _rank(services: Services, query: str, document_id: str, page: int) -> int | None:
    hits = await services.queries.search(query, top_k=10, filters={})
    return first_relevant_rank(
        (h.chunk.document_id, h.chunk.page) == (document_id, page) for h in hits
    )


async def run(
    settings: Settings, conversations: list[TwoTurns], bedrock: LocalBedrock | None
) -> list[Ranked]:
    async with open_services(settings, run_jobs=False) as services:
        ids: dict[str, str] = {}
        for pdf in sorted(CORPUS.glob("*.pdf")):
            submission = await services.ingestion.submit(Upload(pdf.name, pdf.read_bytes()))
            await services.ingestion.run_job(submission.job_id)
            ids[pdf.name] = submission.document_id
        ranked = []
        for c in conversations:
            first = await _answered(services, c.first, None)
            if bedrock is not None:
                bedrock.converse_replies.append(c.standalone)
            follow_up = await _answered(services, c.follow_up, first.conversation_id)
            if bedrock is not None and follow_up.rewritten_query != c.standalone:
                raise AssertionError(f"the scripted rewrite did not arrive: {follow_up}")
            document_id = ids[c.document]
            ranked.append(
                Ranked(
                    alone=await _rank(services, c.follow_up, document_id, c.page),
                    rewritten=await _rank(services, follow_up.rewritten_query, document_id, c.page),
                    rewritten_query=follow_up.rewritten_query,
                )
            )
        return ranked


def _scores(ranked: list[Ranked]) -> dict[str, Any]:
    alone = [r.alone for r in ranked]
    rewritten = [r.rewritten for r in ranked]
    return {
        "conversations": len(ranked),
        "alone": {"hit@5": round(hit_rate(alone, 5), 3), "mrr@10": round(mrr(alone), 3)},
        "rewritten": {
            "hit@5": round(hit_rate(rewritten, 5), 3),
            "mrr@10": round(mrr(rewritten), 3),
        },
        "ranks": [
            {"alone": r.alone, "rewritten": r.rewritten, "query": r.rewritten_query} for r in ranked
        ],
    }


async def main() -> None:
    conversations = load_conversations(SET)
    report: dict[str, Any] = {"machine": machine(), "set": SET.name}
    with tempfile.TemporaryDirectory(prefix="follow-up-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # noqa: ASYNC240 - once, before anything runs
        cluster = EmbeddedPostgres(root / "postgres")
        url = cluster.start().url
        try:
            base = url.rsplit("/", 1)[0]
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE DATABASE local_run")
                conn.execute("CREATE DATABASE bedrock_run")
            local = Settings(database_url=f"{base}/local_run", data_dir=root / "local", ocr="off")
            report["local"] = _scores(await run(local, conversations, None))
            with LocalBedrock() as bedrock:
                os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = bedrock.endpoint_url
                for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                    os.environ.setdefault(name, "test")
                os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
                double = Settings(
                    database_url=f"{base}/bedrock_run",
                    data_dir=root / "bedrock",
                    answerer="bedrock",
                    ocr="off",
                )
                report["bedrock_double"] = _scores(await run(double, conversations, bedrock))
        finally:
            cluster.stop()
    for name in ("local", "bedrock_double"):
        scores = report[name]
        print(
            f"{name:15s} follow-up alone: hit@5 {scores['alone']['hit@5']:.3f} "
            f"MRR@10 {scores['alone']['mrr@10']:.3f}   rewritten: hit@5 "
            f"{scores['rewritten']['hit@5']:.3f} MRR@10 {scores['rewritten']['mrr@10']:.3f}"
            f"   ({scores['conversations']} conversations)"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "follow_up_retrieval.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(main())

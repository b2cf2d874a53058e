"""Migration throughput from a langchaingo-shaped source: rows/s and the share of the time
spent embedding, `rag-app migrate from-postgres --schema langchaingo` as a user runs it.

The source is the tests' langchaingo fixture over every corpus PDF (real text split
512/100, 1536-d stand-in vectors, shuffled rows, random UUIDs) in an embedded PostgreSQL
of its own; the target is pgvector in another database of that cluster, the local MiniLM.

    python -m benchmarks.migrate_langchaingo [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run_record import machine, write_json  # noqa: E402
from rag_app.cli import main as cli  # noqa: E402
from rag_app.postgres.embedded import EmbeddedPostgres  # noqa: E402
from tests.support.langchain_sources import MIGRATED, create_langchain_source  # noqa: E402

COMMAND = ["migrate", "from-postgres", "--schema", "langchaingo"]
REPORT = re.compile(
    r"time:\s+([\d,.]+) s this session, ([\d,]+) rows \(([\d,]+) rows/s\), (\d+)% of it embedding"
)


def database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def run(rounds: int) -> dict[str, object]:
    results = []
    with tempfile.TemporaryDirectory() as root:
        Path(root).chmod(0o755)  # as root, the embedded PostgreSQL's own user must reach it
        cluster = EmbeddedPostgres(Path(root) / "pg")
        server = cluster.start().url
        try:
            source = create_langchain_source(database(server, "source"), "langchaingo")
            for n in range(rounds):
                target = database(server, f"target_{n}")
                env = {
                    "MIGRATE_SOURCE_URL": source.url,
                    "RAG_DATABASE_URL": target,
                    "RAG_DATA_DIR": str(Path(root) / f"data_{n}"),
                }
                began = time.monotonic()
                result = CliRunner().invoke(
                    cli,
                    [*COMMAND, "--source-collection", MIGRATED],
                    env=env,
                )
                wall = time.monotonic() - began
                if result.exit_code != 0:
                    raise SystemExit(result.output)
                match = REPORT.search(result.stdout)
                assert match, result.stdout
                seconds, rows, rate, share = match.groups()
                results.append(
                    {
                        "rows": int(rows.replace(",", "")),
                        "seconds": float(seconds.replace(",", "")),
                        "rows_per_second": float(rate.replace(",", "")),
                        "embedding_share": int(share) / 100,
                        "wall_seconds_with_start_up": round(wall, 2),
                    }
                )
                print(json.dumps(results[-1]))
        finally:
            cluster.stop()
    return {"machine": machine(), "source": "langchaingo fixture, all corpus PDFs", "runs": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args()
    record = run(1 if args.quick else args.rounds)
    path = write_json("migrate_langchaingo.json", record, quick=args.quick)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

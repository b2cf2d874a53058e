"""Retrieval quality per store and search mode on two evaluation sets, through the service.

- ``spdx``: the full licence texts of the npm package spdx-license-list 6.12.0 (CC0), fetched
  with ``npm pack`` into benchmarks/.cache/ and checked against the registry's sha512
  integrity. Licences whose texts are identical (whitespace aside) are one document. The
  service ingests PDFs and media only, so each text becomes a PDF (fpdf2, DejaVu Sans) named
  and titled neutrally (``licence-0042.pdf``, so neither leaks the answer); the question is
  the licence's name, the answer that document (known item). A name shared by documents
  with different texts is dropped.
- ``corpus-pdf``: benchmarks/eval/corpus-pdf.jsonl, hand-written questions with pages over
  ../shared/corpus/pdf/.
- ``paraphrase-pdf``: benchmarks/eval/paraphrase-pdf.jsonl, questions over the same PDFs
  that paraphrase a passage without its distinctive words (at most one content word
  shared with its span); run alone, written to retrieval_paraphrase.json.

Each set is ingested through the service into its own fresh database on embedded PostgreSQL
+ pgvector (the local model's vectors kept across runs by benchmarks/cached_embedder.py: a
second run of the full SPDX set embeds nothing), then copied with ``rag-app migrate copy``'s
code into a bucket of the local S3 Vectors server (the same chunks and vectors, not embedded
twice); on each store ``rag-app eval``'s harness scores hybrid, vector and keyword search.
Prints a table per store and set and writes benchmarks/results/retrieval_quality.json, with
the ratio hybrid MRR@10 / the better of vector and keyword MRR@10 (the issue's goal: >=
1.05).

    .venv/bin/python -m benchmarks.spdx_eval [--quick] [--sets spdx,corpus-pdf]
        [--stores pgvector,s3vectors] [--chunk-size N --chunk-overlap N] [--sweep]
        [--fusions] [--store-fusions native,rrf]

``--quick``: 60 licences of at most 2,500 characters, results under
benchmarks/results/quick/. ``--sweep``: every chunk size in {500, 800, 1000, 1500} x overlap
in {0, 150} on the chosen sets and stores (default corpus-pdf on pgvector), written to
retrieval_sweep.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console

from benchmarks import fusion_candidates, fusion_sweep
from benchmarks.cached_embedder import CachedEmbedder
from rag_app import __version__
from rag_app.domain import JobStatus, SearchMode
from rag_app.embedders.base import Embedder
from rag_app.embedders.minilm_onnx import MiniLmOnnxEmbedder
from rag_app.evaluation.harness import Evaluation, evaluate
from rag_app.evaluation.questions import Question, load_questions
from rag_app.ingest.service import Upload
from rag_app.migration.commands import run_copy
from rag_app.postgres.embedded import EmbeddedPostgres
from rag_app.services import open_services
from rag_app.settings import Settings
from rag_app_dev.s3vectors_local import LocalS3Vectors

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"
CORPUS_QUESTIONS = ROOT / "benchmarks" / "eval" / "corpus-pdf.jsonl"
# Questions that paraphrase a passage without its distinctive words, over the same PDFs.
PARAPHRASE_QUESTIONS = ROOT / "benchmarks" / "eval" / "paraphrase-pdf.jsonl"
CACHE = ROOT / "benchmarks" / ".cache"
RESULTS = ROOT / "benchmarks" / "results"

SPDX_PACKAGE = "spdx-license-list@6.12.0"
# `npm view spdx-license-list@6.12.0 dist.integrity`
SPDX_INTEGRITY = "sha512-+nUYqm3aZMSHbjsthK+i/HHI2okTElCvqwUd4k8QcSk+FTGgjq+fsdFj2wZOaX6XmR2JdWhf/NeflNnvKOjcnQ=="  # noqa: E501
QUICK_LICENCES = 60
QUICK_MAX_CHARS = 2500
SETS = ("spdx", "corpus-pdf", "paraphrase-pdf")
STORES = ("pgvector", "s3vectors")
SWEEP_SIZES = (500, 800, 1000, 1500)
SWEEP_OVERLAPS = (0, 150)


@dataclass(frozen=True, slots=True)
class File:
    filename: str
    title: str
    data: bytes


@dataclass(frozen=True, slots=True)
class EvalSet:
    name: str
    files: list[File]
    questions: list[Question]
    about: dict[str, Any]


def fetch_spdx() -> Path:
    """The package's tarball in benchmarks/.cache/, fetched once; its sha512 must match."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / "spdx-license-list-6.12.0.tgz"
    if not tarball.exists():
        subprocess.run(
            ["npm", "pack", SPDX_PACKAGE, "--pack-destination", str(CACHE)],
            check=True,
            capture_output=True,
        )
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if f"sha512-{digest}" != SPDX_INTEGRITY:
        tarball.unlink()
        raise SystemExit(f"{tarball.name}: sha512 differs from the registry's; deleted it")
    return tarball


def licence_texts(tarball: Path) -> dict[str, tuple[str, str]]:
    """Licence id -> (name, full text), from package/licenses/<id>.json."""
    licences = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if parts[:2] == ["package", "licenses"] and member.name.endswith(".json"):
                extracted = archive.extractfile(member)
                assert extracted is not None
                value = json.loads(extracted.read())
                licences[parts[2].removesuffix(".json")] = (value["name"], value["licenseText"])
    return licences


@cache
def _font() -> str:
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def as_pdf(text: str) -> bytes:
    """A text as a letter-size PDF (cached by content: fpdf2 takes ~0.1 s a document)."""
    path = CACHE / "spdx-pdf" / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.pdf"
    if path.exists():
        return path.read_bytes()
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.set_margins(25, 25)
    pdf.set_auto_page_break(True, 25)
    pdf.add_font("DejaVu", fname=_font())
    pdf.set_font("DejaVu", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 5, text)
    data = bytes(pdf.output())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def spdx_set(quick: bool) -> EvalSet:
    licences = licence_texts(fetch_spdx())
    groups: dict[str, list[str]] = {}
    for licence_id in sorted(licences):
        groups.setdefault(" ".join(licences[licence_id][1].split()), []).append(licence_id)
    texts = list(groups.items())
    if quick:  # short texts (few chunks to embed), spread over the alphabet
        texts = [t for t in texts if len(t[0]) <= QUICK_MAX_CHARS]
        texts = texts[:: max(1, len(texts) // QUICK_LICENCES)][:QUICK_LICENCES]
    files = []
    documents_of: dict[str, set[str]] = {}
    for n, (_, ids) in enumerate(texts, 1):
        filename = f"licence-{n:04d}.pdf"
        files.append(File(filename, f"licence {n:04d}", as_pdf(licences[ids[0]][1])))
        for licence_id in ids:
            documents_of.setdefault(licences[licence_id][0], set()).add(filename)
    ambiguous = sorted(name for name, docs in documents_of.items() if len(docs) > 1)
    questions = [
        Question(name, docs.pop(), line=n)
        for n, (name, docs) in enumerate(sorted(documents_of.items()), 1)
        if name not in ambiguous
    ]
    return EvalSet(
        "spdx",
        files,
        questions,
        {
            "package": SPDX_PACKAGE,
            "integrity": SPDX_INTEGRITY,
            "licences": len(licences),
            "unique_texts": len(groups),
            "documents": len(files),
            "questions": len(questions),
            "names_dropped_as_ambiguous": ambiguous,
            "route": "each text rendered to a PDF (fpdf2, DejaVu Sans 10 pt), uploaded as "
            "licence-NNNN.pdf titled 'licence NNNN'",
        },
    )


def corpus_set(name: str = "corpus-pdf") -> EvalSet:
    """A hand-written set over ../shared/corpus/pdf: ``corpus-pdf`` or ``paraphrase-pdf``."""
    path = PARAPHRASE_QUESTIONS if name == "paraphrase-pdf" else CORPUS_QUESTIONS
    questions = load_questions(path)
    files = [File(p.name, p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.pdf"))]
    return EvalSet(
        name,
        files,
        questions,
        {
            "questions": len(questions),
            "documents": len(files),
            "file": str(path.relative_to(ROOT)),
        },
    )


def fresh_database(server_url: str) -> str:
    name = f"eval_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def postgres_versions(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()
        vector = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = vector.fetchone()
    return {
        "postgresql": str(server[0] if server else "?"),
        "pgvector": str(row[0] if row else "?"),
    }


@cache
def cached_embedder() -> Embedder:
    """The service's local model (its default batch size and threads), its vectors kept
    in benchmarks/.cache/vectors/ across runs (benchmarks/cached_embedder.py)."""
    defaults = Settings()
    inner = MiniLmOnnxEmbedder(
        batch_size=defaults.embed_batch_size, threads=defaults.embed_threads or os.cpu_count() or 1
    )
    return CachedEmbedder(inner, CACHE / "vectors")


async def ingest(settings: Settings, eval_set: EvalSet) -> dict[str, float]:
    """Ingest the set's files through the service (each job to success) into a fresh store."""
    async with open_services(settings, run_jobs=False, embedder=cached_embedder()) as services:
        t = time.perf_counter()
        for f in eval_set.files:
            submission = await services.ingestion.submit(
                Upload(f.filename, f.data, title=f.title, collection=eval_set.name)
            )
            await services.ingestion.run_job(submission.job_id)
            job = await services.catalog.get_job(submission.job_id)
            if job is None or job.status is not JobStatus.SUCCEEDED:
                raise SystemExit(f"{f.filename}: ingestion failed: {job and job.error}")
        return {
            "chunks": await services.store.count({}),
            "ingest_seconds": round(time.perf_counter() - t, 1),
        }


async def copy_to_s3vectors(settings: Settings) -> dict[str, float]:
    """The same chunks and vectors, copied from pgvector by ``rag-app migrate copy``'s
    code (no re-embedding); the catalog is the pgvector run's."""
    t = time.perf_counter()
    await run_copy(
        settings,
        from_store="pgvector",
        from_database_url=None,
        from_bucket=None,
        from_model=None,
        from_dimension=None,
        restart=False,
        console=Console(file=io.StringIO()),
    )
    async with open_services(settings, run_jobs=False) as services:
        chunks = await services.store.count({})
    return {"chunks": chunks, "copy_seconds": round(time.perf_counter() - t, 1)}


async def score(
    settings: Settings,
    eval_set: EvalSet,
    modes: list[SearchMode] | None = None,
    *,
    fusions: Path | None = None,
    store: str = "pgvector",
) -> tuple[Evaluation, float, dict[str, Any] | None]:
    """``rag-app eval``'s harness in ``modes`` (default: every mode); with ``fusions`` (a
    folder), also every fusion of benchmarks/fusion_sweep.py over the same candidates, the
    candidate lists kept in that folder as ``<set>-<store>.json``."""
    async with open_services(settings, run_jobs=False, embedder=cached_embedder()) as services:
        t = time.perf_counter()
        result = await evaluate(
            services.queries, services.catalog, eval_set.questions, modes=modes or list(SearchMode)
        )
        seconds = round(time.perf_counter() - t, 1)
        swept = None
        if fusions is not None:
            dump = fusions / f"{eval_set.name}-{store}.json"
            swept = await fusion_sweep.sweep(
                services.store,
                services.embedder,
                services.catalog,
                eval_set.questions,
                dump=(dump, eval_set.name, store),
            )
        return result, seconds, swept


def summary(result: Evaluation) -> dict[str, Any]:
    figures = result.figures()["modes"]
    best_single = max(figures["vector"]["MRR@10"], figures["keyword"]["MRR@10"])
    ratio = figures["hybrid"]["MRR@10"] / best_single if best_single else None
    return {
        **{mode: {k: v for k, v in f.items() if k != "ranks"} for mode, f in figures.items()},
        "hybrid_mrr_over_best_single": None if ratio is None else round(ratio, 3),
        "ranks": {mode: f["ranks"] for mode, f in figures.items()},
    }


async def run(
    sets: list[EvalSet],
    stores: list[str],
    chunks: list[tuple[int, int]],
    root: Path,
    *,
    fusions: Path | None = None,
    store_fusions: list[str] | None = None,
) -> dict[str, Any]:
    cluster = EmbeddedPostgres(root / "pg")
    server_url = cluster.start().url
    results: dict[str, Any] = {}
    versions: dict[str, str] = {}
    try:
        with LocalS3Vectors() as s3vectors:
            os.environ.update(
                AWS_ENDPOINT_URL_S3VECTORS=s3vectors.endpoint_url,
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench",
                AWS_DEFAULT_REGION="us-east-1",
            )
            for size, overlap in chunks:
                key = f"{size}/{overlap}" if len(chunks) > 1 else None
                for eval_set in sets:
                    url = fresh_database(server_url)
                    pgvector = Settings(
                        database_url=url,
                        data_dir=root / uuid.uuid4().hex,
                        chunk_size=size,
                        chunk_overlap=overlap,
                        ocr="off",
                        transcriber="off",
                    )
                    cost = await ingest(pgvector, eval_set)
                    versions = versions or postgres_versions(url)
                    for store in stores:
                        settings = pgvector
                        if store == "s3vectors":
                            settings = pgvector.model_copy(
                                update={
                                    "vector_store": "s3vectors",
                                    "s3vectors_bucket": f"eval-{uuid.uuid4().hex[:12]}",
                                }
                            )
                            cost = await copy_to_s3vectors(settings)
                        result, eval_s, swept = await score(
                            settings, eval_set, fusions=fusions, store=store
                        )
                        found = {**summary(result), **cost, "eval_seconds": eval_s}
                        if swept is not None:
                            found["fusion_sweep"] = swept
                        print(f"\n{eval_set.name} on {store}" + (f", chunks {key}" if key else ""))
                        print("\n".join(result.table()))
                        print(
                            f"hybrid MRR@10 / best single: {found['hybrid_mrr_over_best_single']}"
                        )
                        if swept is not None:
                            print("\n".join(fusion_sweep.table(swept)))
                        place = results.setdefault(key, {}) if key else results
                        place.setdefault(store, {})[eval_set.name] = found
                        for fusion in store_fusions or [] if store == "s3vectors" else []:
                            # Hybrid only, fused another way (native: S3 Vectors' own RRF).
                            other = settings.model_copy(update={"hybrid_fusion": fusion})
                            result, eval_s, _ = await score(other, eval_set, [SearchMode.HYBRID])
                            figures = result.figures()["modes"]["hybrid"]
                            print(f"{eval_set.name} on {store}, fusion {fusion}")
                            print("\n".join(result.table()))
                            place.setdefault(f"{store}[{fusion}]", {})[eval_set.name] = {
                                "hybrid": {k: v for k, v in figures.items() if k != "ranks"},
                                "eval_seconds": eval_s,
                            }
    finally:
        cluster.stop()
    return {"versions": versions, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_LICENCES} licences")
    parser.add_argument("--sets", default=None, help="comma-separated: spdx,corpus-pdf")
    parser.add_argument("--stores", default=None, help="comma-separated: pgvector,s3vectors")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--chunk-overlap", type=int, default=None)
    parser.add_argument("--sweep", action="store_true", help="chunk size x overlap grid")
    parser.add_argument(
        "--fusions",
        action="store_true",
        help="also every fusion of fusion_sweep.py; each set's candidate lists are kept in "
        "benchmarks/.cache/fusion-candidates/ (-quick/ with --quick) for fusion_choice.py",
    )
    parser.add_argument(
        "--store-fusions",
        default="",
        help="comma-separated hybrid fusions to score too on S3 Vectors (rrf, native), "
        "besides the configured one",
    )
    parser.add_argument("--out", default=None, help="result file name (default by the sets)")
    args = parser.parse_args()
    defaults = Settings()
    sets_named = (args.sets or ("corpus-pdf" if args.sweep else ",".join(SETS))).split(",")
    stores = (args.stores or ("pgvector" if args.sweep else ",".join(STORES))).split(",")
    if not set(sets_named) <= set(SETS) or not set(stores) <= set(STORES):
        parser.error(f"sets are {SETS}, stores {STORES}")
    if args.sweep:
        chunks = [(s, o) for s in SWEEP_SIZES for o in SWEEP_OVERLAPS]
    else:
        chunks = [
            (
                args.chunk_size or defaults.chunk_size,
                defaults.chunk_overlap if args.chunk_overlap is None else args.chunk_overlap,
            )
        ]
    store_fusions = [f for f in args.store_fusions.split(",") if f]
    # A quick run's lists are kept apart: benchmarks/fusion_choice.py reads the full ones.
    candidates = None
    if args.fusions:
        candidates = CACHE / (fusion_candidates.FOLDER + ("-quick" if args.quick else ""))
    t = time.perf_counter()
    sets = [spdx_set(args.quick) if name == "spdx" else corpus_set(name) for name in sets_named]
    root = Path(tempfile.mkdtemp(prefix="rag-eval-"))
    root.chmod(0o755)  # as root, the embedded PostgreSQL's own user must reach it
    try:
        found = asyncio.run(
            run(sets, stores, chunks, root, fusions=candidates, store_fusions=store_fusions)
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    import boto3
    import fpdf

    report = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
        },
        "versions": {
            "rag_app": __version__,
            **found["versions"],
            "python": platform.python_version(),
            "boto3": boto3.__version__,
            "fpdf2": fpdf.__version__,
        },
        "parameters": {
            "quick": args.quick,
            "chunk_size/overlap": [list(c) for c in chunks],
            "top_k": 10,
            "embedder": "all-MiniLM-L6-v2 int8 ONNX (local), vectors cached across runs in "
            "benchmarks/.cache/vectors/",
            "s3vectors": "the project's local S3 Vectors server (exact search), chunks and "
            "vectors copied from the pgvector run (migrate copy)",
            "pgvector": f"HNSW, ef_search {defaults.hnsw_ef_search}",
            "hybrid": f"{defaults.hybrid_fusion}, vector weight {defaults.hybrid_vector_weight}",
            "sets": {s.name: s.about for s in sets},
        },
        "results": found["results"],
        "seconds": round(time.perf_counter() - t, 1),
    }
    out_dir = RESULTS / "quick" if args.quick else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "retrieval_sweep" if args.sweep else "retrieval_quality"
    if sets_named == ["paraphrase-pdf"]:  # its own file: the full run's stays whole
        name = "retrieval_paraphrase"
    out = out_dir / (f"{name}_fusions.json" if store_fusions else f"{name}.json")
    if args.out:
        out = out_dir / args.out
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)} in {report['seconds']} s")


if __name__ == "__main__":
    main()

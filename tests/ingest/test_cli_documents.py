"""`rag-app ingest`, `documents` and `jobs` from the shell, on the embedded PostgreSQL: every
type the API takes (PDF, transcript) with --title, --metadata and --collection; listing,
showing and deleting through the same DocumentService as the API; and bad input answered
with a clear message and a failing exit code, nothing half-done."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rag_app import __version__
from rag_app.cli import main
from tests.conftest import CORPUS

PDF = CORPUS / "pdf" / "scotus-transcript-p1.pdf"
VTT = b"""WEBVTT

00:00:01.000 --> 00:00:04.000
<v Judge>The hearing on the lease dispute is now in session.

00:00:05.000 --> 00:00:09.000
<v Counsel>The tenant paid the late fee of seventy-five dollars in March.
"""


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"RAG_DATABASE_URL": database_url, "RAG_DATA_DIR": str(tmp_path / "data")}


def rag(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_version_names_the_release() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_a_folder_of_pdfs_and_transcripts_is_ingested_listed_searched_and_deleted(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(PDF, folder / PDF.name)
    (folder / "hearing.vtt").write_bytes(VTT)
    (folder / "notes.txt").write_text("not ingested: not a type the API takes")
    ingested = rag(
        env, "ingest", str(folder), "--collection", "court", "--metadata", '{"year": 2024}'
    )
    assert ingested.exit_code == 0, ingested.output
    assert len(re.findall(r"^ingested ", ingested.output, re.MULTILINE)) == 2
    assert "notes.txt" not in ingested.output

    listed = rag(env, "documents", "list", "--collection", "court")
    assert listed.exit_code == 0, listed.output
    ids = [line.split()[0] for line in listed.output.splitlines() if "ready" in line]
    assert len(ids) == 2
    assert "1-2 of 2 document(s)" in listed.output
    assert rag(env, "documents", "list", "--collection", "other").output.count("ready") == 0

    vtt_id = next(line.split()[0] for line in listed.output.splitlines() if "hearing" in line)
    for mode in ("keyword", "vector", "hybrid"):
        found = rag(env, "search", "late fee seventy-five", "--mode", mode, "--top-k", "1")
        assert found.exit_code == 0, found.output
        assert "hearing" in found.output, (mode, found.output)
    asked = rag(env, "ask", "What late fee did the tenant pay?", "--mode", "keyword", "--json")
    assert asked.exit_code in (0, 2), asked.output
    assert json.loads(asked.output)["citations"][0]["document_id"] == vtt_id

    jobs = rag(env, "jobs", "list")
    assert jobs.exit_code == 0
    assert "0 unfinished job(s)" in jobs.output

    deleted = rag(env, "documents", "delete", vtt_id)
    assert (deleted.exit_code, deleted.output.strip()) == (0, f"deleted {vtt_id}")
    assert vtt_id not in rag(env, "documents", "list").output
    again = rag(env, "documents", "delete", vtt_id)
    assert again.exit_code == 1
    assert f"no document '{vtt_id}'" in again.output


def test_title_and_metadata_are_recorded_and_a_job_can_be_shown(
    env: dict[str, str], tmp_path: Path
) -> None:
    ingested = rag(env, "ingest", str(PDF), "--title", "Oral argument", "--metadata", '{"a": 1}')
    assert ingested.exit_code == 0, ingested.output
    listed = rag(env, "documents", "list").output
    assert "Oral argument" in listed
    unknown = rag(env, "jobs", "show", "0" * 32)
    assert unknown.exit_code == 1
    assert "no job" in unknown.output
    hostile = rag(env, "jobs", "show", "x' OR '1'='1\x00")
    assert hostile.exit_code == 1
    assert "no job" in hostile.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metadata", "{not json"], "metadata is not valid JSON"),
        (["--metadata", "[1, 2]"], "metadata must be a JSON object"),
        (["--collection", "bad name!"], "collection"),
    ],
)
def test_bad_options_are_refused_clearly_and_nothing_is_stored(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = rag(env, "ingest", str(PDF), *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "none of 0 document(s)" in rag(env, "documents", "list").output


def test_bad_files_are_rejected_one_by_one_and_the_rest_still_ingest(
    env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"just text pretending to be a PDF\n" * 10)
    result = rag(env, "ingest", str(empty), str(fake), str(PDF))
    assert result.exit_code == 1
    assert re.search(r"^rejected .*empty\.pdf .*empty", result.output, re.MULTILINE)
    assert re.search(r"^rejected .*fake\.pdf .*not a PDF", result.output, re.MULTILINE)
    assert re.search(r"^ingested .*scotus", result.output, re.MULTILINE)


def test_usage_errors_name_the_problem(env: dict[str, str], tmp_path: Path) -> None:
    two_titles = rag(env, "ingest", str(PDF), str(PDF), "--title", "One")
    assert two_titles.exit_code == 2
    assert "--title names one document" in two_titles.output
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    none_found = rag(env, "ingest", str(nothing))
    assert none_found.exit_code == 1
    assert "no files to ingest" in none_found.output
    bad_mode = rag(env, "search", "rent", "--mode", "telepathy")
    assert bad_mode.exit_code == 2
    assert "telepathy" in bad_mode.output

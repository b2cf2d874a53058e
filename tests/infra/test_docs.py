"""The README and docs/ say what the code does: the README fits on a screen and its quick
start runs as written from the repository (a test extracts and runs it), every relative
link resolves, and docs/configuration.md is what ``Settings`` generates."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from rag_app.settings_reference import PAGE, reference
from tests.conftest import ROOT

README = ROOT / "README.md"
QUICKSTART = re.compile(
    r"<!-- quickstart:begin -->\n```bash\n(.*?)```\n<!-- quickstart:end -->", re.S
)


def test_the_configuration_page_is_generated_from_settings() -> None:
    assert PAGE.read_text() == reference(), (
        "docs/configuration.md is stale: python -m rag_app.settings_reference > "
        "docs/configuration.md"
    )


def test_the_readme_fits_on_a_screen_and_its_links_resolve() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


@pytest.mark.slow  # four CLI processes, each loading the model: minutes on a shared machine
def test_the_quick_start_runs_as_written(database_url: str, tmp_path: Path) -> None:
    (block,) = QUICKSTART.findall(README.read_text())
    commands = [line for line in block.splitlines() if line.strip()]
    assert any("samples/" in c for c in commands)  # a sample shipped in the repository
    env = {**os.environ, "RAG_DATA_DIR": str(tmp_path), "RAG_DATABASE_URL": database_url}
    outputs = []
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        outputs.append(done.stdout)
    ingest, search, ask, listed = outputs[1:]
    assert ingest.startswith("ingested")
    assert "AOA" in search
    assert "40 work-hours" in " ".join(ask.split())
    assert "FAA AD 2020-17221" in listed

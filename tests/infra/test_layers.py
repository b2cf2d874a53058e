"""The layering contracts (pyproject.toml, [tool.importlinter]) hold for the tree as it is,
and each one breaks when a violation of it is planted in a copy of the package: the check
in `make lint` can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# One violation per contract: (module to add, its source, the contract that must break).
PLANTED = [
    (
        "api/planted.py",
        "from rag_app.vectorstores.pgvector import PgVectorStore\n",
        "The API layer talks to domain services, not to stores, models or ingestion BROKEN",
    ),
    (
        "vectorstores/planted.py",
        "from rag_app.services import open_services\n",
        "Stores know nothing of the API, the services or the CLI BROKEN",
    ),
    (
        "ingest/planted.py",
        "from rag_app_dev.s3vectors_local import LocalS3Vectors\n",
        "Nothing in the runtime imports the local doubles BROKEN",
    ),
    (
        "documents/planted.py",
        "from litestar import Litestar\n",
        "Litestar is imported by the API layer only BROKEN",
    ),
]


def _lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_contracts_hold_and_each_planted_violation_breaks_its_contract(
    tmp_path: Path,
) -> None:
    kept = _lint(ROOT)
    assert kept.returncode == 0, kept.stdout[-3000:] + kept.stderr[-3000:]
    assert "4 kept, 0 broken" in kept.stdout

    copy = tmp_path / "src"
    shutil.copytree(
        ROOT / "rag_app", copy / "rag_app", ignore=shutil.ignore_patterns("__pycache__")
    )
    for path, source, _ in PLANTED:
        (copy / "rag_app" / path).write_text(source)
    broken = _lint(tmp_path, pythonpath=copy)
    assert broken.returncode != 0
    for _, _, contract in PLANTED:
        assert contract in broken.stdout, broken.stdout[-3000:]
    assert "0 kept, 4 broken" in broken.stdout

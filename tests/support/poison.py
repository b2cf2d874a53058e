"""A PDF reader that crashes on a marked file, for poison-message tests: ``install()``
swaps it in for the real one. It runs where the real reader runs (the isolated child
process, which imports this module by name), so the crash is a real SIGABRT of the real
child and everything after it is the production path. Other files read as normal."""

from __future__ import annotations

import os
import sys
from typing import Any

from rag_app.domain import PageText
from rag_app.ingest import extraction
from rag_app.ingest.pdf import extract_pages

MARKER = b"%POISON-FOR-TESTS"


def extract_pages_or_crash(data: bytes, **kwargs: Any) -> list[PageText]:
    if MARKER in data:
        os.abort()
    return extract_pages(data, **kwargs)


def poisoned(pdf: bytes) -> bytes:
    """A valid PDF that crashes the reader every time (a comment after its end)."""
    return pdf + b"\n" + MARKER + b"\n"


def install() -> None:
    extraction.extract_pages = extract_pages_or_crash  # type: ignore[assignment]


if __name__ == "__main__":  # `python -m tests.support.poison worker ...`: the CLI with it installed
    # By its module name, not __main__'s: the reader's child process imports it by name.
    from tests.support import poison

    poison.install()
    from rag_app.cli import main

    sys.argv[0] = "rag-app"
    main()

"""Parsers of untrusted files run in a limited child process: memory, CPU time and wall
time are capped, crashes are contained, and every hostile file fails alone, quickly."""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import time

import pytest

from rag_app.errors import RagError, UnprocessableDocumentError
from rag_app.ingest.isolation import ProcessLimits, run_isolated
from rag_app.ingest.pdf import extract_pages
from tests.conftest import FAA_PDF
from tests.support.hostile_pdfs import HOSTILE

LIMITS = ProcessLimits(memory_mb=512, cpu_seconds=10, wall_seconds=10)


def hog_memory() -> int:
    return len(bytearray(1024 * 1024 * 1024))


def spin() -> None:
    while True:
        pass


def hang() -> None:
    time.sleep(60)


def crash() -> None:
    ctypes.string_at(0)


def main_module_file() -> str | None:
    return getattr(sys.modules["__main__"], "__file__", None)


def test_the_child_runs_none_of_the_parents_main_module() -> None:
    """multiprocessing's spawn re-imported the parent's ``__main__`` (the whole service)
    for every file; the child imports only the parser it runs."""
    assert main_module_file() is not None  # pytest's own script, here
    assert run_isolated(main_module_file, limits=LIMITS) is None


def test_the_child_sees_none_of_the_parents_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "parent-only")
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "parent-only"
    assert run_isolated(os.getenv, "AWS_SECRET_ACCESS_KEY", limits=LIMITS) is None


def test_a_normal_pdf_reads_the_same_inside_the_limits() -> None:
    read = functools.partial(extract_pages, max_pages=100)
    assert run_isolated(read, FAA_PDF.read_bytes(), limits=LIMITS) == read(FAA_PDF.read_bytes())


@pytest.mark.parametrize(
    ("function", "limits", "message"),
    [
        (hog_memory, LIMITS, "needed more than 512 MB"),
        (spin, ProcessLimits(cpu_seconds=1, wall_seconds=20), "more than 1 s of CPU"),
        (hang, ProcessLimits(wall_seconds=1), "took longer than 1 s"),
        (crash, LIMITS, "crashed its reader (signal SIGSEGV)"),
    ],
)
def test_each_limit_stops_the_child_with_a_reason(
    function: object, limits: ProcessLimits, message: str
) -> None:
    start = time.monotonic()
    with pytest.raises(UnprocessableDocumentError) as caught:
        run_isolated(function, limits=limits)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert time.monotonic() - start < limits.wall_seconds + 5


def test_every_hostile_pdf_fails_alone_within_10_s_and_512_mb() -> None:
    """Each one is refused with a reason, or (where PDFium repairs it, as a viewer would)
    read; none takes the caller down or runs past the limits."""
    read = functools.partial(extract_pages, max_pages=2000)
    outcomes = {}
    for name, make in HOSTILE.items():
        data = make()
        start = time.monotonic()
        try:
            pages = run_isolated(read, data, limits=LIMITS)
            outcome = f"read: {len(pages)} page(s) repaired"
        except RagError as e:
            outcome = f"refused: {e}"
        took = time.monotonic() - start
        print(f"{name:24} {len(data):>9,} B  {took:5.2f} s  {outcome[:100]}")
        assert took < 10, name
        outcomes[name] = outcome
    assert len(outcomes) >= 12
    assert "encrypted" in outcomes["encrypted (corpus)"]
    assert "MB" in outcomes["decompression bomb"]  # the memory cap stopped it
    assert "not a PDF" in outcomes["a zip named .pdf"]
    # A page with no text layer is read as empty here; the extractor then OCRs it or fails
    # the job saying so (tests/ingest/test_scanned_pdfs.py).
    assert outcomes["no text layer"] == "read: 1 page(s) repaired"
    assert "page(s) repaired" not in outcomes["a billion pages claimed"]


def child_pid() -> int:
    return os.getpid()


def test_every_file_gets_a_fresh_child_started_before_it_was_needed() -> None:
    """A waiting child saves the start-up, never the isolation: no child reads two files."""
    from rag_app.ingest import isolation

    pids = [run_isolated(child_pid, limits=LIMITS) for _ in range(3)]
    assert len(set(pids)) == 3
    assert os.getpid() not in pids
    waiting = isolation._spares._waiting[(LIMITS, __name__)]
    assert waiting.poll() is None  # started, limits set, this module imported, blocked on stdin
    assert run_isolated(child_pid, limits=LIMITS) == waiting.pid


def pid_plus(offset: int) -> int:
    return os.getpid() + offset


def test_a_parser_given_as_a_partial_gets_its_own_module_preloaded() -> None:
    """``functools.partial(extract_pages, max_pages=...)`` is how the extractor calls the PDF
    parser; the waiting child must import the parser's module, not ``functools``."""
    from rag_app.ingest import isolation

    run_isolated(functools.partial(pid_plus, 0), limits=LIMITS)
    assert (LIMITS, __name__) in isolation._spares._waiting
    assert (LIMITS, "functools") not in isolation._spares._waiting


def chatty() -> int:
    print("a parser's own output, without a newline", end="")
    sys.stdout.write("and more")
    return 7


def test_a_parsers_own_output_neither_corrupts_nor_delays_its_answer() -> None:
    """The child exits without the interpreter's shutdown once its answer is sent."""
    assert run_isolated(chatty, limits=LIMITS) == 7


def test_a_waiting_child_that_died_is_replaced() -> None:
    from rag_app.ingest import isolation

    run_isolated(child_pid, limits=LIMITS)
    waiting = isolation._spares._waiting[(LIMITS, __name__)]
    waiting.kill()
    waiting.wait()
    pid = run_isolated(child_pid, limits=LIMITS)
    assert pid != waiting.pid

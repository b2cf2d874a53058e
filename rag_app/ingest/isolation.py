"""Run an untrusted-input parser in a child process with a memory cap (address space), a
CPU-time cap and a wall-clock timeout, so a decompression bomb, a malformed cross-reference
loop or a parser crash fails that one document and leaves the service serving.

The child is spawned (a fresh interpreter: no inherited threads, locks or event loop),
sets its limits before it touches the input, and sends back the result or the error over
a pipe. Whatever the child does (raises, runs out of memory, is killed by the CPU limit,
segfaults, hangs), the caller gets a result or an ``UnprocessableDocumentError`` saying
which limit it hit."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import resource
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rag_app.errors import RagError, UnprocessableDocumentError

T = TypeVar("T")
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProcessLimits:
    memory_mb: int = 512
    cpu_seconds: int = 30
    wall_seconds: float = 60.0


def _child(
    connection: multiprocessing.connection.Connection,
    limits: ProcessLimits,
    function: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    memory = limits.memory_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    try:
        connection.send(("ok", function(*args)))
    except MemoryError:
        connection.send(("memory", ""))
    except RagError as e:  # the parser's own readable verdict (encrypted, too many pages...)
        connection.send(("rag", e))
    except Exception as e:
        connection.send(("error", f"{type(e).__name__}: {e}"[:500]))
    finally:
        connection.close()


def run_isolated(function: Callable[..., T], *args: Any, limits: ProcessLimits) -> T:
    """``function(*args)`` in a limited child process; blocking (call it from a thread).
    ``function`` and its arguments must be importable and picklable."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(sender, limits, function, args), name="rag-isolated", daemon=True
    )
    started = time.monotonic()
    process.start()
    sender.close()
    try:
        if not receiver.poll(limits.wall_seconds):
            raise UnprocessableDocumentError(
                f"the file took longer than {limits.wall_seconds:.0f} s to read; it was stopped"
            )
        try:
            outcome, value = receiver.recv()
        except EOFError:  # the child died without a word: a signal (CPU limit, crash)
            process.join(5)
            raise UnprocessableDocumentError(_death(process.exitcode, limits)) from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receiver.close()
    if outcome == "ok":
        return value  # type: ignore[no-any-return]
    if outcome == "rag":
        raise value
    if outcome == "memory":
        raise UnprocessableDocumentError(
            f"reading the file needed more than {limits.memory_mb} MB; it was stopped"
        )
    elapsed = time.monotonic() - started
    raise UnprocessableDocumentError(f"the file could not be read ({value}; {elapsed:.1f} s)")


def _death(exitcode: int | None, limits: ProcessLimits) -> str:
    if exitcode is not None and exitcode < 0:
        signal_number = -exitcode
        if signal_number in (signal.SIGXCPU, signal.SIGKILL):
            return f"reading the file used more than {limits.cpu_seconds} s of CPU; it was stopped"
        name = signal.Signals(signal_number).name
        if signal_number == signal.SIGABRT:  # what PDFium does when an allocation fails
            return (
                f"the file crashed its reader (signal {name}; typically memory beyond the "
                f"{limits.memory_mb} MB limit)"
            )
        return f"the file crashed its reader (signal {name})"
    return f"the file's reader exited unexpectedly (code {exitcode})"

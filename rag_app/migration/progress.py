"""A progress bar with rate and ETA on stderr (rich), for the migration commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self._unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-" if speed is None else f"{speed:,.0f} {self._unit}/s")


@dataclass
class Bar:
    """``start(total, done)`` once the total is known, then ``advance(n)``."""

    progress: Progress
    task: TaskID

    def start(self, total: int, done: int) -> None:
        self.progress.update(self.task, total=total, completed=done)

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)


@contextmanager
def progress_bar(description: str, unit: str, console: Console) -> Iterator[Bar]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        yield Bar(progress, progress.add_task(description, total=None))

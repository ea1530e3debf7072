"""How a build tells its progress: nothing, phase log lines, or a rich progress bar per phase.

The build calls `phase()` around each phase and `advance()` with batches of documents (never per
document: the hot path stays a plain loop). The CLI picks the reporter; the library default is silent.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol


class Progress(Protocol):
    def phase(self, name: str, total: int | None = None) -> AbstractContextManager[None]: ...

    def advance(self, done: int) -> None:
        """`done` items of the current phase are finished so far (a running total, not an increment)."""


class Silent:
    """Off a terminal, and with --quiet: no progress noise at all."""

    @contextmanager
    def phase(self, name: str, total: int | None = None) -> Iterator[None]:
        yield

    def advance(self, done: int) -> None:
        pass


class PhaseLog(Silent):
    """--verbose: one log line per phase on stderr, with its timing, for cron mails and journals."""

    @contextmanager
    def phase(self, name: str, total: int | None = None) -> Iterator[None]:
        started = time.monotonic()
        print(f"{name}: started", file=sys.stderr, flush=True)
        yield
        count = f" ({total:,} documents)" if total is not None else ""
        print(f"{name}: done in {time.monotonic() - started:.2f} s{count}", file=sys.stderr, flush=True)


class Bars:
    """On a terminal: a rich progress bar per phase, on stderr so stdout stays the summary line."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True)
        self._bar: Any = None
        self._task: Any = None

    @contextmanager
    def phase(self, name: str, total: int | None = None) -> Iterator[None]:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        # One display per phase: each finished phase stays on screen as one line.
        with RichProgress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
        ) as bar:
            self._bar, self._task = bar, bar.add_task(name, total=total if total is not None else 1)
            yield
            bar.update(self._task, completed=total if total is not None else 1)
            self._bar = self._task = None

    def advance(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done)


def reporter(*, quiet: bool, verbose: bool, terminal: bool) -> Progress:
    if quiet:
        return Silent()
    if verbose:
        return PhaseLog()
    return Bars() if terminal else Silent()

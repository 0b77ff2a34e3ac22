"""What every bulk job (import, export, validate, ...) shares: progress, errors and a report.

A job takes a ``progress`` callable factory and an error policy, so the CLI can show tqdm bars
and the GUI a progress dialog with a cancel button, without the job knowing which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, TypeVar

from .errors import LabelerError

T = TypeVar("T")


class Cancelled(LabelerError):
    """The user cancelled a job."""


#: ``progress(iterable, total, description)`` returns an iterable that reports as it is consumed.
ProgressFactory = Callable[[Iterable[T], int | None, str], Iterable[T]]


def no_progress(iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterable[T]:
    return iterable


@dataclass
class Report:
    """What a job did: counts, and one line per problem (each naming the file)."""

    done: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def fail(self, message: str) -> None:
        self.errors.append(message)
        self.skipped += 1

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        s = f"{self.done} done"
        if self.skipped:
            s += f", {self.skipped} skipped"
        if self.warnings:
            s += f", {len(self.warnings)} warnings"
        if self.errors:
            s += f", {len(self.errors)} errors"
        return s


@dataclass
class JobContext:
    """Passed to importers and exporters: how to report progress, what to do on bad input."""

    progress: ProgressFactory = no_progress
    #: "skip": report the item and go on; "raise": stop at the first bad item
    on_error: str = "skip"
    report: Report = field(default_factory=Report)
    cancelled: Callable[[], bool] = lambda: False

    def track(self, items: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
        for item in self.progress(items, total, desc):
            if self.cancelled():
                raise Cancelled("cancelled by the user")
            yield item

    def problem(self, message: str) -> None:
        """A bad item: raise under the strict policy, otherwise record it and go on."""
        if self.on_error == "raise":
            raise LabelerError(message)
        self.report.fail(message)

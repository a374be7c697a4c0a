"""Errors meant for people: what is wrong, where it is, and nothing else (no tracebacks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One bad input value: the file, 1-based line (header = line 1), column and why it is refused."""

    file: str
    line: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


class InputError(Exception):
    """Bad input from a person or a file. The command line prints it and exits 2."""

    def __init__(self, problems: list[Problem] | Problem | str, omitted: int = 0) -> None:
        if isinstance(problems, str):
            problems = [Problem("input", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = problems
        # Problems found but not kept: a reader stops collecting after a few thousand (a huge bad file
        # would otherwise take gigabytes of messages), and counts the rest here.
        self.omitted = omitted
        super().__init__(self.message())

    @property
    def total(self) -> int:
        """How many problems were found, kept or not."""
        return len(self.problems) + self.omitted

    def message(self, limit: int = 200) -> str:
        shown = [str(p) for p in self.problems[:limit]]
        more = self.total - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problems")
        if self.total == 1:
            return shown[0]
        return f"{self.total} problems:\n" + "\n".join(f"  {s}" for s in shown)


class PermissionDenied(Exception):
    """The signed-in user may not do this."""


class ConflictError(Exception):
    """Someone else changed the same row since it was read (optimistic locking)."""

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

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("input", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = problems
        super().__init__(self.message())

    def message(self, limit: int = 200) -> str:
        shown = [str(p) for p in self.problems[:limit]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problems")
        if len(self.problems) == 1:
            return shown[0]
        return f"{len(self.problems)} problems:\n" + "\n".join(f"  {s}" for s in shown)


class PermissionDenied(Exception):
    """The signed-in user may not do this."""


class ConflictError(Exception):
    """Someone else changed the same row since it was read (optimistic locking)."""

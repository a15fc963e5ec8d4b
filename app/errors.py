"""User-facing errors: what went wrong, where, and what was expected. Never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem in an input file: ``FILE:LINE: message``."""

    file: Path | str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else f"{self.file}"
        return f"{where}: {self.message}"


class UserError(Exception):
    """Bad input or environment the user can fix. The CLI prints it and exits with ``exit_code``."""

    exit_code = 1


class SceneError(UserError):
    """A scene file (or a file it refers to) is invalid. Carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

"""Errors a user can cause. The CLI turns them into a message and an exit code, never a traceback."""
from __future__ import annotations


class ExplainerError(Exception):
    """Base class of the errors the CLI reports as a one-line message."""

    exit_code = 2


class UsageError(ExplainerError):
    """Bad input: an unknown name, an impossible size, an unwritable path. Exit code 2."""

    exit_code = 2


class MissingTool(ExplainerError):
    """An optional tool (torch, manim, LaTeX, a GPU) is needed but absent. Exit code 2."""

    def __init__(self, what: str, needed_for: str, install: str):
        super().__init__(f"{what} is not available, so {needed_for} cannot run. Install it with: {install}")
        self.what, self.needed_for, self.install = what, needed_for, install


def positive_int(value: int, name: str) -> int:
    """``value`` if it is a positive integer, else a :class:`UsageError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return value

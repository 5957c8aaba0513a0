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


class RegistrationError(UsageError, ValueError):
    """A derivation name that is malformed or already taken. Exit code 2 (a ValueError for older callers)."""


#: Files of the users' own modules (``--module``): an exception raised in them is the user's, not a bug.
USER_FILES: set[str] = set()


def user_code_location(exc: BaseException) -> str | None:
    """``FILE, line N`` of the deepest frame of ``exc``'s traceback that runs a user's own module
    (:data:`USER_FILES`), or a user file's syntax error; None when the user's code is not involved."""
    import traceback

    if isinstance(exc, SyntaxError) and exc.filename in USER_FILES:
        return f"{exc.filename}, line {exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in USER_FILES]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else None


def describe(exc: BaseException) -> str:
    """``Type: message`` (a syntax error's own message, without Python's file and line suffix)."""
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return message if isinstance(exc, ExplainerError) else f"{type(exc).__name__}: {message}"


def positive_int(value: int, name: str) -> int:
    """``value`` if it is a positive integer, else a :class:`UsageError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return value

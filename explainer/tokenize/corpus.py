"""Training text: the built-in corpus, reading a corpus file, and checks on both.

A corpus is a sequence of lines; each line is pre-tokenized on its own, exactly as
``Tokenizer.train_from_iterator(lines, trainer)`` in ``tokenizers`` does. A string is split with
``str.splitlines()``.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterable

from explainer.errors import UsageError

BUILTIN_NAME = "tokenizer_corpus.txt"


def builtin_text() -> str:
    """The built-in corpus (``explainer/data/tokenizer_corpus.txt``): forty lines of plain English
    about tokenizers, with a few accented words."""
    return resources.files("explainer").joinpath("data", BUILTIN_NAME).read_text(encoding="utf-8")


def builtin_lines() -> list[str]:
    return builtin_text().splitlines()


def as_lines(corpus: str | Iterable[str]) -> list[str]:
    """A string split into lines, or the given lines as a list; a corpus of blank lines is a UsageError."""
    lines = corpus.splitlines() if isinstance(corpus, str) else list(corpus)
    if not any(line.strip() for line in lines):
        raise UsageError("the corpus is empty (only blank lines): there is nothing to learn from")
    return lines


def read_corpus(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file (``-``: standard input, e.g. a pipe); a missing, unreadable,
    binary or empty file is a UsageError."""
    if str(path) == "-":
        import sys

        data, path = sys.stdin.buffer.read(), "standard input"
    else:
        data = _read_file(Path(path))
    if b"\x00" in data:
        raise UsageError(f"corpus file {path} looks binary (it contains NUL bytes); give a UTF-8 text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"corpus file {path} is not UTF-8 text (invalid byte at offset {exc.start}); "
                         "give a UTF-8 text file") from None
    lines = text.removeprefix("\ufeff").splitlines()
    if not any(line.strip() for line in lines):
        raise UsageError(f"corpus file {path} is empty: there is nothing to learn from")
    return lines


def _read_file(path: Path) -> bytes:
    if not path.exists():
        raise UsageError(f"corpus file not found: {path}")
    if not path.is_file():
        raise UsageError(f"corpus path is not a file: {path}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read corpus file {path}: {exc.strerror}") from None

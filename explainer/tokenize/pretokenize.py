"""Pre-tokenization: cut a line of text into words before any merge is learned or applied.

Merges never cross a word boundary, so this choice shapes the whole vocabulary. Each splitter here
reproduces one Hugging Face ``tokenizers`` pre-tokenizer character for character:

- ``metaspace`` = ``pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)``:
  every space becomes ``▁``, a ``▁`` is put in front of the line unless it already starts with one,
  and a new word starts at every ``▁``. ``"a  b"`` → ``▁a``, ``▁``, ``▁b``. Spaces survive as ``▁``,
  so decoding gives the text back (SentencePiece's convention).
- ``whitespace`` = ``pre_tokenizers.Whitespace()``, the regex ``\\w+|[^\\w\\s]+``: runs of word
  characters and runs of punctuation, whitespace dropped. ``"Hi, you!"`` → ``Hi``, ``,``, ``you``, ``!``.
- ``whitespace-split`` = ``pre_tokenizers.WhitespaceSplit()``: split on whitespace only.

``\\w`` and ``\\s`` follow Rust's ``regex`` crate (used by ``tokenizers``), not Python's ``re``:
a word character is a letter, a mark, a decimal digit, a letter number, a connector punctuation,
ZWJ/ZWNJ, or one of the circled/squared Latin letters (Unicode ``Alphabetic``); ``²`` and ``½`` are
not word characters and U+001C–U+001F are not whitespace. This agrees with ``tokenizers`` 0.23 on
every character assigned in Python's Unicode database (checked exhaustively for Unicode 14); a
character assigned only in a later Unicode version may be classified differently.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from typing import Callable, Iterable

METASPACE = "\u2581"
PRE_TOKENIZERS = ("metaspace", "whitespace", "whitespace-split")

_NOT_SPACE = frozenset("\x1c\x1d\x1e\x1f")  # Python's isspace() says yes, Unicode White_Space says no
_JOIN_CONTROLS = frozenset("\u200c\u200d")
_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))
_SPACE, _WORD, _OTHER = 0, 1, 2
_classes: dict[str, int] = {}
_BEFORE_METASPACE = re.compile(f"(?={METASPACE})")


def is_space(ch: str) -> bool:
    """Unicode ``White_Space`` (Rust's ``char::is_whitespace`` and regex ``\\s``)."""
    return ch.isspace() and ch not in _NOT_SPACE


def is_word_char(ch: str) -> bool:
    """Rust regex ``\\w``: Alphabetic, Mark, Decimal_Number, Connector_Punctuation, Join_Control."""
    category = unicodedata.category(ch)
    if category[0] in "LM" or category in ("Nd", "Nl", "Pc") or ch in _JOIN_CONTROLS:
        return True
    return any(lo <= ord(ch) <= hi for lo, hi in _ALPHABETIC_SYMBOLS)


def _char_class(ch: str) -> int:
    kind = _classes.get(ch)
    if kind is None:
        kind = _classes[ch] = _SPACE if is_space(ch) else _WORD if is_word_char(ch) else _OTHER
    return kind


def whitespace(text: str) -> list[str]:
    """``\\w+|[^\\w\\s]+``: word runs and punctuation runs; whitespace is dropped."""
    return ["".join(run) for kind, run in itertools.groupby(text, _char_class) if kind != _SPACE]


def whitespace_split(text: str) -> list[str]:
    """Runs of non-whitespace characters."""
    return ["".join(run) for kind, run in itertools.groupby(text, is_space) if not kind]


def metaspace(text: str) -> list[str]:
    """Spaces become ``▁``, a ``▁`` is prepended if missing, a word starts at every ``▁``."""
    if not text:
        return []
    marked = text.replace(" ", METASPACE)
    if not marked.startswith(METASPACE):
        marked = METASPACE + marked
    return [piece for piece in _BEFORE_METASPACE.split(marked) if piece]


SPLITTERS: dict[str, Callable[[str], list[str]]] = {
    "metaspace": metaspace, "whitespace": whitespace, "whitespace-split": whitespace_split}


def splitter(name: str) -> Callable[[str], list[str]]:
    """The pre-tokenizer called ``name`` (one of :data:`PRE_TOKENIZERS`)."""
    from explainer.errors import UsageError

    if name not in SPLITTERS:
        raise UsageError(f"unknown pre-tokenizer {name!r}; use one of {', '.join(PRE_TOKENIZERS)}")
    return SPLITTERS[name]


def count_words(lines: Iterable[str], pre_tokenizer: str) -> dict[str, int]:
    """How often each word occurs, in order of first appearance (each line is split on its own)."""
    split = splitter(pre_tokenizer)
    counts: dict[str, int] = {}
    for line in lines:
        for word in split(line):
            counts[word] = counts.get(word, 0) + 1
    return counts

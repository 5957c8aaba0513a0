"""A trained tokenizer: encode text to tokens and ids, decode ids to text, save and load it.

Vocabulary file (``explainer tokenize train --save FILE``), UTF-8 JSON::

    {"format": "explainer-tokenizer", "version": 1,
     "algorithm": "bpe" | "wordpiece", "pre_tokenizer": "metaspace" | "whitespace" | "whitespace-split",
     "continuing_subword_prefix": "##" or null, "special_tokens": ["[UNK]"],
     "vocab": ["[UNK]", "a", "b", …],          # the token with id i is vocab[i]
     "merges": [["a", "b"], …]}                # in learned order (BPE encodes with them)

Decoding: with the ``metaspace`` pre-tokenizer the pieces are joined, ``##`` removed, ``▁`` turned
back into a space and the one leading space dropped, so ``decode(encode(text).ids) == text`` for any
text that does not start with a space or contain ``▁``. With ``whitespace`` the spacing is gone
after pre-tokenization: WordPiece pieces are glued at ``##`` and words joined by one space; BPE
tokens carry no word boundary, so they are joined by one space each (as ``tokenizers`` does with no
decoder).
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from explainer.errors import UsageError
from explainer.tokenize.pretokenize import METASPACE, splitter
from explainer.tokenize.segment import MAX_WORD_CHARS, PREFIX, bpe_segment, wordpiece_segment

FORMAT = "explainer-tokenizer"
VERSION = 1
UNKNOWN = ("error", "unk")


@dataclass(frozen=True, slots=True)
class Encoding:
    """The result of encoding: ``tokens`` and their ``ids``, and per pre-tokenized word its pieces."""

    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    words: tuple[tuple[str, tuple[str, ...]], ...]  # (word, its pieces), in text order


@dataclass(frozen=True)
class Tokenizer:
    """A vocabulary (tokens in id order), the BPE merges, and the conventions used to train it."""

    algorithm: str
    pre_tokenizer: str
    vocab: tuple[str, ...]
    merges: tuple[tuple[str, str], ...] = ()
    prefix: str | None = None
    special_tokens: tuple[str, ...] = ()
    ids: dict[str, int] = field(init=False, repr=False, compare=False)
    ranks: dict[tuple[str, str], tuple[int, str]] = field(init=False, repr=False, compare=False)
    cache: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)  # BPE: word -> pieces

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", {token: i for i, token in enumerate(self.vocab)})
        ranks: dict[tuple[str, str], tuple[int, str]] = {}
        for rank, (left, right) in enumerate(self.merges):
            right_part = right[len(self.prefix):] if self.prefix and right.startswith(self.prefix) else right
            ranks[(left, right)] = (rank, left + right_part)  # a repeated pair keeps its last rank, as in tokenizers
        object.__setattr__(self, "ranks", ranks)
        object.__setattr__(self, "cache", {})

    @property
    def unk_token(self) -> str | None:
        return "[UNK]" if "[UNK]" in self.ids else None

    def encode(self, text: str, unknown: str = "error") -> Encoding:
        """Split ``text`` into words, then each word into vocabulary tokens.

        ``unknown="error"`` raises a :class:`UsageError` naming what cannot be encoded (a character
        missing from the alphabet; for WordPiece, a word no pieces cover); ``unknown="unk"`` uses
        ``[UNK]`` like ``tokenizers`` (BPE: per unknown character; WordPiece: for the whole word).
        """
        if unknown not in UNKNOWN:
            raise UsageError(f"unknown= must be one of {UNKNOWN}, got {unknown!r}")
        if unknown == "unk" and self.unk_token is None:
            raise UsageError("this vocabulary has no [UNK] token to stand for unknown text")
        words = []
        for word in splitter(self.pre_tokenizer)(text):
            words.append((word, tuple(self._split_word(word, unknown))))
        tokens = tuple(t for _, pieces in words for t in pieces)
        return Encoding(tokens, tuple(self.ids[t] for t in tokens), tuple(words))

    def _split_word(self, word: str, unknown: str) -> list[str]:
        if self.algorithm == "wordpiece":
            pieces = wordpiece_segment(word, self.ids, self.prefix or PREFIX)
            if pieces is None:
                if unknown == "unk":
                    return [self.unk_token]
                raise UsageError(self._unknown_word_message(word))
            return pieces
        if word in self.cache:
            return list(self.cache[word])
        missing = sorted({c for c in word if c not in self.ids})
        if missing and unknown == "error":
            raise UsageError(f"cannot encode {word!r}: character(s) {', '.join(map(repr, missing))} are not in the "
                             "vocabulary (train on a corpus that contains them)")
        pieces: list[str] = []
        for run_known, run in _runs(word, self.ids):
            pieces += bpe_segment(run, self.ranks) if run_known else [self.unk_token] * len(run)
        if not missing:
            self.cache[word] = tuple(pieces)
        return pieces

    def _unknown_word_message(self, word: str) -> str:
        missing = sorted({c for c in word if c not in self.ids})
        if missing:
            why = f"character(s) {', '.join(map(repr, missing))} are not in the vocabulary"
        elif len(word) > MAX_WORD_CHARS:
            why = f"it is longer than {MAX_WORD_CHARS} characters"
        else:
            why = f"no sequence of vocabulary pieces covers it (some {self.prefix}-continuation form is missing)"
        return f"cannot encode {word!r} with WordPiece: {why}"

    def decode(self, ids) -> str:
        """Text from token ids (see the module docstring for what comes back exactly)."""
        tokens = []
        for i in ids:
            if not isinstance(i, int) or not 0 <= i < len(self.vocab):
                raise UsageError(f"token id {i!r} is not in the vocabulary (0 … {len(self.vocab) - 1})")
            tokens.append(self.vocab[i])
        prefix = self.prefix if self.algorithm == "wordpiece" else None
        text = ""
        for k, token in enumerate(tokens):
            if prefix and token.startswith(prefix):
                text += token[len(prefix):]
            elif k > 0 and self.pre_tokenizer != "metaspace":
                text += " " + token
            else:
                text += token
        if self.pre_tokenizer == "metaspace":
            text = text.replace(METASPACE, " ").removeprefix(" ")
        return text

    def save(self, path: str | Path) -> None:
        """Write the vocabulary file (format in the module docstring)."""
        data = {"format": FORMAT, "version": VERSION, "algorithm": self.algorithm, "pre_tokenizer": self.pre_tokenizer,
                "continuing_subword_prefix": self.prefix, "special_tokens": list(self.special_tokens),
                "vocab": list(self.vocab), "merges": [list(m) for m in self.merges]}
        try:
            Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write vocabulary file {path}: {exc.strerror}") from None

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Read a vocabulary file written by :meth:`save`; anything else is a clear UsageError."""
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"vocabulary file not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"{path} is not a vocabulary file (not UTF-8 JSON: {exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UsageError(f"{path} is not a vocabulary file (expected \"format\": \"{FORMAT}\"; "
                             "write one with 'explainer tokenize train --save FILE')")
        try:
            tokenizer = cls(data["algorithm"], data["pre_tokenizer"], tuple(data["vocab"]),
                            tuple((a, b) for a, b in data["merges"]), data["continuing_subword_prefix"],
                            tuple(data["special_tokens"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{path} is a damaged vocabulary file ({type(exc).__name__}: {exc})") from None
        if tokenizer.algorithm not in ("bpe", "wordpiece"):
            raise UsageError(f"{path}: unknown algorithm {tokenizer.algorithm!r}")
        splitter(tokenizer.pre_tokenizer)
        problem = tokenizer.inconsistency()
        if problem:
            raise UsageError(f"{path} is a damaged vocabulary file: {problem}")
        return tokenizer

    def inconsistency(self) -> str | None:
        """What makes this vocabulary unusable (a token that is not a non-empty string or is listed
        twice, a merge of or into a token it lacks), or None."""
        bad = [t for t in self.vocab if not isinstance(t, str) or not t]
        if bad:
            return f"vocabulary entry {bad[0]!r} is not a non-empty string"
        if len(self.ids) != len(self.vocab):
            twice = next(t for t in self.vocab if self.vocab.count(t) > 1)
            return f"token {twice!r} is listed twice in the vocabulary"
        for rank, (left, right) in enumerate(self.merges, 1):
            token = self.ranks[(left, right)][1]
            missing = [t for t in (left, right, token) if t not in self.ids]
            if missing:
                return (f"merge {rank} ({left!r} + {right!r} → {token!r}) uses {missing[0]!r}, which is not in "
                        "the vocabulary; write the file again with 'explainer tokenize train --save FILE'")
        return None


def _runs(word: str, vocab: dict[str, int]):
    """Maximal runs of known / unknown characters: ``(known, run)``."""
    for known, run in itertools.groupby(word, lambda c: c in vocab):
        yield known, "".join(run)

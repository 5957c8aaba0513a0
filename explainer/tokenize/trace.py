"""What training produced: the merges in order (a :class:`Trace`) and each one's numbers (:class:`Merge`)."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from explainer.errors import UsageError
from explainer.tokenize.pretokenize import splitter
from explainer.tokenize.tokenizer import Tokenizer


@dataclass(frozen=True, slots=True)
class Merge:
    """One learned merge ``left + right → token``, with the numbers that chose it.

    ``count`` is how often the pair stood side by side in the corpus (each word weighted by its
    frequency, the way ``tokenizers`` counts: in ``aaa`` the pair ``(a, a)`` counts twice);
    ``left_freq`` and ``right_freq`` are how often each part occurred as a token at that moment;
    ``replaced`` is how many occurrences the merge actually replaced (the sequence got that much
    shorter); ``vocab_size`` is the vocabulary size after the merge.
    """

    left: str
    right: str
    token: str
    count: int
    left_freq: int
    right_freq: int
    replaced: int
    vocab_size: int

    @property
    def score(self) -> Fraction:
        """WordPiece's score freq(ab) / (freq(a)·freq(b)), exact."""
        return Fraction(self.count, self.left_freq * self.right_freq)


@dataclass(frozen=True, slots=True)
class Trace:
    """A trained vocabulary and how it grew.

    ``vocab`` lists the tokens in id order: special tokens, then the alphabet (sorted by code
    point), then — for WordPiece — the ``##`` continuation forms, then one token per merge.
    ``merges`` are in the order they were learned; ``score`` says how a pair was chosen
    (``"count"``: the most frequent pair; ``"likelihood"``: the highest WordPiece score).
    ``word_counts`` are the pre-tokenized training words with their frequencies.
    """

    algorithm: str
    score: str
    pre_tokenizer: str
    prefix: str | None
    special_tokens: tuple[str, ...]
    initial_size: int
    vocab: tuple[str, ...]
    merges: tuple[Merge, ...]
    word_counts: tuple[tuple[str, int], ...]
    requested_size: int

    @property
    def stopped_early(self) -> bool:
        """True when no pair was left to merge before the requested size was reached."""
        return len(self.vocab) < self.requested_size

    def tokenizer(self):
        """The trained :class:`~explainer.tokenize.tokenizer.Tokenizer` (encode, decode, save)."""
        return Tokenizer(self.algorithm, self.pre_tokenizer, self.vocab,
                         tuple((m.left, m.right) for m in self.merges), self.prefix, self.special_tokens)

    def word(self, text: str) -> str:
        """``text`` pre-tokenized as the trainer saw it (``lower`` → ``▁lower`` under metaspace)."""
        words = splitter(self.pre_tokenizer)(text)
        if len(words) != 1:
            raise UsageError(f"{text!r} is {len(words)} words under the {self.pre_tokenizer} pre-tokenizer; give one word")
        return words[0]

    def characters(self, text: str) -> tuple[str, ...]:
        """The word's starting pieces: its characters (``##``-prefixed after the first for WordPiece)."""
        word = self.word(text)
        return tuple(c if k == 0 or self.prefix is None else self.prefix + c for k, c in enumerate(word))

    def splits(self, text: str) -> list[tuple[str, ...]]:
        """How the word is split after 0, 1, …, len(merges) merges (the training view)."""
        pieces = list(self.characters(text))
        out = [tuple(pieces)]
        for merge in self.merges:
            pieces = apply_merge(pieces, merge)
            out.append(tuple(pieces))
        return out

    def word_steps(self, text: str) -> list[tuple[Merge | None, tuple[str, ...]]]:
        """Only the merges that change the word: ``[(None, characters), (merge, pieces after it), …]``."""
        splits = self.splits(text)
        steps: list[tuple[Merge | None, tuple[str, ...]]] = [(None, splits[0])]
        for merge, before, after in zip(self.merges, splits, splits[1:]):
            if after != before:
                steps.append((merge, after))
        return steps


def apply_merge(pieces: list[str], merge: Merge) -> list[str]:
    """Replace every ``left, right`` neighbour pair by ``merge.token``, scanning left to right
    (so ``a a a`` with ``a + a`` gives ``aa a``, as in training)."""
    out: list[str] = []
    for piece in pieces:
        if out and out[-1] == merge.left and piece == merge.right:
            out[-1] = merge.token
        else:
            out.append(piece)
    return out

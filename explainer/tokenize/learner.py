"""The merge loop shared by BPE and WordPiece.

Training state: every distinct word as a list of token ids with its frequency ``f(w)``. The count
of a neighbour pair is

    count(a, b) = Σ_w f(w) · #{positions where a is followed by b in w}

and each merge replaces the chosen pair in every word, updating only the counts next to it.

Two ways to choose the pair:

- :func:`learn_by_count` — the most frequent pair; ties go to the smaller pair of ids (a, b). This
  is a line-by-line port of ``tokenizers``' ``BpeTrainer::do_train`` (a max-heap of pairs whose
  stale counts are refreshed when popped), which ``WordPieceTrainer`` also runs.
- :func:`learn_by_likelihood` — the highest WordPiece score count(a, b) / (freq(a)·freq(b)); ties
  go to the larger count, then the smaller pair of ids.

With a continuation prefix (WordPiece's ``##``) a token is a word's first piece or a continuation
(``##`` + text). A corpus whose words start with the prefix's characters (``## Notes``, ``####``) could
spell a first piece that reads as a continuation (``#`` + ``##`` → ``##``, ``#`` + ``####`` → ``###``, the
continuation form of ``#``): such a merge would give one string two meanings, so it is never made
(:meth:`Learner.ambiguous`). ``tokenizers`` makes it, and then learns the same merge twice.
"""
from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from typing import Sequence

from explainer.errors import UsageError
from explainer.tokenize.trace import Merge

Pair = tuple[int, int]


class Learner:
    """Words as id lists, their frequencies, the growing vocabulary, pair counts and token counts."""

    def __init__(self, word_counts: dict[str, int], vocab_size: int, special_tokens: Sequence[str] = (),
                 prefix: str | None = None, continuation_order: Sequence[str] | None = None):
        self.prefix = prefix
        self.vocab: list[str] = []
        self.index: dict[str, int] = {}
        for token in special_tokens:
            self.add(token)
        self.add_all(sorted({c for word in word_counts for c in word}, key=ord))
        if prefix is not None:
            self.add_all(_continuations(word_counts, continuation_order), prefix)
        self.initial_size = len(self.vocab)
        if vocab_size < self.initial_size:
            raise UsageError(self.too_small(vocab_size, len(special_tokens)))
        self.vocab_size = vocab_size
        self.words = [[self.index[c if k == 0 or prefix is None else prefix + c] for k, c in enumerate(word)]
                      for word in word_counts]  # one id list per distinct word
        self.counts = list(word_counts.values())  # f(w)
        self.token_freq: dict[int, int] = defaultdict(int)
        self.pair_counts: dict[Pair, int] = defaultdict(int)
        self.where: dict[Pair, set[int]] = defaultdict(set)
        for i, (ids, n) in enumerate(zip(self.words, self.counts)):
            for t in ids:
                self.token_freq[t] += n
            for pair in zip(ids, ids[1:]):
                self.pair_counts[pair] += n
                self.where[pair].add(i)
        self.merges: list[Merge] = []

    def add(self, token: str) -> int:
        if token not in self.index:
            self.index[token] = len(self.vocab)
            self.vocab.append(token)
        return self.index[token]

    def add_all(self, chars, prefix: str = "") -> None:
        for c in chars:
            self.add(prefix + c)

    def too_small(self, vocab_size: int, specials: int) -> str:
        parts = f"{specials} special token(s) + the alphabet"
        if self.prefix is not None:
            parts += f" + its {self.prefix!r} continuation forms"
        return (f"vocabulary size {vocab_size} is smaller than the starting vocabulary ({parts} = "
                f"{self.initial_size} tokens); use a vocabulary size of at least {self.initial_size}")

    def ambiguous(self, pair: Pair) -> bool:
        """Whether merging ``pair`` would make a word's first piece that reads as a continuation token
        (it starts with the prefix): possible only when the corpus has words that start with it."""
        left, right = self.vocab[pair[0]], self.vocab[pair[1]]
        return (self.prefix is not None and not self.is_continuation(left)
                and self.is_continuation(left + right[len(self.prefix):]))

    def is_continuation(self, token: str) -> bool:
        """``##`` + text (no first piece looks like one: :meth:`ambiguous` merges are never made)."""
        return token.startswith(self.prefix) and len(token) > len(self.prefix)

    def merge(self, pair: Pair, positions) -> dict[Pair, set[int]]:
        """Merge ``pair`` in the words at ``positions``; record it; return where new pairs appeared."""
        left, right = self.vocab[pair[0]], self.vocab[pair[1]]
        suffix = right[len(self.prefix):] if self.prefix and right.startswith(self.prefix) else right
        new = self.add(left + suffix)
        created: dict[Pair, set[int]] = defaultdict(set)
        replaced = 0
        count, left_freq, right_freq = self.pair_counts[pair], self.token_freq[pair[0]], self.token_freq[pair[1]]
        for i in positions:
            n = self.counts[i]
            changes, times = merge_word(self.words[i], pair, new)
            for changed, delta in changes:
                self.pair_counts[changed] += delta * n
                if delta > 0:
                    created[changed].add(i)
            replaced += times * n
        self.token_freq[new] += replaced
        self.token_freq[pair[0]] -= replaced
        self.token_freq[pair[1]] -= replaced
        self.merges.append(Merge(left, right, self.vocab[new], count, left_freq, right_freq, replaced, len(self.vocab)))
        return created


def merge_word(ids: list[int], pair: Pair, new: int) -> tuple[list[tuple[Pair, int]], int]:
    """Merge ``pair`` in one word, in place, left to right; return the pair-count changes (±1 each)
    and how many occurrences were replaced.

    Port of ``Word::merge`` in ``tokenizers``: for ``x a b y`` the pairs ``(x, a)`` and ``(b, y)``
    lose one and ``(x, ab)``, ``(ab, y)`` gain one; the merged pair's own count is left alone.
    """
    a, b = pair
    changes: list[tuple[Pair, int]] = []
    replaced = 0
    i = 0
    while i < len(ids) - 1:
        if ids[i] == a and ids[i + 1] == b:
            if i > 0:
                changes += (((ids[i - 1], a), -1), ((ids[i - 1], new), 1))
            ids[i:i + 2] = [new]
            if i < len(ids) - 1:
                changes += (((b, ids[i + 1]), -1), ((new, ids[i + 1]), 1))
            replaced += 1
        i += 1
    return changes, replaced


def learn_by_count(learner: Learner) -> Learner:
    """Merge the most frequent pair until the vocabulary is full or no pair is left.

    The heap holds ``(-count, pair, tiebreak, positions)``: the largest count first and, among equal
    counts, the smallest ``pair`` of ids — ``tokenizers``' ``Ord for Merge``. A popped entry whose
    count is stale is pushed back with the current count, as ``tokenizers`` does.
    """
    order = itertools.count()
    heap = [(-count, pair, next(order), learner.where[pair]) for pair, count in learner.pair_counts.items() if count > 0]
    heapq.heapify(heap)
    while len(learner.vocab) < learner.vocab_size and heap:
        negative, pair, _, positions = heapq.heappop(heap)
        current = learner.pair_counts[pair]
        if -negative != current:
            heapq.heappush(heap, (-current, pair, next(order), positions))
            continue
        if current < 1:
            break
        if learner.ambiguous(pair):
            continue
        for new_pair, where in learner.merge(pair, positions).items():
            if learner.pair_counts[new_pair] > 0:
                heapq.heappush(heap, (-learner.pair_counts[new_pair], new_pair, next(order), where))
    return learner


def learn_by_likelihood(learner: Learner) -> Learner:
    """Merge the pair with the highest score count(a,b) / (freq(a)·freq(b)) until the vocabulary is full.

    Scores are compared exactly by cross-multiplying (no floating point); every merge rescans all
    pairs, because it changes freq(a) and freq(b) and so the score of every pair that contains them.
    """
    while len(learner.vocab) < learner.vocab_size:
        best, best_key = None, None
        for pair, count in learner.pair_counts.items():
            if count <= 0 or learner.ambiguous(pair):
                continue
            denominator = learner.token_freq[pair[0]] * learner.token_freq[pair[1]]
            if best is None or _better(count, denominator, pair, best_key):
                best, best_key = pair, (count, denominator, pair)
        if best is None:
            break
        for new_pair, where in learner.merge(best, learner.where[best]).items():
            learner.where[new_pair] |= where
        learner.pair_counts[best] = 0  # every occurrence was merged
    return learner


def _better(count: int, denominator: int, pair: Pair, best: tuple[int, int, Pair]) -> bool:
    """Higher score count/denominator, then higher count, then the smaller pair of ids."""
    best_count, best_denominator, best_pair = best
    lhs, rhs = count * best_denominator, best_count * denominator
    if lhs != rhs:
        return lhs > rhs
    return (-count, pair) < (-best_count, best_pair)


def _continuations(word_counts: dict[str, int], order: Sequence[str] | None) -> list[str]:
    """The characters that get a continuation form, in id order: ``order`` when given (it must list
    every character seen after a word's first one), else sorted by code point."""
    seen = sorted({c for word in word_counts for c in word[1:]}, key=ord)
    if order is None:
        return seen
    missing = [c for c in seen if c not in set(order)]
    if missing:
        raise UsageError(f"continuation_order lacks {len(missing)} character(s) seen after a word's first one: "
                         f"{', '.join(map(repr, missing[:10]))}{' …' if len(missing) > 10 else ''}")
    return list(order)

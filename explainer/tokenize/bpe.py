"""Byte pair encoding (BPE): learn merges by count, encode by applying them in learned order.

Training (Sennrich et al., 2016): start from characters, count every neighbour pair over the
corpus (each word weighted by its frequency), merge the most frequent pair into a new token, repeat
until the vocabulary has ``vocab_size`` tokens. Encoding a word: start from its characters and
repeatedly apply the earliest-learned merge that is present (leftmost first on a tie).

Equals ``tokenizers``' ``BpeTrainer`` + ``models.BPE`` for the same pre-tokenizer and special tokens
(see :mod:`explainer.tokenize` for the conventions).

    >>> from explainer.tokenize import bpe
    >>> trace = bpe.train(["low lower lowest", "newer wider"], vocab_size=20)
    >>> trace.merges[0].left, trace.merges[0].right, trace.merges[0].count
    ('e', 'r', 3)
"""
from __future__ import annotations

from typing import Iterable, Sequence

from explainer.errors import positive_int
from explainer.tokenize.corpus import as_lines
from explainer.tokenize.learner import Learner, learn_by_count
from explainer.tokenize.pretokenize import count_words
from explainer.tokenize.segment import bpe_segment as segment  # noqa: F401 - encoding, for callers of bpe
from explainer.tokenize.trace import Trace


def train(corpus: str | Iterable[str], vocab_size: int, *, pre_tokenizer: str = "metaspace",
          special_tokens: Sequence[str] = ()) -> Trace:
    """Learn a BPE vocabulary of ``vocab_size`` tokens from ``corpus`` (a text or its lines)."""
    positive_int(vocab_size, "vocabulary size")
    word_counts = count_words(as_lines(corpus), pre_tokenizer)
    learner = learn_by_count(Learner(word_counts, vocab_size, special_tokens))
    return make_trace(learner, "bpe", "count", pre_tokenizer, tuple(special_tokens), word_counts)


def make_trace(learner: Learner, algorithm: str, score: str, pre_tokenizer: str,
               special_tokens: tuple[str, ...], word_counts: dict[str, int]) -> Trace:
    return Trace(algorithm, score, pre_tokenizer, learner.prefix, special_tokens, learner.initial_size,
                 tuple(learner.vocab), tuple(learner.merges), tuple(word_counts.items()), learner.vocab_size)

"""WordPiece: learn merges by score, encode by greedy longest match.

Training starts from characters, writing every character after the first of a word with the
continuation prefix ``##`` (``hug`` → ``h ##u ##g``), and merges the pair with the highest score

    score(a, b) = freq(ab) / (freq(a) · freq(b))

(``score="likelihood"``, the WordPiece rule: a pair of rare parts that nearly always appear
together beats a pair of common parts). ``score="count"`` merges the most frequent pair instead —
that is what ``tokenizers``' ``WordPieceTrainer`` actually does (it runs its BPE trainer with the
``##`` prefix), and with it the learned vocabulary equals the library's.

Encoding a word takes the longest vocabulary entry that matches its start, then the longest
``##`` entry that matches the rest, and so on; if some part matches nothing, the whole word is
unknown (``[UNK]`` in ``tokenizers``). Words longer than 100 characters are unknown too.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from explainer.errors import UsageError, positive_int
from explainer.tokenize.bpe import make_trace
from explainer.tokenize.corpus import as_lines
from explainer.tokenize.learner import Learner, learn_by_count, learn_by_likelihood
from explainer.tokenize.pretokenize import count_words
from explainer.tokenize.segment import MAX_WORD_CHARS, PREFIX  # noqa: F401 - for callers of wordpiece
from explainer.tokenize.segment import wordpiece_segment as segment  # noqa: F401 - encoding
from explainer.tokenize.trace import Trace

SCORES = ("likelihood", "count")


def train(corpus: str | Iterable[str], vocab_size: int, *, score: str = "likelihood",
          pre_tokenizer: str = "whitespace", special_tokens: Sequence[str] = ("[UNK]",),
          prefix: str = PREFIX, continuation_order: Sequence[str] | None = None) -> Trace:
    """Learn a WordPiece vocabulary of ``vocab_size`` tokens from ``corpus`` (a text or its lines).

    ``continuation_order`` fixes the ids of the ``##`` forms (characters in the order wanted);
    by default they are sorted by code point. ``tokenizers`` numbers them in hash-map order, which
    changes from run to run and decides ties between equally frequent pairs; passing its order
    reproduces a given run exactly.
    """
    positive_int(vocab_size, "vocabulary size")
    if score not in SCORES:
        raise UsageError(f"unknown WordPiece score {score!r}; use one of {', '.join(SCORES)}")
    if not prefix:
        raise UsageError("the continuation prefix must not be empty")
    word_counts = count_words(as_lines(corpus), pre_tokenizer)
    learner = Learner(word_counts, vocab_size, special_tokens, prefix, continuation_order)
    learner = (learn_by_likelihood if score == "likelihood" else learn_by_count)(learner)
    return make_trace(learner, "wordpiece", score, pre_tokenizer, tuple(special_tokens), word_counts)

"""Tokenization from scratch: BPE and WordPiece, step by step, matched against Hugging Face ``tokenizers``.

Pure Python, no third-party imports (the CLI and the ``tokenization`` derivation use it; tests
compare it with ``tokenizers``).

API (the ``bpe-merges`` scene uses the first three)::

    from explainer.tokenize import bpe, wordpiece, corpus
    trace = bpe.train(corpus.builtin_lines(), vocab_size=120)      # -> Trace
    trace.merges            # Merge(left, right, token, count, left_freq, right_freq, replaced, vocab_size), in order
    trace.merges[0].score   # Fraction: count / (left_freq · right_freq), WordPiece's score
    trace.word_steps("lowest")   # [(None, ('▁','l','o','w','e','s','t')), (Merge(...), ('▁l','o',…)), …]
    trace.splits("lowest")  # the split after 0, 1, …, len(merges) merges (one tuple per merge)
    tok = trace.tokenizer() # -> Tokenizer
    enc = tok.encode("the lowest tokens")      # Encoding(tokens, ids, words=((word, pieces), …))
    tok.decode(enc.ids) == "the lowest tokens"
    tok.save("vocab.json"); Tokenizer.load("vocab.json")
    wordpiece.train(lines, 150, score="likelihood" | "count")

Conventions, and how each matches ``tokenizers`` 0.23 (the tests train both on the same corpora):

- **Corpus.** A list of lines (a string is split with ``splitlines()``); each line is
  pre-tokenized on its own — ``Tokenizer.train_from_iterator(lines, trainer)``. No normalizer.
- **Pre-tokenization** (:mod:`explainer.tokenize.pretokenize`): ``metaspace`` (default;
  ``Metaspace(replacement="▁", prepend_scheme="always", split=True)``), ``whitespace``
  (``Whitespace()``, ``\\w+|[^\\w\\s]+`` with Rust's Unicode classes) or ``whitespace-split``
  (``WhitespaceSplit()``).
- **Starting vocabulary.** Special tokens first (none for BPE, ``[UNK]`` for WordPiece — pass the same
  ``special_tokens`` to the trainer), then every character of the corpus sorted by code point,
  then for WordPiece the ``##`` forms of every character seen after a word's first character.
  No ``limit_alphabet``, no ``initial_alphabet``, ``min_frequency`` 0. A vocabulary size below this
  starting size is an error here (``tokenizers`` silently returns the starting vocabulary).
- **Counting and ties.** A pair's count is weighted by word frequency and counts overlapping
  occurrences (``aaa`` holds ``(a, a)`` twice). Among equal counts the pair with the smaller ids
  ``(id(a), id(b))`` is merged first — ``tokenizers``' heap order. Training stops when no pair is
  left, possibly below the requested size (``Trace.stopped_early``).
- **The ``##`` continuation prefix.** WordPiece writes non-initial characters as ``##c``; merging
  ``a`` with ``##b`` gives ``ab``, ``##a`` with ``##b`` gives ``##ab``. ``tokenizers`` numbers the
  ``##`` forms in hash-map order, different in every process, so its WordPiece vocabulary ids — and,
  when equally frequent pairs tie, the chosen merges — vary from run to run. Here they are sorted
  by code point; ``wordpiece.train(..., continuation_order=...)`` takes another order, and with the
  order of a given ``tokenizers`` run the results are identical, ids included.
- **WordPiece's score.** ``score="likelihood"`` (default) merges the pair with the highest
  count(ab) / (freq(a)·freq(b)) — the WordPiece rule (ties: larger count, then smaller ids).
  ``tokenizers``' ``WordPieceTrainer`` does not use this score: it merges by count. ``score="count"``
  reproduces it.
- **Encoding.** BPE applies the learned merges by rank, leftmost first on equal rank
  (``models.BPE``). WordPiece takes the longest match, ``##`` after the first piece, and a word it
  cannot cover — or longer than 100 characters — is unknown (``models.WordPiece``). Unknown input is
  an error by default; ``encode(text, unknown="unk")`` gives ``[UNK]`` like ``tokenizers``. Special
  tokens inside the text are not recognised as such (``tokenizers`` would match them first).
- **Decoding** (:mod:`explainer.tokenize.tokenizer`): lossless with ``metaspace`` for text that
  does not start with a space or contain ``▁``.
"""
from __future__ import annotations

from explainer.errors import UsageError

ALGORITHMS = ("bpe", "wordpiece")


def train(algorithm: str, corpus, vocab_size: int, **options):
    """``bpe.train`` or ``wordpiece.train`` by name."""
    from explainer.tokenize import bpe, wordpiece

    if algorithm not in ALGORITHMS:
        raise UsageError(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    return (bpe if algorithm == "bpe" else wordpiece).train(corpus, vocab_size, **options)

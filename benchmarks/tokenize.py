"""Training time of the pure-Python BPE / WordPiece trainers against Hugging Face ``tokenizers`` on a 1 MB corpus.

Two corpora, both made deterministically (seeded RNG) from the built-in one, lines of 12 words until the
text reaches ``--megabytes`` MB: ``shuffle`` — its words shuffled (a few hundred word types, so counting
words dominates); ``glued`` — new words glued from two or three random 2–4-letter pieces of its words
(tens of thousands of word types, so the merge loop dominates).
Both trainers get the same lines and settings, alternate, ``--runs`` times each; the script prints the
medians and the ratio ours / tokenizers, and checks that both learned the same vocabulary (every token
with its id) and, for BPE, the same merges. WordPiece runs with ``score="count"``, the rule
``tokenizers``' WordPieceTrainer uses; its ``##`` forms get ids in hash-map order, different in every run,
so the check retrains ours (untimed) with the continuation order of the last ``tokenizers`` run. The
WordPiece score rule (``score="likelihood"``, the CLI default) has no ``tokenizers`` counterpart: its time
is printed on its own. ``tokenizers`` uses all cores (Rust + rayon); ours one.

    .venv/bin/python benchmarks/tokenize.py [--megabytes 1] [--vocab-size 600] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

# run as a script, this file would stand in for the standard library's tokenize (which linecache, inspect and
# torch import): drop this folder from the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def make_corpus(kind: str, megabytes: float, seed: int = 0) -> list[str]:
    from explainer.tokenize.corpus import builtin_text

    words = builtin_text().split()
    rng = random.Random(seed)

    def glued() -> str:
        parts = []
        for _ in range(rng.randint(2, 3)):
            word = rng.choice(words)
            start = rng.randrange(len(word))
            parts.append(word[start:start + rng.randint(2, 4)])
        return "".join(parts)

    new_word = (lambda: rng.choice(words)) if kind == "shuffle" else glued
    lines, size = [], 0
    while size < megabytes * 1_000_000:
        line = " ".join(new_word() for _ in range(12))
        lines.append(line)
        size += len(line.encode("utf-8")) + 1
    return lines


def ours(algorithm: str, lines, vocab_size: int, **options):
    from explainer import tokenize

    if algorithm == "wordpiece":
        options.setdefault("score", "count")
    trace = tokenize.train(algorithm, lines, vocab_size, pre_tokenizer="metaspace", **options)
    return [(m.left, m.right) for m in trace.merges], {token: i for i, token in enumerate(trace.vocab)}


def theirs(algorithm: str, lines, vocab_size: int):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    if algorithm == "bpe":
        tok, trainer = Tokenizer(models.BPE()), trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False)
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, show_progress=False, special_tokens=["[UNK]"])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.train_from_iterator(lines, trainer)
    merges = json.loads(tok.to_str())["model"].get("merges")
    return [tuple(m) for m in merges] if merges is not None else None, tok.get_vocab()


def same_result(algorithm: str, lines, vocab_size: int, our_merges, our_vocab, their_merges, their_vocab) -> bool:
    if algorithm == "bpe":
        return our_merges == their_merges and our_vocab == their_vocab
    forms = sorted((i, t[2:]) for t, i in their_vocab.items() if t.startswith("##") and len(t) == 3)
    _, vocab = ours(algorithm, lines, vocab_size, continuation_order=[c for _, c in forms])
    return vocab == their_vocab


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--vocab-size", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    import tokenizers

    print(f"tokenizers {tokenizers.__version__}; {os.cpu_count()} CPU(s); vocab size {opts.vocab_size}; "
          f"median of {opts.runs} runs")
    for kind, algorithm in [(k, a) for k in ("shuffle", "glued") for a in ("bpe", "wordpiece")]:
        lines = make_corpus(kind, opts.megabytes)
        if algorithm == "bpe":
            size = sum(len(line.encode("utf-8")) + 1 for line in lines)
            types = len({w for line in lines for w in line.split()})
            print(f"corpus {kind}: {size / 1e6:.2f} MB, {len(lines)} lines, {types} word types")
        mine, ref = [], []
        for _ in range(opts.runs):
            t, (our_merges, our_vocab) = timed(ours, algorithm, lines, opts.vocab_size)
            mine.append(t)
            t, (their_merges, their_vocab) = timed(theirs, algorithm, lines, opts.vocab_size)
            ref.append(t)
        same = same_result(algorithm, lines, opts.vocab_size, our_merges, our_vocab, their_merges, their_vocab)
        a, b = statistics.median(mine), statistics.median(ref)
        print(f"  {algorithm:<10} ours {a:7.3f} s   tokenizers {b:7.3f} s   ratio {a / b:6.1f}×   "
              f"same vocabulary{' and merges' if algorithm == 'bpe' else ''}: {'yes' if same else 'NO'}")
        if algorithm == "wordpiece":
            score = statistics.median(timed(ours, algorithm, lines, opts.vocab_size, score="likelihood")[0]
                                      for _ in range(opts.runs))
            print(f"  {'':<10} ours {score:7.3f} s   with score=likelihood (the CLI default; tokenizers has no "
                  f"such trainer)")


if __name__ == "__main__":
    main()

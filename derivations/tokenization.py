r"""Tokenization: how a subword vocabulary is learned, and why subwords.

    count(a, b) = Σ_{w=0}^{W-1} f_w · n_w(a, b)   (BPE merges the largest)
    score(a, b) = count(a, b) / (freq(a) · freq(b))   (WordPiece merges the largest)
    L' = L − count(a, b)                        (each merge, a ≠ b, shortens the corpus by its count)

Text becomes numbers before the first matrix: a tokenizer cuts it into pieces from a fixed
vocabulary. Characters need a tiny vocabulary but make long sequences; whole words make short
sequences but need a huge vocabulary (and still miss new words). Subword tokenizers learn the
middle ground from a corpus, one merge at a time. Every number below is measured at build time by
the pure-Python trainer in ``explainer.tokenize`` (which the tests match against Hugging Face
``tokenizers``).
"""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

f = sp.IndexedBase("f", positive=True)
n = sp.IndexedBase("n", nonnegative=True)
ell = sp.IndexedBase(Named("ℓ", r"\ell", positive=True))
w = sp.Symbol("w", integer=True, nonnegative=True)  # the words of the corpus, 0 … W − 1
W = sp.Symbol("W", integer=True, positive=True)
D = sp.Symbol("d", integer=True, positive=True)

#: Sennrich et al. (2016)'s toy corpus: word → frequency.
TOY = {"low": 5, "lower": 2, "newest": 6, "widest": 3}
BUILTIN_SUBWORD_SIZE = 200


def _minus(a: int, b: int):
    """``a − b`` printed as written (not reordered, not evaluated)."""
    return sp.Add(sp.Integer(a), -sp.UnevaluatedExpr(sp.Integer(b)), evaluate=False)


def _score(merge):
    """WordPiece's ``count / (freq(a)·freq(b))`` for one merge, printed as written (not reduced)."""
    product = sp.Mul(sp.Integer(merge.left_freq), sp.Integer(merge.right_freq), evaluate=False)
    return sp.Mul(sp.Integer(merge.count), sp.Pow(product, -1, evaluate=False), evaluate=False)


def _pair_occurrences(pieces, pair) -> int:
    """How often ``pair`` stands side by side in ``pieces`` (overlaps included, as trainers count)."""
    return sum(1 for p in zip(pieces, pieces[1:]) if p == pair)


@derivation("tokenization", "Tokenization: counting merges, scoring pairs, vocabulary vs length", "tokenization")
def tokenization() -> Derivation:
    count = Named("count(a,b)", r"\operatorname{count}(a,b)", nonnegative=True)
    L, L1 = Named("L", "L", positive=True), Named("L'", "L'", positive=True)
    score = Named("score(a,b)", r"\operatorname{score}(a,b)", positive=True)
    fa, fb = Named("freq(a)", r"\operatorname{freq}(a)", positive=True), Named("freq(b)", r"\operatorname{freq}(b)", positive=True)
    c = sp.Symbol("c", positive=True)
    g = sp.Symbol("g", nonnegative=True)
    steps = (
        define(count, sp.Sum(f[w] * n[w], (w, 0, W - 1)),
               "count of the neighbour pair (a, b): word w, seen f_w times, holds the pair n_w times"),
        define(L, sp.Sum(f[w] * ell[w], (w, 0, W - 1)), "corpus length in tokens: word w is split into ℓ_w tokens"),
        define(L1, sp.Sum(f[w] * (ell[w] - n[w]), (w, 0, W - 1)),
               "merging a b → ab (a ≠ b) turns each of the n_w occurrences into one token: ℓ_w drops by n_w"),
        Step(lhs=L1, rhs=sp.Sum(f[w] * ell[w], (w, 0, W - 1)) - sp.Sum(f[w] * n[w], (w, 0, W - 1)),
             why="split the sum", check=prove("sums", "expand")),
        Step(rhs=L - count, why="each merge shortens the corpus by exactly the pair's count — BPE picks the largest",
             check=prove("sums", "expand")),
        define(score, c / (fa * fb),
               "WordPiece's score: the pair's count c divided by how often each part occurs on its own"),
        Step(lhs=c / (2 * fa * fb), rhs=score / 2, why="a part twice as common halves the score: common parts meet by chance",
             check=prove("cancel")),
        Step(lhs=score, rel="<=", rhs=1 / fb, where=((c, fa - g),),
             why="every occurrence of the pair uses an occurrence of a, so c = freq(a) − g with g ≥ 0: "
                 "the score is at most 1/freq(b), reached when a never appears without b",
             check=prove("together", "cancel")),
    )
    return Derivation(
        summary=("A tokenizer turns text into a sequence of ids from a fixed vocabulary. Byte pair encoding "
                 "learns that vocabulary from a corpus: start from characters, count every pair of neighbouring "
                 "tokens (each word weighted by its frequency), merge the most frequent pair into a new token, "
                 "repeat. Each merge adds one token and shortens the corpus by the pair's count. WordPiece "
                 "merges the pair with the highest count/(freq(a)·freq(b)) instead, preferring parts that "
                 "rarely appear apart. The vocabulary size is a trade-off: characters give a tiny embedding "
                 "table but long sequences (attention costs grow with the square of the length); whole words "
                 "give short sequences but a huge table; subwords balance the two."),
        symbols=(Symbol(f[w], "how often word w occurs in the corpus"),
                 Symbol(n[w], "how often the pair a b occurs inside word w"),
                 Symbol(ell[w], "number of tokens word w is currently split into"),
                 Symbol(W, "number of distinct words, numbered w = 0 … W − 1"),
                 Symbol(count, "count of the neighbour pair (a, b) over the corpus"),
                 Symbol(L, "corpus length in tokens before the merge"),
                 Symbol(L1, "corpus length in tokens after merging a b → ab"),
                 Symbol(fa, "how often token a occurs in the corpus"),
                 Symbol(fb, "how often token b occurs in the corpus"),
                 Symbol(score, "WordPiece score of the pair (a, b)"),
                 Symbol(c, "count(a, b), the pair's count"),
                 Symbol(D, "embedding width (the example's table sizes hold for every d)")),
        assumptions=("the corpus is pre-tokenized into words; merges never cross a word boundary",
                     "a ≠ b for the length step (in 'aaa' the pair a a counts twice but only one merge fits)"),
        steps=steps,
        result=Step(lhs=L1, rhs=L - count, why="a merge adds one token to the vocabulary and removes count(a, b) "
                                                "tokens from the corpus", check=prove("sums", "expand")),
        example=_toy_example() + _builtin_example(),
        example_title=("Sennrich et al.'s toy corpus, then the built-in one: characters vs subwords vs words"),
        notes=("Counts, merges and vocabularies equal those of Hugging Face tokenizers' BpeTrainer (and, with "
               "score='count', its WordPieceTrainer, which merges by count, not by this score).",
               "The length step holds for a ≠ b; for a = a, overlapping occurrences count more than fit "
               "(the trainer records how many were actually replaced).",
               "Measured numbers use the metaspace pre-tokenizer (▁ marks a word start and counts as a character)."),
    )


def _toy_example() -> tuple[Step, ...]:
    from explainer.tokenize import bpe, wordpiece

    lines = [" ".join([word] * times) for word, times in TOY.items()]
    trace = bpe.train(lines, vocab_size=len({ch for word in TOY for ch in word}) + 2, pre_tokenizer="whitespace-split")
    first = trace.merges[0]
    pair = (first.left, first.right)
    terms = [sp.Mul(times, _pair_occurrences(tuple(word), pair), evaluate=False)
             for word, times in TOY.items() if _pair_occurrences(tuple(word), pair)]
    corpus_text = ", ".join(f"{word} ×{times}" for word, times in TOY.items())
    holders = ", ".join(f"{word} ×{times}" for word, times in TOY.items() if _pair_occurrences(tuple(word), pair))
    chars = sum(times * len(word) for word, times in TOY.items())
    after = sum(times * len(trace.splits(word)[1]) for word, times in TOY.items())
    by_count = wordpiece.train(lines, vocab_size=trace.initial_size + 40, score="count", pre_tokenizer="whitespace-split")
    by_score = wordpiece.train(lines, vocab_size=by_count.initial_size + 1, pre_tokenizer="whitespace-split")
    best, frequent = by_score.merges[0], by_count.merges[0]
    return (
        Step(lhs=sp.Add(*terms, evaluate=False), rhs=sp.Integer(first.count),
             why=f"corpus {corpus_text}; count({first.left}, {first.right}): the words holding the pair are "
                 f"{holders}; the trainer's "
                 f"count is {first.count}, the largest, so {first.left} + {first.right} → {first.token} is the first merge"),
        Step(lhs=_minus(chars, first.count), rhs=sp.Integer(after),
             why=f"{chars} characters before; re-splitting every word after the first merge gives {after} tokens"),
        Step(lhs=_score(best), rel=">" if best.score > frequent.score else ">=", rhs=_score(frequent),
             why=f"WordPiece: {best.left} + {best.right} scores {best.count}/({best.left_freq}·{best.right_freq}), "
                 f"the most frequent pair {frequent.left} + {frequent.right} (count {frequent.count}) only "
                 f"{frequent.count}/({frequent.left_freq}·{frequent.right_freq}): the rule picks {best.token} first"),
    )


def _builtin_example() -> tuple[Step, ...]:
    from explainer.tokenize import bpe, corpus

    trace = bpe.train(corpus.builtin_lines(), BUILTIN_SUBWORD_SIZE)
    words = dict(trace.word_counts)
    n_words, v_words = sum(words.values()), len(words)
    n_chars, v_chars = sum(times * len(word) for word, times in words.items()), trace.initial_size
    tokenizer = trace.tokenizer()
    n_sub = sum(len(tokenizer.encode(line).tokens) for line in corpus.builtin_lines())
    replaced = [m.replaced for m in trace.merges]
    per_word = lambda total: sp.N(sp.Rational(total, n_words), 3)  # noqa: E731
    return (
        Step(lhs=_minus(n_chars, sum(replaced)), rhs=sp.Integer(n_sub),
             why=f"built-in corpus, {len(replaced)} merges: {n_chars} characters minus the occurrences each merge "
                 f"replaced equals the {n_sub} tokens the trained tokenizer produces when it encodes the corpus"),
        Step(lhs=sp.Integer(n_words), rel="<", rhs=sp.Integer(n_sub),
             why=f"sequence length: {n_words} words < {n_sub} subword tokens ({per_word(n_sub)} per word)"),
        Step(lhs=sp.Integer(n_sub), rel="<", rhs=sp.Integer(n_chars),
             why=f"… < {n_chars} characters ({per_word(n_chars)} per word): attention compares every pair, "
                 f"so characters cost ≈ {sp.N(sp.Rational(n_chars, n_sub) ** 2, 3)}× the subword score entries"),
        Step(lhs=v_chars * D, rel="<", rhs=len(trace.vocab) * D,
             why=f"embedding table (one row of width d per token): {v_chars} characters < {len(trace.vocab)} "
                 "subwords …"),
        Step(lhs=len(trace.vocab) * D, rel="<", rhs=v_words * D,
             why=f"… < {v_words} distinct words in this small corpus alone (real word vocabularies run to "
                 "hundreds of thousands, and an unseen word has no id at all)"),
    )

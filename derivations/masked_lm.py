r"""Masked language modelling (BERT): corrupt some tokens, predict the originals.

    15 % of positions are selected; of those 80 % → [MASK], 10 % → a random token, 10 % unchanged.
    Fractions of all tokens: 12 % [MASK], 1.5 % random, 1.5 % selected but unchanged, 85 % not selected.
    L = Σₜ mₜ CEₜ / Σₜ mₜ   (mₜ = 1 for selected positions only)
"""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

SELECT = sp.Rational(15, 100)
MASK, RANDOM, KEEP = sp.Rational(80, 100), sp.Rational(10, 100), sp.Rational(10, 100)
N_TOKENS = 4  # sequence length for the loss steps


def pct(value) -> str:
    """A Rational as a percentage string, e.g. 3/200 → '1.5 %'."""
    return f"{float(value * 100):g} %"


@derivation("masked-language-modeling", "Masked language modelling (BERT)", "training")
def masked_language_modeling() -> Derivation:
    s, a, r, k = (Named(n, latex) for n, latex in (("s", "s"), ("a", "a"), ("r", "r"), ("u", "u")))
    V = sp.Symbol("V", integer=True, positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    ms = sp.symbols(f"m_0:{N_TOKENS}", nonnegative=True)  # positions count from 0
    ls = [Named(f"ℓ_{t}", rf"\ell_{{{t}}}", real=True) for t in range(N_TOKENS)]
    loss = Named("L", "L", real=True)
    steps = (
        define(s, SELECT, f"each position is selected for prediction with probability {pct(SELECT)}"),
        define(a, MASK, f"a selected token is replaced by [MASK] with probability {pct(MASK)}"),
        define(r, RANDOM, f"by a random vocabulary token with probability {pct(RANDOM)}"),
        define(k, KEEP, f"and left unchanged with probability {pct(KEEP)}"),
        Step(lhs=a + r + k, rhs=sp.Integer(1), why="the three cases cover every selected token"),
        Step(lhs=s * a, rhs=SELECT * MASK, why=f"fraction of all tokens shown as [MASK]: {pct(SELECT * MASK)}"),
        Step(lhs=s * r, rhs=SELECT * RANDOM, why=f"replaced by a random token: {pct(SELECT * RANDOM)}"),
        Step(lhs=s * k, rhs=SELECT * KEEP, why=f"selected but unchanged: {pct(SELECT * KEEP)}"),
        Step(lhs=1 - s, rhs=1 - SELECT, why=f"not selected at all: {pct(1 - SELECT)}"),
        Step(lhs=sp.Add(s * a, s * r, s * k, sp.UnevaluatedExpr(1 - s), evaluate=False), rhs=sp.Integer(1),
             why="the four fractions add up to all tokens"),
        Step(lhs=s * a + s * r * (1 - 1 / V), rhs=SELECT * MASK + SELECT * RANDOM * (V - 1) / V, check=prove("cancel"),
             why="positions whose input really differs from the original (a random token equals it with "
                 "probability 1/V)"),
        Step(lhs=sp.Sum(s, (sp.Symbol("t", integer=True, nonnegative=True), 0, n - 1)), rhs=SELECT * n, check=prove("doit"),
             why="linearity: a sequence of n tokens has 0.15·n selected positions on average"),
        define(loss, sp.Add(*(m * l for m, l in zip(ms, ls))) / sp.Add(*ms),
               "the loss averages the cross-entropy ℓₜ over selected positions only (mₜ = 1 if selected, else 0)"),
        Step(lhs=sp.Derivative(loss, ls[1]), rhs=ms[1] / sp.Add(*ms), check=prove("doit", "cancel"),
             why="position t's loss (here t = 1) enters with weight mₜ/Σm: 1/(number selected) if selected, 0 if not — "
                 "unselected positions give no gradient, whatever the model predicts there"),
    )
    return Derivation(
        summary=("BERT learns by filling in blanks. In each training sequence 15 % of the positions are chosen; "
                 "of those, 80 % are replaced by a [MASK] token, 10 % by a random token and 10 % are left as they "
                 "are, so that the model cannot rely on [MASK] being present (it never appears when the model is "
                 "used). Over all tokens that is 12 % masked, 1.5 % random, 1.5 % unchanged-but-predicted and "
                 "85 % not predicted. The loss is the cross-entropy of the original token, averaged over the "
                 "selected positions only: the other 85 % give no learning signal, one reason masked language "
                 "models learn less per sequence than next-token predictors, which are trained at every position."),
        symbols=(Symbol(s, "probability a position is selected"), Symbol(a, "P([MASK] | selected)"),
                 Symbol(r, "P(random token | selected)"), Symbol(k, "P(unchanged | selected)"),
                 Symbol(V, "vocabulary size"), Symbol(n, "sequence length"),
                 Symbol(sp.Symbol("m_t"), "1 if position t (t = 0 … n−1) is selected, else 0", "n"),
                 Symbol(Named("ℓ_t", r"\ell_t"), "cross-entropy of the original token at position t", "n"),
                 Symbol(loss, "the masked-LM loss of one sequence")),
        assumptions=("selection and replacement are independent random choices per position (BERT, Devlin et al. 2019)",
                     "the random token is drawn uniformly from the V vocabulary entries",
                     f"the loss steps are proved for a sequence of {N_TOKENS} positions, 0 … {N_TOKENS - 1}"),
        steps=steps,
        result=Step(lhs=sp.ImmutableMatrix([[s * a, s * r, s * k, 1 - s]]),
                    rhs=sp.ImmutableMatrix([[SELECT * MASK, SELECT * RANDOM, SELECT * KEEP, 1 - SELECT]]),
                    why="fractions of all tokens: [MASK], random, unchanged-but-predicted, not predicted"),
        example=_example(),
        example_title="'the river bank was muddy': two positions selected",
    )


def _example() -> tuple:
    words = ("the", "river", "bank", "was", "muddy")
    selected = (0, 0, 1, 0, 1)  # 'bank' → [MASK], 'muddy' kept unchanged but predicted
    probs = (None, None, sp.Rational(1, 2), None, sp.Rational(1, 4))  # model's probability of the original token
    losses = [-sp.log(p) if p is not None else sp.Integer(0) for p in probs]
    mean = sp.Add(*(m * l for m, l in zip(selected, losses))) / sum(selected)
    expected = SELECT * len(words)
    return (
        Step(lhs=sp.Mul(SELECT, len(words), evaluate=False), rhs=expected,
             why=f"{len(words)} tokens: {expected} selected on average; here 'bank' (position 2, [MASK]) "
                 "and 'muddy' (position 4, unchanged)"),
        Step(lhs=sp.Mul(sp.Rational(1, 2), sp.Add(-sp.log(probs[2]), -sp.log(probs[4]), evaluate=False),
                        evaluate=False),
             rhs=sp.expand_log(mean, force=True), check=prove("expand_log", "expand"),
             why=f"the model gives the originals probabilities 1/2 and 1/4: L ≈ {float(mean):.4f} "
                 "nats, the other three positions do not count"),
    )

r"""Softmax: turning scores into weights.

    softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ),   i, j = 0, …, n − 1

Every weight is positive and they sum to 1, so attention can read them as "how much to look at each
token". Adding the same constant to every score changes nothing, which is why code subtracts the
largest score first (no overflow). Dividing the scores by a temperature T sharpens (T → 0) or
flattens (T → ∞) the distribution.
"""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.operators import Softmax
from explainer.registry import derivation

x = sp.IndexedBase("x", real=True)
p = sp.IndexedBase("p")
i, j = sp.symbols("i j", integer=True, nonnegative=True)
n = sp.Symbol("n", integer=True, positive=True)


def softmax_i(scores, index=i):
    """``exp(x_i) / Σ_{j=0}^{n-1} exp(x_j)`` for an indexed family of scores (positions count from 0)."""
    return sp.exp(scores(index)) / sp.Sum(sp.exp(scores(j)), (j, 0, n - 1))


class Ones(sp.OneMatrix):
    """An all-ones matrix ``𝟙`` (bold 1 in LaTeX): ``x + c·𝟙`` adds ``c`` to every score of a row."""

    def _latex(self, printer) -> str:
        return r"\mathbf{1}"


def _fraction(num, den):
    """``num / den`` kept as written (SymPy would cancel common factors at once)."""
    return sp.Mul(num, sp.Pow(den, -1, evaluate=False), evaluate=False)


@derivation("softmax", "Softmax: from scores to weights", "attention")
def softmax() -> Derivation:
    c = sp.Symbol("c", real=True)
    m = Named("m", r"m", real=True)
    T = sp.Symbol("T", positive=True)
    delta = sp.Symbol("delta", positive=True)
    x0, x1 = sp.symbols("x_0 x_1", real=True)
    row = sp.MatrixSymbol("x", 1, 3)
    steps = (
        define(p[i], softmax_i(lambda t: x[t]), "definition: exponentiate each score, divide by the total"),
        Step(lhs=p[i], rel=">", rhs=0, why="each weight is positive: exp is positive and so is a sum of exps"),
        Step(lhs=sp.Sum(p[i], (i, 0, n - 1)),
             rhs=sp.Sum(sp.exp(x[i]), (i, 0, n - 1)) / sp.Sum(sp.exp(x[j]), (j, 0, n - 1)),
             why="the denominator does not depend on i, so it comes out of the sum", check=prove("sums")),
        Step(rhs=sp.Integer(1), why="numerator and denominator are the same sum: the weights sum to 1",
             check=prove("sums", "cancel")),
        Step(lhs=softmax_i(lambda t: x[t] + c), rhs=_fraction(sp.Mul(sp.exp(c), sp.exp(x[i]), evaluate=False),
                                                             sp.Mul(sp.exp(c), sp.Sum(sp.exp(x[j]), (j, 0, n - 1)), evaluate=False)),
             why="adding a constant c to every score: exp(xᵢ + c) = e^c exp(xᵢ), and e^c leaves the sum",
             check=prove("sums")),
        Step(rhs=p[i], why="e^c cancels: softmax is invariant to a shift of all scores", check=prove("sums", "cancel")),
        Step(lhs=Softmax(sp.MatAdd(row, sp.MatMul(c, Ones(1, 3), evaluate=False), evaluate=False)), rhs=Softmax(row),
             why="the same in vector form, for a row x of 3 scores (the bold 1 is the all-ones row)",
             check=prove("doit", "expand", "sums", "cancel")),
        Step(lhs=p[i], rhs=softmax_i(lambda t: x[t] - m),
             why="take c = −m with m = maxⱼ xⱼ: the stable form, every exponent xⱼ − m ≤ 0 so nothing overflows",
             check=prove("sums", "cancel")),
        Step(lhs=sp.exp(x0) / (sp.exp(x0) + sp.exp(x1)), rhs=1 / (1 + sp.exp(-(x0 - x1))),
             why="with two scores softmax is the logistic sigmoid of their difference", check=prove("cancel", "simplify")),
        Step(lhs=sp.Limit(1 / (1 + sp.exp(-delta / T)), T, sp.oo), rhs=sp.Rational(1, 2),
             why="temperature T → ∞ (scores divided by T): the weights flatten to uniform"),
        Step(lhs=sp.Limit(1 / (1 + sp.exp(-delta / T)), T, 0, "+"), rhs=sp.Integer(1),
             why="T → 0⁺ with x₀ − x₁ = δ > 0: the larger score takes all the weight (argmax, one-hot)"),
    )
    example = _example(sp.ImmutableMatrix([[2, 1, 0]]))
    return Derivation(
        summary=("Softmax turns a row of raw scores into attention weights: exponentiate each score and divide "
                 "by the total. The weights are positive and sum to 1, so each output of attention is a weighted "
                 "average. Only differences between scores matter (adding a constant changes nothing), which is "
                 "why implementations subtract the largest score before exponentiating. A temperature T divides "
                 "the scores: small T sharpens the weights towards the single largest score, large T flattens "
                 "them towards uniform."),
        symbols=(Symbol(x[i], "score of position i = 0, …, n − 1 (a row of QKᵀ/√d_k in attention)", "n"),
                 Symbol(p[i], "softmax weight of position i", "n"),
                 Symbol(n, "number of scores (keys)"),
                 Symbol(c, "any constant added to every score"),
                 Symbol(m, "the largest score, max_j x_j"),
                 Symbol(T, "temperature, T > 0"),
                 Symbol(delta, "gap between two scores, x₀ − x₁ > 0")),
        assumptions=("scores are real numbers", "n ≥ 1 scores", "temperature T > 0"),
        steps=steps,
        result=Step(lhs=p[i], rhs=softmax_i(lambda t: x[t]), why="softmax(x)ᵢ, as every framework computes it"),
        example=example,
        example_title="three scores (2, 1, 0)",
        closed_forms=softmax_forms,
    )


def _example(scores: sp.ImmutableMatrix) -> tuple:
    """Softmax of one row of integer ``scores``: the weights by name, their sum, and the shifted row."""
    exps = [sp.exp(v) for v in scores]
    names = [sp.Symbol(f"p_{t}", positive=True) for t in range(len(exps))]
    shifted = scores - max(scores) * sp.ones(1, len(exps))
    return tuple(define(name, e / sp.Add(*exps), f"score {v}: exp({v}) over the total, ≈ {sp.N(e / sum(exps), 4)}")
                 for name, e, v in zip(names, exps, scores)) + (
        Step(lhs=Softmax(scores), rhs=sp.ImmutableMatrix([names]), why="so softmax maps the row to these weights",
             check=prove("doit", "cancel")),
        Step(lhs=sp.Add(*names, evaluate=False), rhs=sp.Integer(1), why="the weights sum to 1", check=prove("cancel")),
        Step(lhs=Softmax(shifted), rhs=Softmax(scores),
             why=f"subtracting the largest score {max(scores)} first (the stable form) gives the same weights",
             check=prove("doit", "cancel")),
    )


def softmax_forms(n: int) -> dict[str, tuple]:
    """Softmax of one row ``x`` of ``n`` scores in the stable form: ``{"softmax": ((x,), row)}``."""
    row = sp.MatrixSymbol("x", 1, n)
    top = sp.Max(*row.as_explicit())
    exps = [sp.exp(row[0, t] - top) for t in range(n)]
    total = sp.Add(*exps)
    return {"softmax": ((row,), sp.ImmutableMatrix([[e / total for e in exps]]))}

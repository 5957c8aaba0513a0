r"""Why attention divides by √d_k, and what softmax's gradient looks like.

    E[q·k] = 0,   Var[q·k] = d_k,   Var[q·k / √d_k] = 1
    ∂pᵢ/∂xⱼ = pᵢ(δᵢⱼ − pⱼ),  i.e.  J = diag(p) − p pᵀ

If the components of a query and a key are independent with mean 0 and variance 1, their dot product
has variance d_k: its typical size grows like √d_k. Large scores push softmax towards a one-hot
vector, where its Jacobian diag(p) − ppᵀ is almost 0 and gradients vanish. Dividing by √d_k brings the
variance back to 1, whatever the head width.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy import stats

from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.operators import MatrixOperator
from explainer.registry import derivation
from explainer.derivations.lm_head import stable_softmax
from explainer.derivations.softmax import softmax_forms

q, k = sp.IndexedBase("q", real=True), sp.IndexedBase("k", real=True)
x, p = sp.IndexedBase("x", real=True), sp.IndexedBase("p")
i, j = sp.symbols("i j", integer=True, nonnegative=True)
d_k = sp.Symbol("d_k", integer=True, positive=True)
N_JACOBIAN = 3  # the Jacobian is proved entrywise for this many scores
DOT = Named("q·k", r"\mathbf{q}\cdot\mathbf{k}", real=True)


COIN = {-1: sp.S.Half, 1: sp.S.Half}  # a ±1 coin flip: mean 0, variance 1


@lru_cache(maxsize=1)
def term_moments() -> tuple:
    """``(E[qᵢkᵢ], E[(qᵢkᵢ)²])`` computed by ``sympy.stats`` for independent ±1 coin flips (``(0, 1)``)."""
    qi, ki = stats.FiniteRV("q_i", COIN), stats.FiniteRV("k_i", COIN)
    return stats.E(qi * ki), stats.E((qi * ki) ** 2)


def variance_of_dot(width) -> sp.Expr:
    """``Var[q·k] = d_k (m₂ − m₁²)`` with the one-term moments from :func:`term_moments`."""
    m1, m2 = term_moments()
    return sp.expand(width * (m2 - m1**2))


def _one_term_steps(m1, m2) -> tuple:
    """The moments of one term qᵢkᵢ, computed by sympy.stats: ±1 coin flips, then standard normals."""
    E = stats.Expectation
    qi, ki = stats.FiniteRV("q_i", COIN), stats.FiniteRV("k_i", COIN)
    gi, hi = stats.Normal("q_i", 0, 1), stats.Normal("k_i", 0, 1)
    return (
        Step(lhs=E(qi * ki), rhs=E(qi) * E(ki), check=prove("doit"),
             why="take qᵢ, kᵢ = ±1 with probability ½ each (mean 0, variance 1); independence: the expectation "
                 "of their product factors"),
        Step(rhs=sp.Integer(0), why="both means are 0", check=prove("doit")),
        Step(lhs=E((qi * ki) ** 2), rhs=E(qi**2) * E(ki**2), check=prove("doit"),
             why="independence again: qᵢ² and kᵢ² are independent too"),
        Step(rhs=sp.Integer(1), why="E[qᵢ²] = Var[qᵢ] + E[qᵢ]² = 1 + 0 = 1, and the same for kᵢ", check=prove("doit")),
        Step(lhs=sp.Add(E(gi**2) * E(hi**2), -(E(gi) * E(hi)) ** 2, evaluate=False), rhs=sp.Integer(1),
             check=prove("doit"), why="the same one-term variance E[qᵢ²]E[kᵢ²] − (E[qᵢ]E[kᵢ])² for standard "
                                     "normal qᵢ, kᵢ: only mean 0 and variance 1 matter"),
        define(m1, sp.Integer(0), "so m₁ = E[qᵢkᵢ] names the value 0 computed above"),
        define(m2, sp.Integer(1), "and m₂ = E[(qᵢkᵢ)²] the value 1"),
    )


def _sum_steps(m1, m2) -> tuple:
    """Linearity and independence over the d_k terms, for a symbolic width."""
    mean = Named("E[q·k]", r"\mathbb{E}[\mathbf{q}\cdot\mathbf{k}]", real=True)
    second = Named("E[(q·k)²]", r"\mathbb{E}[(\mathbf{q}\cdot\mathbf{k})^2]", real=True)
    var = Named("Var[q·k]", r"\operatorname{Var}[\mathbf{q}\cdot\mathbf{k}]", real=True)
    return (
        define(mean, sp.Sum(m1, (i, 0, d_k - 1)), "linearity: E[Σᵢ qᵢkᵢ] = Σᵢ E[qᵢkᵢ], each term with mean m₁"),
        Step(lhs=mean, rhs=d_k * m1, why="d_k equal terms", check=prove("doit")),
        define(second, sp.Sum(m2 + (d_k - 1) * m1**2, (i, 0, d_k - 1)),
               "linearity: E[(Σᵢ Xᵢ)²] = Σᵢ Σⱼ E[XᵢXⱼ] with Xᵢ = qᵢkᵢ; the term j = i is m₂ and, by "
               "independence, each of the other d_k − 1 is E[Xᵢ]E[Xⱼ] = m₁²"),
        Step(lhs=second, rhs=d_k * m2 + d_k * (d_k - 1) * m1**2, why="add up the d_k rows", check=prove("doit", "expand")),
        define(var, second - mean**2, "the variance: Var[X] = E[X²] − E[X]²"),
        Step(lhs=var, rhs=d_k * (m2 - m1**2), why="the d_k² m₁² terms cancel: variances of independent terms add",
             check=prove("doit", "expand")),
    ), mean, var


@derivation("softmax-scaling", "Why attention scales scores by 1/√d_k", "attention")
def softmax_scaling() -> Derivation:
    m1 = Named("m₁", r"m_1", real=True)
    m2 = Named("m₂", r"m_2", nonnegative=True)
    sums, mean, var = _sum_steps(m1, m2)
    steps = (
        define(DOT, sp.Sum(q[i] * k[i], (i, 0, d_k - 1)),
               "the raw attention score: a sum of d_k terms qᵢkᵢ, one per component i = 0, …, d_k − 1"),
        *_one_term_steps(m1, m2),
        *sums,
        Step(lhs=mean, rhs=sp.Integer(0), why="the raw score is centred", check=prove("doit")),
        Step(lhs=var, rhs=d_k, why="…and its variance grows with the width: standard deviation √d_k",
             check=prove("doit", "expand")),
        Step(lhs=sp.Mul(sp.Pow(1 / sp.sqrt(d_k), 2, evaluate=False), var, evaluate=False), rhs=sp.Integer(1),
             why="Var[cX] = c² Var[X] with c = 1/√d_k: the scaled score has variance 1 for every d_k",
             check=prove("doit", "expand")),
        *_jacobian_steps(),
        *_saturation_steps(),
    )
    return Derivation(
        summary=("Why divide attention scores by √d_k? If the d_k components of a query and a key are "
                 "independent with mean 0 and variance 1 (roughly true at initialisation), each product qᵢkᵢ has "
                 "mean 0 and variance 1, and the d_k independent terms add up: the score q·k has mean 0 and "
                 "variance d_k, so it grows like √d_k with the head width. Softmax's gradient is its Jacobian "
                 "diag(p) − ppᵀ; when scores are large the weights become almost one-hot and every entry of the "
                 "Jacobian tends to 0, so attention stops learning (saturation). Dividing by √d_k restores "
                 "variance 1 whatever the width, keeping softmax in its responsive range."),
        symbols=(Symbol(q[i], "component i of a query (a random variable)", "d_k"),
                 Symbol(k[i], "component i of a key (a random variable)", "d_k"),
                 Symbol(d_k, "the key/query width of one head"),
                 Symbol(m1, "mean of one term, E[qᵢkᵢ]"), Symbol(m2, "second moment of one term, E[(qᵢkᵢ)²]"),
                 Symbol(x[i], "score i fed to softmax", "n"), Symbol(p[i], "softmax weight i", "n"),
                 Symbol(sp.Symbol("t", positive=True), "a factor scaling all logits (t → ∞: ever larger scores)"),
                 Symbol(sp.Symbol("delta", positive=True), "gap between two logits before scaling")),
        assumptions=("all qᵢ, kᵢ are independent random variables with mean 0 and variance 1",
                     "expectation is linear, and E[XY] = E[X]E[Y] for independent X, Y",
                     "sympy.stats computes one term's moments for ±1 coin flips qᵢ, kᵢ, and again for standard "
                     "normals; the argument itself uses only mean 0 and variance 1",
                     "the Jacobian is proved entry by entry for n = 3 scores; the saturation limit for two"),
        steps=steps,
        result=Step(lhs=var, rhs=d_k, why="Var[q·k] = d_k, so Var[q·k/√d_k] = 1", check=prove("doit", "expand")),
        example=_example(),
        example_title="d_k = 2 with ±1 components, and the Jacobian at scores (2, 1, 0)",
        notes=("sympy.stats over a Sum of symbolic length treats the terms as one variable and returns d_k² "
               "for the variance, so the sum is done here by linearity and independence, with SymPy "
               "computing one term's moments.",),
        closed_forms=softmax_scaling_forms,
    )


def _softmax_entries(n: int) -> list:
    return [sp.exp(x[a]) / sp.Add(*(sp.exp(x[b]) for b in range(n))) for a in range(n)]


def _diag(column) -> sp.ImmutableMatrix:
    """The square matrix with ``column`` on its diagonal (``sp.diag`` mistakes Indexed entries for blocks)."""
    n = len(column)
    return sp.ImmutableMatrix(n, n, lambda a, b: column[a] if a == b else 0)


class Diag(MatrixOperator):
    """``diag(p)``: the square matrix with the column ``p`` on its diagonal."""

    name, latex_name = "diag", r"\operatorname{diag}"

    @property
    def shape(self):
        return (self.args[0].shape[0],) * 2

    def expand(self, column):
        return _diag(column)


def _jacobian_steps() -> tuple:
    """diag(p) − ppᵀ, proved entry by entry for n = N_JACOBIAN scores."""
    n = N_JACOBIAN
    idx = range(n)
    P, J = sp.MatrixSymbol("p", n, 1), sp.MatrixSymbol("J", n, n)
    jac = sp.ImmutableMatrix(n, n, [sp.Derivative(p[a], x[b]) for a in idx for b in idx])
    defs = tuple(define(p[a], e, f"softmax weight {a} of {n} scores")
                 for a, e in zip(idx, _softmax_entries(n)))
    return defs + (
        Step(lhs=J, rhs=sp.MatAdd(Diag(P), sp.MatMul(-1, P, P.T)), check=prove("doit", "cancel"),
             where=((J, jac), (P, sp.ImmutableMatrix([p[a] for a in idx]))),
             why="the quotient rule gives ∂pᵢ/∂xⱼ = pᵢ(δᵢⱼ − pⱼ): J = diag(p) − ppᵀ"),
        Step(lhs=sp.MatMul(J, sp.OneMatrix(n, 1)), rhs=sp.zeros(n, 1), check=prove("doit", "cancel"),
             why="each row of J sums to 0: raising every score by the same amount changes nothing"),
    )


def _saturation_steps() -> tuple:
    """Two logits (tδ, 0): the Jacobian entry p₀(1 − p₀) tends to 0 as t → ∞."""
    t, delta = sp.Symbol("t", positive=True), sp.Symbol("delta", positive=True)
    p0 = sp.Function("p_0")(t)
    entry = p0 * (1 - p0)
    return (
        define(p0, sp.exp(t * delta) / (sp.exp(t * delta) + 1),
               "two logits scaled by t, (tδ, 0) (only their gap matters): the weight p₀ of the first"),
        Step(lhs=entry, rhs=sp.exp(t * delta) / (sp.exp(t * delta) + 1) ** 2,
             why="the Jacobian entry ∂p₀/∂x₀ = p₀(1 − p₀) (= −∂p₀/∂x₁)", check=prove("cancel")),
        Step(lhs=sp.Rational(1, 4) - entry, rhs=(p0 - sp.Rational(1, 2)) ** 2,
             why="so the entry is at most 1/4, reached at equal logits (t = 0)", check=prove("expand", "cancel")),
        Step(lhs=sp.Limit(p0, t, sp.oo), rhs=sp.Integer(1), check=prove("doit"),
             why="as the logits grow the weights become one-hot…"),
        Step(lhs=sp.Limit(entry, t, sp.oo), rhs=sp.Integer(0), check=prove("doit"),
             why="…and the gradient through softmax vanishes: saturation"),
    )


def _at(scores):
    """``∂p₀/∂x₀`` at the given scores, written as a derivative evaluated at a point."""
    return sp.Subs(sp.Derivative(p[0], x[0]), tuple(x[a] for a in range(len(scores))), tuple(scores))


def _example() -> tuple:
    """d_k = 2 with ±1 components (16 equally likely pairs), and ∂p₀/∂x₀ at scores (2, 1, 0) and 8×."""
    q0, q1, k0, k1 = (stats.FiniteRV(name, COIN) for name in ("q_0", "q_1", "k_0", "k_1"))
    score = q0 * k0 + q1 * k1
    mean, second = stats.E(score), stats.E(score**2)
    scores = sp.ImmutableMatrix([[2, 1, 0]])
    (row,), weights = softmax_forms(3)["softmax"]
    pv = weights.xreplace({row: scores}).T  # (3, 1)
    jac = _diag(pv) - pv * pv.T
    big = 8 * scores  # the same scores with standard deviation √64 = 8 instead of 1
    pb = weights.xreplace({row: big}).T
    entry_small, entry_big = (pv[0] * (1 - pv[0])), (pb[0] * (1 - pb[0]))
    first = sp.exp(scores[0]) / sp.Add(*(sp.exp(v) for v in scores))  # p₀ as softmax writes it
    largest = ", the largest entry of J there" if abs(float(max(jac, key=float) - entry_small)) < 1e-12 else ""
    return (
        Step(lhs=DOT, rhs=q[0] * k[0] + q[1] * k[1], where=((d_k, 2),), check=prove("doit"),
             why="d_k = 2: two terms, components 0 and 1"),
        Step(lhs=stats.Expectation(score), rhs=mean, check=prove("doit"),
             why="q, k ∈ {−1, 1}² (qᵢ, kᵢ = ±1 coin flips): average q·k over the 16 equally likely pairs"),
        Step(lhs=stats.Expectation(score**2), rhs=second, check=prove("doit"),
             why=f"q·k is ±2 in 8 of the 16 cases and 0 in the others: variance {second - mean**2} = d_k"),
        Step(lhs=stats.Expectation((score / sp.sqrt(2)) ** 2), rhs=second / 2, check=prove("doit"),
             why=f"divided by √2 the variance is {second / 2}"),
        Step(lhs=_at(scores), rhs=sp.Mul(first, 1 - first, evaluate=False), check=prove("doit", "cancel"),
             why=f"scores (2, 1, 0), p ≈ {tuple(round(float(v), 3) for v in pv)}: ∂p₀/∂x₀ = p₀(1 − p₀) "
                 f"≈ {float(entry_small):.3f}{largest}"),
        Step(lhs=_at(big), rel="<", rhs=sp.Mul(sp.Rational(1, 100), _at(scores), evaluate=False),
             check=prove("doit"),
             why=f"the same scores × 8 (the size of unscaled scores when d_k = 64): ∂p₀/∂x₀ ≈ {float(entry_big):.1e} "
                 f"instead of ≈ {float(entry_small):.3f}, over a hundred times smaller"),
    )


def softmax_scaling_forms(d_k: int, n: int = 4) -> dict[str, tuple]:
    """Closed forms for widths ``d_k`` and ``n`` scores.

    * ``"variance"``: ``((), Var[q·k])`` — the Integer ``d_k`` (from the one-term moments).
    * ``"jacobian"``: ``((x,), J)`` with ``x`` a ``MatrixSymbol("x", 1, n)`` row of scores and ``J`` the
      ``n × n`` matrix ``diag(p) − ppᵀ``, ``p`` the numerically stable softmax of ``x``
      (``J[i, j] = ∂pᵢ/∂xⱼ``, torch's ``autograd.functional.jacobian(softmax)``).
    """
    positive_int(d_k, "d_k")
    positive_int(n, "n")
    row = sp.MatrixSymbol("x", 1, n)
    pcol = stable_softmax(row.as_explicit()).T  # (n, 1)
    jac = _diag(pcol) - pcol * pcol.T  # (n, n)
    return {"variance": ((), sp.Integer(variance_of_dot(d_k))), "jacobian": ((row,), jac)}

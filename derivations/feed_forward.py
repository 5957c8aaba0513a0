r"""The position-wise feed-forward network (MLP) of a transformer block.

    FFN(x) = GELU(x W₁ + b₁) W₂ + b₂,    W₁: d × d_ff,  W₂: d_ff × d,  d_ff = 4d
    GELU(x) = x Φ(x) = x (1 + erf(x/√2)) / 2  ≈  x (1 + tanh(√(2/π)(x + 0.044715 x³))) / 2

The same two-layer MLP is applied to every token on its own: it widens the vector four times, bends
it with GELU, and projects it back. It holds about two thirds of a transformer's parameters.
"""
from __future__ import annotations

from functools import lru_cache

import mpmath
import sympy as sp
from sympy import stats

from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.operators import MatrixOperator, ScalarOperator
from explainer.registry import derivation

x = sp.Symbol("x", real=True)
d = sp.Symbol("d", integer=True, positive=True)
TANH_COEFF = sp.Rational(44715, 10**6)  # 0.044715, from the GELU paper (Hendrycks & Gimpel)
GRID = (-8, 8, 801)  # where the largest |GELU − GELU_tanh| is searched: from, to, points


def gelu_erf(v):
    """GELU(v) = v Φ(v) = v (1 + erf(v/√2)) / 2 (PyTorch's default, ``approximate='none'``)."""
    return v * (1 + sp.erf(v / sp.sqrt(2))) / 2


def gelu_tanh(v):
    """v (1 + tanh(√(2/π)(v + 0.044715 v³))) / 2 (PyTorch's ``approximate='tanh'``)."""
    return v * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (v + TANH_COEFF * v**3))) / 2


def parameter_count(width, hidden):
    """W₁ (d·d_ff) + b₁ (d_ff) + W₂ (d_ff·d) + b₂ (d): ``2·d·d_ff + d_ff + d``."""
    return 2 * width * hidden + hidden + width


@lru_cache(maxsize=1)
def largest_gelu_gap() -> tuple[float, float]:
    """``(x*, |GELU(x*) − GELU_tanh(x*)|)``, searched with mpmath on :data:`GRID`, then on a grid 100×
    finer around the best point."""
    def gap(v):
        exact = v * (1 + mpmath.erf(v / mpmath.sqrt(2))) / 2
        approx = v * (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (v + mpmath.mpf("0.044715") * v**3))) / 2
        return abs(exact - approx)

    lo, hi, n = GRID
    step = mpmath.mpf(hi - lo) / (n - 1)
    best = max((lo + t * step for t in range(n)), key=gap)
    best = max((best + (t - 100) * step / 100 for t in range(201)), key=gap)
    return float(best), float(gap(best))


class GELU(ScalarOperator):
    """``GELU(x) = x Φ(x)``, expanded with erf (PyTorch's default)."""

    name, latex_name = "GELU", r"\operatorname{GELU}"

    def expand(self, v):
        return gelu_erf(v)


class GELUTanh(ScalarOperator):
    """GPT-2's tanh approximation of GELU (PyTorch's ``approximate='tanh'``)."""

    name, latex_name = "GELU_tanh", r"\operatorname{GELU}_{\tanh}"

    def expand(self, v):
        return gelu_tanh(v)


class FFN(MatrixOperator):
    """``FFN(X) = GELU(X W₁ + 𝟙 b₁) W₂ + 𝟙 b₂`` row by row, for a sequence X of n tokens of width w, with
    symbolic weights ``W₁`` (w × :attr:`hidden`), ``b₁``, ``W₂`` (hidden × w), ``b₂``."""

    name, latex_name = "FFN", r"\operatorname{FFN}"
    hidden = 3

    def expand(self, X):
        width, ones = X.cols, sp.ones(X.rows, 1)
        W1, b1 = sp.MatrixSymbol("W_1", width, self.hidden), sp.MatrixSymbol("b_1", 1, self.hidden)
        W2, b2 = sp.MatrixSymbol("W_2", self.hidden, width), sp.MatrixSymbol("b_2", 1, width)
        pre = X * W1.as_explicit() + ones * b1.as_explicit()
        return pre.applyfunc(gelu_erf) * W2.as_explicit() + ones * b2.as_explicit()


class NormalBelow(ScalarOperator):
    """``P(Z ≤ x)`` for a standard normal Z, computed by sympy.stats from the normal density (its cdf)."""

    name, latex_name = "P", r"\operatorname{P}"

    def expand(self, v):
        return stats.cdf(stats.Normal("Z", 0, 1))(v)

    def _sympystr(self, printer) -> str:
        return f"P(Z <= {printer._print(self.args[0])})"

    def _pretty(self, printer):
        return printer._print(stats.P(stats.Normal("Z", 0, 1) <= self.args[0], evaluate=False))

    def _latex(self, printer, exp=None) -> str:
        return rf"\operatorname{{P}}\left(Z \leq {printer._print(self.args[0])}\right)"


def _sum(*terms):
    """An unevaluated sum of unevaluated products: the count as a reader adds it up."""
    return sp.Add(*(sp.Mul(*t, evaluate=False) if isinstance(t, tuple) else t for t in terms), evaluate=False)


@derivation("feed-forward", "The feed-forward network and GELU", "transformer-block")
def feed_forward() -> Derivation:
    Phi = sp.Function("Phi")(x)
    d_ff = Named("d_ff", r"d_{\mathrm{ff}}", integer=True, positive=True)
    P = Named("P_FFN", r"P_{\mathrm{FFN}}")
    x_star = Named("x*", r"x^{*}")
    where, gap = largest_gelu_gap()
    steps = (
        define(Phi, (1 + sp.erf(x / sp.sqrt(2))) / 2, "Φ, written with the error function erf"),
        Step(lhs=Phi, rhs=NormalBelow(x), check=prove("doit", "expand_func", "expand"),
             why="the probability that a standard normal Z is at most x: its cumulative distribution"),
        Step(lhs=GELU(x), rhs=x * Phi, check=prove("doit", "expand"),
             why="GELU weights its input by the probability that a standard normal is below it"),
        Step(lhs=GELUTanh(x), rhs=gelu_tanh(x), check=prove("doit"),
             why="the tanh approximation used by GPT-2 (cheaper than erf on old hardware); "
                 "0.044715 = 8943/200000"),
        Step(lhs=x - GELU(x), rhs=x * sp.erfc(x / sp.sqrt(2)) / 2, check=prove("doit", "expand_func", "expand"),
             why="the gap to the identity is x(1 − Φ(x)), with erfc = 1 − erf"),
        Step(lhs=sp.Limit(x * sp.erfc(x / sp.sqrt(2)) / 2, x, sp.oo), rhs=sp.Integer(0), check=prove("doit"),
             why="and it vanishes as x → ∞: GELU passes large positive inputs through, like ReLU…"),
        Step(lhs=GELU(x), rhs=x * sp.erfc(-x / sp.sqrt(2)) / 2, check=prove("doit", "expand_func", "expand"),
             why="GELU in the erfc form PyTorch evaluates (accurate for negative x)"),
        Step(lhs=sp.Limit(x * sp.erfc(-x / sp.sqrt(2)) / 2, x, -sp.oo), rhs=sp.Integer(0), check=prove("doit"),
             why="…and tends to 0 for large negative inputs"),
        Step(lhs=sp.Subs(sp.Derivative(GELU(x), x), x, 0), rhs=sp.Rational(1, 2), check=prove("doit"),
             why="smooth at 0, with slope ½ there (ReLU has a kink)"),
        Step(lhs=sp.Subs(sp.Derivative(GELUTanh(x), x), x, 0), rhs=sp.Rational(1, 2), check=prove("doit"),
             why="the tanh form has the same value and slope at 0"),
        Step(lhs=sp.Abs(GELU(x_star) - GELUTanh(x_star)), rel="<", rhs=sp.Rational(1, 1000),
             where=((x_star, sp.Rational(f"{where:.4f}")),), check=prove("doit"),
             why=f"the largest difference of the two forms, searched by mpmath on {GRID[2]} points in "
                 f"[{GRID[0]}, {GRID[1]}] and refined: {gap:.3e} at x* ≈ {where:.4f}"),
        _position_wise_step(),
        define(P, _sum((d, d_ff), d_ff, (d_ff, d), d),
               "parameters: W₁ (d × d_ff) + b₁ (d_ff) + W₂ (d_ff × d) + b₂ (d); GELU has none"),
        Step(lhs=P, rhs=parameter_count(d, d_ff), check=prove("expand"), why="add up"),
        Step(lhs=P, rhs=8 * d**2 + 5 * d, where=((d_ff, 4 * d),), check=prove("expand"),
             why="with the usual 4× expansion of the hidden layer the MLP has 8d² + 5d parameters, twice the "
                 "4d² + 4d of attention"),
    )
    return Derivation(
        summary=("After attention has mixed information between tokens, every token goes through the same "
                 "small neural network on its own (position-wise): a linear layer widens the vector from d to "
                 "d_ff = 4d numbers, GELU bends each of them, and a second linear layer projects back to d. "
                 "GELU(x) = x·Φ(x) keeps positive inputs, damps negative ones towards 0 and, unlike ReLU, is "
                 "smooth; GPT-2 used a tanh approximation that differs from the exact erf form by less than "
                 "5·10⁻⁴. With the 4× expansion one MLP has 8d² + 5d parameters."),
        symbols=(Symbol(x, "one pre-activation entry (GELU acts entry by entry)"),
                 Symbol(Phi, "standard normal cumulative distribution function"),
                 Symbol(GELU(x), "x Φ(x), the exact (erf) form"),
                 Symbol(GELUTanh(x), "GPT-2's tanh approximation of GELU"),
                 Symbol(sp.MatrixSymbol("X", 2, d), "a sequence of tokens, one per row x_t (t = 0 … n − 1)",
                        "n × d"),
                 Symbol(FFN(sp.MatrixSymbol("X", 2, d)), "GELU(X W₁ + 𝟙 b₁) W₂ + 𝟙 b₂, the same weights for "
                        "every row", "n × d"),
                 Symbol(sp.MatrixSymbol("W_1", d, d_ff), "first weight matrix", "d × d_ff"),
                 Symbol(sp.MatrixSymbol("b_1", 1, d_ff), "first bias", "1 × d_ff"),
                 Symbol(sp.MatrixSymbol("W_2", d_ff, d), "second weight matrix", "d_ff × d"),
                 Symbol(sp.MatrixSymbol("b_2", 1, d), "second bias", "1 × d"),
                 Symbol(d, "model width d_model"), Symbol(d_ff, "hidden width, usually 4d"),
                 Symbol(P, "parameters of one feed-forward block")),
        assumptions=("row vectors, x W + b (nn.Linear stores W transposed, out × in)",
                     f"position-wise: proved for 2 tokens, d = 2, d_ff = {FFN.hidden}, with symbolic weights",
                     "the largest difference is searched numerically (mpmath), not proved"),
        steps=steps,
        result=Step(lhs=P, rhs=8 * d**2 + 5 * d, check=prove("expand"),
                    why="parameters of one feed-forward block with d_ff = 4d"),
        example=_example(P),
        example_title="a one-number token (d = 1, d_ff = 4), then GPT-2 small",
        closed_forms=feed_forward_forms,
    )


def _position_wise_step() -> Step:
    """FFN(X) row t = FFN(row t of X): the output of token 0 does not depend on token 1."""
    x0, x1 = sp.MatrixSymbol("x_0", 1, 2), sp.MatrixSymbol("x_1", 1, 2)
    X = sp.MatrixSymbol("X", 2, 2)
    return Step(lhs=FFN(X), rhs=sp.BlockMatrix([[FFN(x0)], [FFN(x1)]]), where=((X, sp.BlockMatrix([[x0], [x1]])),),
                check=prove("doit"),
                why="applied to a sequence X (one token per row), row t of the output is FFN of row t alone: "
                    "no token sees another here, mixing across positions is attention's job")


def _example(P) -> tuple:
    """d = 1, d_ff = 4: x = 2, W₁ = (1, −1, ½, 0), b₁ = 0, W₂ = (½, ½, ½, ½)ᵀ, b₂ = 0."""
    W1 = sp.ImmutableMatrix([[1, -1, sp.Rational(1, 2), 0]])
    W2 = sp.ImmutableMatrix([sp.Rational(1, 2)] * 4)
    pre = sp.ImmutableMatrix([[2]]) * W1  # (1, 4)
    hidden = pre.applyfunc(gelu_erf)
    out = (hidden * W2)[0]
    gelus = sp.ImmutableMatrix([[GELU(v) for v in pre]])
    small, gpt2 = parameter_count(1, 4), parameter_count(768, 4 * 768)
    return (
        Step(lhs=sp.MatMul(sp.ImmutableMatrix([[2]]), W1, evaluate=False), rhs=pre,
             why="the token x = 2 widened to 4 pre-activations by W₁ (b₁ = 0)"),
        Step(lhs=gelus, rhs=hidden, check=prove("doit"),
             why=f"GELU ≈ {tuple(round(float(v), 4) for v in hidden)} (negative inputs leak a little)"),
        Step(lhs=sp.MatMul(gelus, W2, evaluate=False), rhs=sp.ImmutableMatrix([[out]]), check=prove("doit"),
             why=f"projected back to one number by W₂ = (½, ½, ½, ½)ᵀ (b₂ = 0): ≈ {float(out):.4f}"),
        Step(lhs=sp.Subs(P, d, 1), rhs=sp.Integer(small), check=prove("doit"),
             why=f"its parameters: W₁ 4 + b₁ 4 + W₂ 4 + b₂ 1 = {small} = 8·1² + 5·1"),
        Step(lhs=sp.Subs(P, d, 768), rhs=sp.Integer(gpt2), check=prove("doit"),
             why=f"GPT-2 small (d = 768, d_ff = 3072): 8·768² + 5·768 = {gpt2:,} parameters per MLP"),
    )


def feed_forward_forms(d_model: int, d_ff: int | None = None) -> dict[str, tuple]:
    """Closed forms for an MLP of width ``d_model`` and hidden width ``d_ff`` (default ``4·d_model``).

    * ``"gelu_erf"``: ``((x,), x(1 + erf(x/√2))/2)`` — ``F.gelu`` (exact), entrywise in the Symbol ``x``.
    * ``"gelu_tanh"``: ``((x,), x(1 + tanh(√(2/π)(x + 0.044715x³)))/2)`` — ``F.gelu(approximate='tanh')``.
    * ``"parameters"``: ``((), 2·d·d_ff + d_ff + d)`` as a SymPy Integer (``sum(p.numel())`` of two nn.Linear).

    Note: SymPy's ``"numpy"`` printer maps ``erf`` to ``math.erf``, which takes scalars only; lambdify
    ``gelu_erf`` with ``["scipy", "numpy"]`` (or ``np.vectorize``) for arrays.
    """
    positive_int(d_model, "d_model")
    hidden = 4 * d_model if d_ff is None else positive_int(d_ff, "d_ff")
    v = sp.Symbol("x", real=True)
    return {"gelu_erf": ((v,), gelu_erf(v)), "gelu_tanh": ((v,), gelu_tanh(v)),
            "parameters": ((), sp.Integer(parameter_count(d_model, hidden)))}

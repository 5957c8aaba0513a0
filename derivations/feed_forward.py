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


@derivation("feed-forward", "The feed-forward network and GELU", "transformer-block")
def feed_forward() -> Derivation:
    Phi, G, Gt = sp.Function("Phi")(x), sp.Function("GELU")(x), sp.Function("GELU_tanh")(x)
    d_ff = Named("d_ff", r"d_{\mathrm{ff}}", integer=True, positive=True)
    where, gap = largest_gelu_gap()
    x_star = sp.Float(where, 30)
    steps = (
        define(Phi, (1 + sp.erf(x / sp.sqrt(2))) / 2, "Φ, written with the error function erf"),
        Step(lhs=Phi, rhs=stats.cdf(stats.Normal("Z", 0, 1))(x), check=prove("expand"),
             why="Φ(x) = P(Z ≤ x), the cumulative distribution of a standard normal Z"),
        define(G, x * Phi, "GELU weights its input by the probability that a standard normal is below it"),
        define(Gt, gelu_tanh(x), "the tanh approximation used by GPT-2 (cheaper than erf on old hardware)"),
        Step(lhs=x - G, rhs=x * sp.erfc(x / sp.sqrt(2)) / 2, check=prove("expand_func", "expand"),
             why="the gap to the identity is x(1 − Φ(x)), with erfc = 1 − erf"),
        Step(lhs=sp.Limit(x * sp.erfc(x / sp.sqrt(2)) / 2, x, sp.oo), rhs=sp.Integer(0), check=prove("doit"),
             why="and it vanishes as x → ∞: GELU passes large positive inputs through, like ReLU…"),
        Step(lhs=G, rhs=x * sp.erfc(-x / sp.sqrt(2)) / 2, check=prove("expand_func", "expand"),
             why="GELU in the erfc form PyTorch evaluates (accurate for negative x)"),
        Step(lhs=sp.Limit(x * sp.erfc(-x / sp.sqrt(2)) / 2, x, -sp.oo), rhs=sp.Integer(0), check=prove("doit"),
             why="…and tends to 0 for large negative inputs"),
        Step(lhs=sp.Subs(sp.Derivative(G, x), x, 0), rhs=sp.Rational(1, 2), check=prove("doit"),
             why="smooth at 0, with slope ½ there (ReLU has a kink)"),
        Step(lhs=sp.Subs(sp.Derivative(Gt, x), x, 0), rhs=sp.Rational(1, 2), check=prove("doit"),
             why="the tanh form has the same value and slope at 0"),
        Step(lhs=sp.Abs(gelu_erf(x_star) - gelu_tanh(x_star)), rel="<", rhs=sp.Rational(1, 1000),
             why=f"the largest difference of the two forms, searched by mpmath on {GRID[2]} points in "
                 f"[{GRID[0]}, {GRID[1]}] and refined: {gap:.3e} at x ≈ {where:.4f}"),
        *_position_wise_steps(),
        Step(lhs=d * d_ff + d_ff + d_ff * d + d, rhs=parameter_count(d, d_ff), check=prove("expand"),
             why="parameters: W₁ (d × d_ff) + b₁ (d_ff) + W₂ (d_ff × d) + b₂ (d)"),
        define(d_ff, 4 * d, "the usual 4× expansion of the hidden layer"),
        Step(lhs=parameter_count(d, d_ff), rhs=8 * d**2 + 5 * d, check=prove("expand"),
             why="so the MLP has 8d² + 5d parameters, twice the 4d² + 4d of attention"),
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
                 Symbol(sp.MatrixSymbol("W_1", d, d_ff), "first weight matrix", "d × d_ff"),
                 Symbol(sp.MatrixSymbol("b_1", 1, d_ff), "first bias", "1 × d_ff"),
                 Symbol(sp.MatrixSymbol("W_2", d_ff, d), "second weight matrix", "d_ff × d"),
                 Symbol(sp.MatrixSymbol("b_2", 1, d), "second bias", "1 × d"),
                 Symbol(d, "model width d_model"), Symbol(d_ff, "hidden width, usually 4d")),
        assumptions=("row vectors, x W + b (nn.Linear stores W transposed, out × in)",
                     "position-wise: proved for 2 tokens, d = 2, d_ff = 3, with GELU as any entrywise function",
                     "the largest difference is searched numerically (mpmath), not proved"),
        steps=steps,
        result=Step(lhs=parameter_count(d, 4 * d), rhs=8 * d**2 + 5 * d, check=prove("expand"),
                    why="parameters of one feed-forward block with d_ff = 4d"),
        example=_example(),
        example_title="a one-number token (d = 1, d_ff = 4)",
        closed_forms=feed_forward_forms,
    )


def _position_wise_steps() -> tuple:
    """FFN(X) row t = FFN(row t of X), and row 1's output does not depend on row 2's input."""
    n, width, hidden = 2, 2, 3
    X, W1, b1 = sp.MatrixSymbol("X", n, width), sp.MatrixSymbol("W_1", width, hidden), sp.MatrixSymbol("b_1", 1, hidden)
    W2, b2 = sp.MatrixSymbol("W_2", hidden, width), sp.MatrixSymbol("b_2", 1, width)
    act = sp.Function("GELU")

    def ffn(rows, count):  # (count, width) -> (count, width)
        pre = rows * W1.as_explicit() + sp.ImmutableMatrix.ones(count, 1) * b1.as_explicit()
        return pre.applyfunc(act) * W2.as_explicit() + sp.ImmutableMatrix.ones(count, 1) * b2.as_explicit()

    out = ffn(X.as_explicit(), n)  # (2, 2)
    return (
        Step(lhs=out[1, :], rhs=ffn(X.as_explicit()[1, :], 1), check=prove("expand"),
             why="applied to a sequence X (one token per row), row t of the output is FFN of row t alone"),
        Step(lhs=out[0, :].applyfunc(lambda e: sp.Derivative(e, X[1, 0])), rhs=sp.zeros(1, width), check=prove("doit"),
             why="no token sees another here: mixing across positions is attention's job"),
    )


def _example() -> tuple:
    """d = 1, d_ff = 4: x = 2, W₁ = (1, −1, ½, 0), b₁ = 0, W₂ = (½, ½, ½, ½)ᵀ, b₂ = 0."""
    pre = sp.ImmutableMatrix([[2]]) * sp.ImmutableMatrix([[1, -1, sp.Rational(1, 2), 0]])  # (1, 4)
    hidden = pre.applyfunc(gelu_erf)
    out = (hidden * sp.ImmutableMatrix([sp.Rational(1, 2)] * 4))[0]
    gpt2 = parameter_count(768, 4 * 768)
    return (
        Step(lhs=pre.applyfunc(lambda v: v * stats.cdf(stats.Normal("Z", 0, 1))(v)), rhs=hidden,
             why=f"pre-activations {tuple(pre)}: GELU ≈ {tuple(round(float(v), 4) for v in hidden)} "
                 "(negative inputs leak a little)", check=prove("doit")),
        Step(lhs=sp.MatMul(hidden, sp.ImmutableMatrix([sp.Rational(1, 2)] * 4)), rhs=sp.ImmutableMatrix([[out]]),
             why=f"projected back to one number: ≈ {float(out):.4f}"),
        Step(lhs=sp.Add(*(sp.Integer(v) for v in (1 * 4, 4, 4 * 1, 1)), evaluate=False), rhs=parameter_count(1, 4),
             why=f"its parameters: W₁, b₁, W₂, b₂ = {parameter_count(1, 4)} = 8·1² + 5·1"),
        Step(lhs=sp.Add(8 * sp.Integer(768) ** 2, 5 * sp.Integer(768), evaluate=False), rhs=sp.Integer(gpt2),
             why=f"GPT-2 small (d = 768, d_ff = 3072): {gpt2:,} parameters per MLP"),
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

r"""RMSNorm: LayerNorm without the centring, as Llama, Mistral and T5 use it.

    RMSNorm(x) = x / √(mean(x²) + ε) ⊙ g

It divides a token's vector by its root mean square and scales entry t by a learned g_t. No mean is
subtracted and no shift β is added: one reduction instead of two, d parameters instead of 2d. The price
is that it forgets the vector's scale but not its offset (LayerNorm forgets both).
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.layer_norm import LN, mean
from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, prove
from explainer.notation import Named
from explainer.operators import MatrixOperator
from explainer.registry import derivation

D = 4  # width of the vectors the identities are proved for
eps = sp.Symbol("epsilon", positive=True)
c = sp.Symbol("c", positive=True)
d = sp.Symbol("d", integer=True, positive=True)


def rms_norm_row(x_entries, g_entries, epsilon) -> sp.ImmutableMatrix:
    """``x_t g_t / √(mean(x²) + ε)`` for one row (the definition, as ``nn.RMSNorm`` computes it)."""
    rms = sp.sqrt(mean([v**2 for v in x_entries]) + epsilon)
    return sp.ImmutableMatrix([[v * w / rms for v, w in zip(x_entries, g_entries)]])


class RMSNorm(MatrixOperator):
    """``RMSNorm(x, g, ε)`` of a 1 × d row: ``x / √(mean(x²) + ε) ⊙ g``."""

    name, latex_name = "RMSNorm", r"\operatorname{RMSNorm}"

    def expand(self, x, g, epsilon):
        return rms_norm_row(list(x), list(g), epsilon)


def _row(values) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix([[sp.sympify(v) for v in values]])


@derivation("rms-norm", "RMSNorm: normalising by the root mean square", "modern-llms")
def rms_norm() -> Derivation:
    xs = sp.symbols(f"x_0:{D}", real=True)
    gs = sp.symbols(f"g_0:{D}", real=True)
    x, g = sp.MatrixSymbol("x", 1, D), sp.MatrixSymbol("g", 1, D)
    z = sp.MatrixSymbol("z", 1, D)
    ones = sp.OneMatrix(1, D)
    r = Named("r")
    centred = _row([*xs[:-1], -sp.Add(*xs[:-1])])
    flops_ln, flops_rms = Named("F_LN", r"F_{\mathrm{LN}}"), Named("F_RMS", r"F_{\mathrm{RMS}}")
    explicit_x = ((x, _row(xs)), (g, _row(gs)))
    steps = (
        Step(lhs=RMSNorm(x, g, eps), rhs=sp.ImmutableMatrix([[v * w / r for v, w in zip(xs, gs)]]),
             where=(*explicit_x, (r, sp.sqrt(mean([v**2 for v in xs]) + eps))),
             why="the definition written out: every entry divided by the root mean square r, then scaled by g"),
        Step(lhs=RMSNorm(c * x, g, eps), rhs=RMSNorm(x, g, eps / c**2),
             check=prove("doit", "cancel", "simplify"),
             why="scaling x by c > 0 is the same as shrinking ε by c²: c cancels between x and r"),
        Step(lhs=RMSNorm(c * x, g, 0), rhs=RMSNorm(x, g, 0),
             check=prove("doit", "cancel", "simplify"),
             why="so with ε = 0 RMSNorm is invariant to the scale of x (ε only matters for tiny vectors)"),
        Step(lhs=sp.MatMul(sp.Rational(1, D), RMSNorm(x, ones, 0), RMSNorm(x, ones, 0).T, evaluate=False), rhs=sp.ImmutableMatrix([[1]]),
             check=prove("doit", "cancel"),
             why="with g = 1 and ε = 0 the output has root mean square 1 (for x ≠ 0)"),
        Step(lhs=LN(z, eps), rhs=RMSNorm(z, ones, eps), where=((z, centred),), check=prove("doit", "cancel"),
             why="on a vector whose entries sum to 0 (mean 0), LayerNorm's centring does nothing: LN = RMSNorm"),
        Step(lhs=LN(x + c * ones, eps), rhs=LN(x, eps), check=prove("doit", "cancel"),
             why="LayerNorm forgets an offset c added to every entry; RMSNorm does not (example 2)"),
        Step(lhs=flops_ln - flops_rms, rhs=3 * d,
             where=((flops_ln, sp.Add(d, d, 2 * d, d, 2 * d, evaluate=False)),
                    (flops_rms, sp.Add(2 * d, d, d, evaluate=False))),
             why="cost per vector of d: LN takes the mean (d), subtracts it (d), squares and sums (2d), divides "
                 "(d), applies γ and β (2d); RMSNorm squares and sums, divides, applies g: 3d operations, one "
                 "reduction (the mean) and d parameters (β) fewer"),
    )
    return Derivation(
        summary=("Llama, Mistral and T5 normalise with RMSNorm instead of LayerNorm: each token's vector is "
                 "divided by its root mean square √(mean(x²) + ε) and scaled entry by entry by a learned g. "
                 "There is no centring and no shift β. The output's scale is fixed whatever the input's scale "
                 "(proved: scaling x by c is the same as dividing ε by c², so with ε = 0 it is invariant), but "
                 "adding a constant to every entry changes the output, where LayerNorm would forget it. On a "
                 "vector of mean 0 the two agree. What it saves: one reduction over the vector, 3d of about 7d "
                 "operations, and the d parameters of β."),
        symbols=(Symbol(x, f"one token's vector, entries x_0 … x_{{d−1}} (proved for d = {D})", "1 × d"),
                 Symbol(g, "learned scale (the module's weight)", "1 × d"),
                 Symbol(eps, "small constant inside the square root (Llama: 1e-5 or 1e-6)"),
                 Symbol(c, "a positive scale, or an offset added to every entry"),
                 Symbol(r, "the root mean square √(mean(x²) + ε)"),
                 Symbol(z, "a vector whose entries sum to 0"),
                 Symbol(d, "vector width")),
        assumptions=(f"identities proved for d = {D} symbolic real entries", "c > 0 for the scale steps",
                     "x ≠ 0 where ε = 0", "operations counted one per add, subtract, multiply or divide"),
        steps=steps,
        result=Step(lhs=RMSNorm(c * x, g, eps), rhs=RMSNorm(x, g, eps / c**2),
                    check=prove("doit", "cancel", "simplify"),
                    why="RMSNorm forgets the scale of x (up to ε), not its offset"),
        example=_example(),
        example_title="x = (−1, 1, −1, 1), g = 1, ε = 0: scaled, then shifted",
        notes=("Zhang & Sennrich, 'Root Mean Square Layer Normalization' (NeurIPS 2019) report 7%–64% less "
               "running time than LayerNorm across their models; the count above is the operation count, "
               "not a timing.",
               "transformers' LlamaRMSNorm computes in float32 whatever the input dtype, then casts back "
               "before multiplying by g; torch.nn.RMSNorm computes in the input's dtype."),
        closed_forms=rms_norm_forms,
    )


def _example() -> tuple:
    """RMSNorm of (−1, 1, −1, 1) (root mean square 1), of 3× it, and of it + 1; LN of it + 1."""
    x = _row([-1, 1, -1, 1])
    ones = sp.OneMatrix(1, D)
    root2 = sp.sqrt(2)
    return (
        Step(lhs=RMSNorm(x, ones, 0), rhs=x, check=prove("doit"),
             why="its root mean square is 1, so RMSNorm leaves it as it is"),
        Step(lhs=RMSNorm(3 * x, ones, 0), rhs=x, check=prove("doit"), why="scaled by 3: the same output"),
        Step(lhs=RMSNorm(x + ones, ones, 0), rhs=_row([0, root2, 0, root2]), check=prove("doit", "radsimp"),
             why="shifted by 1: root mean square √2, a different output: RMSNorm keeps the offset"),
        Step(lhs=LN(x + ones, 0), rhs=x, check=prove("doit", "radsimp"),
             why="LayerNorm of the shifted vector: the mean 1 is subtracted first, the offset is gone"),
    )


def rms_norm_forms(d: int) -> dict[str, tuple]:
    """RMSNorm of one row of width ``d``: ``{"rms_norm": ((x, g, eps), row)}`` with ``x``, ``g`` the
    ``1 × d`` MatrixSymbols ``x`` and ``g`` (the module's weight), ``eps`` the Symbol ``eps``, and
    ``row`` the ``1 × d`` ImmutableMatrix ``x_t g_t / √(mean(x²) + eps)``."""
    positive_int(d, "d")
    x, g = sp.MatrixSymbol("x", 1, d), sp.MatrixSymbol("g", 1, d)
    epsilon = sp.Symbol("eps", positive=True)
    return {"rms_norm": ((x, g, epsilon), rms_norm_row(list(x.as_explicit()), list(g.as_explicit()), epsilon))}

r"""Residual connections and layer normalisation: the plumbing of a transformer block.

    LN(x) = γ ⊙ (x − μ) / √(σ² + ε) + β,   μ = mean(x),  σ² = mean((x − μ)²)
    y = x + F(x)   ⇒   ∂y/∂x = I + J_F

LayerNorm recentres and rescales each token's vector (mean 0, variance ≈ 1) before the learned affine
part γ, β; the residual path adds the identity to every block's Jacobian, so gradients reach early
layers even when a block's own Jacobian is small.
"""
from __future__ import annotations

import sympy as sp

from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.operators import MatrixOperator
from explainer.registry import derivation

D = 4  # width of the vectors the normalisation steps are proved for
eps = sp.Symbol("epsilon", positive=True)
c = sp.Symbol("c", real=True)


def mean(entries):
    """The mean of a row's entries."""
    return sp.Add(*entries) / len(entries)


def layer_norm_row(x_entries, gamma_entries, beta_entries, epsilon) -> sp.ImmutableMatrix:
    """γ ⊙ (x − μ)/√(σ² + ε) + β for one row, with the biased variance σ² = mean((x − μ)²)."""
    mu = mean(x_entries)
    var = mean([(v - mu) ** 2 for v in x_entries])
    return sp.ImmutableMatrix([[g * (v - mu) / sp.sqrt(var + epsilon) + b
                                for v, g, b in zip(x_entries, gamma_entries, beta_entries)]])


class LN(MatrixOperator):
    """``LN(x, ε)`` of a 1 × d row, before the affine part: ``(x − μ) / √(σ² + ε)``."""

    name, latex_name = "LN", r"\operatorname{LN}"

    def expand(self, x, epsilon):
        return layer_norm_row(list(x), [1] * x.cols, [0] * x.cols, epsilon)


class LayerNorm(MatrixOperator):
    """``LayerNorm(x, γ, β, ε)`` of a 1 × d row, as ``nn.LayerNorm`` computes it: ``γ ⊙ LN(x, ε) + β``."""

    name, latex_name = "LayerNorm", r"\operatorname{LayerNorm}"

    def expand(self, x, gamma, beta, epsilon):
        return layer_norm_row(list(x), list(gamma), list(beta), epsilon)


class J(MatrixOperator):
    """``J(f, x)``: the Jacobian ∂f/∂x of a column ``f`` with respect to the column ``x``."""

    name, latex_name = "J", "J"

    @property
    def shape(self):
        return (self.args[0].shape[0], self.args[1].shape[0])

    def expand(self, f, x):
        return sp.ImmutableMatrix(f).jacobian(x)


def _row(values) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix([[sp.sympify(v) for v in values]])


@derivation("residual-layernorm", "Residual connections and LayerNorm", "transformer-block")
def residual_layernorm() -> Derivation:
    xs = sp.symbols(f"x_0:{D}", real=True)
    x = sp.MatrixSymbol("x", 1, D)
    mu = Named("μ", r"\mu", real=True)
    var = Named("σ²", r"\sigma^2", nonnegative=True)
    gamma, beta = sp.MatrixSymbol("gamma", 1, D), sp.MatrixSymbol("beta", 1, D)
    ones = sp.OneMatrix(D, 1)
    mean_of = lambda row: sp.MatMul(sp.Rational(1, D), row, ones, evaluate=False)  # noqa: E731
    steps = (
        define(mu, mean(xs), f"the mean of the token's {D} entries"),
        define(var, mean([(v - mu) ** 2 for v in xs]), "their (biased) variance, as nn.LayerNorm computes it"),
        Step(lhs=LN(x, eps), rhs=_row([(v - mu) / sp.sqrt(var + eps) for v in xs]), where=((x, _row(xs)),),
             check=prove("doit"),
             why="normalise: subtract the mean, divide by √(σ² + ε); ε > 0 avoids division by 0"),
        Step(lhs=mean_of(LN(x, eps)), rhs=sp.ImmutableMatrix([[0]]), check=prove("doit", "expand", "cancel"),
             why="the normalised entries have mean 0: the deviations xᵢ − μ add up to 0"),
        Step(lhs=sp.MatMul(sp.Rational(1, D), LN(x, eps), LN(x, eps).T, evaluate=False),
             rhs=sp.ImmutableMatrix([[var / (var + eps)]]), check=prove("doit", "expand", "cancel"),
             why="and mean square (their variance) σ²/(σ² + ε)"),
        Step(lhs=sp.Limit(var / (var + eps), eps, 0, "+"), rhs=sp.Integer(1), check=prove("doit", "cancel"),
             why="which tends to 1 as ε → 0 (when σ² > 0): mean 0, variance 1 before the affine part"),
        Step(lhs=LN(x + c * ones.T, eps), rhs=LN(x, eps), check=prove("doit", "cancel"),
             why="adding the same constant c to every entry changes nothing: LN forgets the vector's offset"),
        Step(lhs=LayerNorm(x, gamma, beta, eps), rhs=sp.MatAdd(sp.HadamardProduct(gamma, LN(x, eps)), beta),
             check=prove("doit", "expand"),
             why="the learned affine part: scale entry t by γ_t and shift it by β_t (nn.LayerNorm's weight "
                 "and bias)"),
        *_residual_steps(),
    )
    return Derivation(
        summary=("Each sub-layer of a transformer block (attention, MLP) is wrapped as y = x + F(LN(x)) "
                 "(pre-LN, as in GPT-2). LayerNorm rescales one token's vector: it subtracts the mean of its "
                 "entries and divides by their standard deviation (plus a small ε), so the result has mean 0 and "
                 "variance → 1, whatever the scale of the input; a learned scale γ and shift β then give the "
                 "model back the freedom to choose. The residual connection adds the input back: the Jacobian of "
                 "a block is I + J_F, so the identity carries gradients straight through the whole stack even "
                 "when J_F is small, which is what makes deep transformers trainable."),
        symbols=(Symbol(x, f"one token's vector, entries x_0 … x_{{d−1}} (proved for d = {D})", "1 × d"),
                 Symbol(mu, "mean of the entries"), Symbol(var, "biased variance of the entries"),
                 Symbol(eps, "small constant for numerical safety (PyTorch default 1e-5)"),
                 Symbol(LN(x, eps), "the normalised vector, before the affine part", "1 × d"),
                 Symbol(gamma, "learned scale (LayerNorm weight)", "1 × d"),
                 Symbol(beta, "learned shift (LayerNorm bias)", "1 × d"),
                 Symbol(LayerNorm(x, gamma, beta, eps), "LayerNorm with its affine part, as nn.LayerNorm",
                        "1 × d"),
                 Symbol(sp.MatrixSymbol("F", 3, 1), "a sub-layer's output F(x), entries Fₐ(x₀, x₁, x₂)", "d"),
                 Symbol(J(sp.MatrixSymbol("f", 3, 1), sp.MatrixSymbol("x", 3, 1)),
                        "Jacobian ∂f/∂x: entry (a, b) is ∂fₐ/∂x_b", "d × d"),
                 Symbol(c, "a constant added to every entry"),
                 Symbol(ones, "the column of ones", "d × 1")),
        assumptions=(f"normalisation is proved for d = {D} symbolic entries, the residual Jacobian for d = 3",
                     "the variance is the biased one (divide by d), as in nn.LayerNorm",
                     "σ² > 0 (not all entries equal) for the limit ε → 0", "F is differentiable"),
        steps=steps,
        result=Step(lhs=mean_of(LN(x, eps)), rhs=sp.ImmutableMatrix([[0]]), check=prove("doit", "expand", "cancel"),
                    why="LN output before the affine part: mean 0 (and variance σ²/(σ² + ε) → 1)"),
        example=_example(),
        example_title="one token x = (1, 2, 3, 6), ε = 0",
        closed_forms=layer_norm_forms,
    )


def _residual_steps() -> tuple:
    """y = x + F(x): Jacobian I + J_F, for d = 3 and any differentiable F; y = x + Wx: I + W."""
    n = 3
    xs = sp.symbols(f"x_0:{n}", real=True)
    x, F, W = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("F", n, 1), sp.MatrixSymbol("W", n, n)
    column = sp.ImmutableMatrix(xs)
    outputs = sp.ImmutableMatrix([sp.Function(f"F_{a}")(*xs) for a in range(n)])
    return (
        Step(lhs=J(sp.MatAdd(x, F), x), rhs=sp.MatAdd(sp.Identity(n), J(F, x)), check=prove("doit"),
             where=((x, column), (F, outputs)),
             why="residual y = x + F(x): differentiate entry by entry, ∂yₐ/∂x_b = δₐ_b + ∂Fₐ/∂x_b"),
        Step(lhs=J(sp.MatAdd(x, sp.MatMul(W, x)), x), rhs=sp.MatAdd(sp.Identity(n), W), check=prove("doit"),
             why="e.g. a linear sub-layer F(x) = Wx: the block's Jacobian is I + W, never just W"),
    )


def _example() -> tuple:
    """x = (1, 2, 3, 6): mean 3, variance 7/2; γ = (1, 1, 2, 2), β = (0, 0, 1, 1)."""
    x = [sp.Integer(v) for v in (1, 2, 3, 6)]
    gamma, beta = [1, 1, 2, 2], [0, 0, 1, 1]
    mu = mean(x)
    var = mean([(v - mu) ** 2 for v in x])
    normed = layer_norm_row(x, [1] * D, [0] * D, 0)
    out = layer_norm_row(x, gamma, beta, 0)
    return (
        Step(lhs=sp.Mul(sp.Rational(1, D), sp.Add(*x, evaluate=False), evaluate=False), rhs=mu,
             why=f"the mean μ = {mu}"),
        Step(lhs=sp.Mul(sp.Rational(1, D), sp.Add(*[(v - mu) ** 2 for v in x], evaluate=False), evaluate=False),
             rhs=var, why=f"deviations {tuple(v - mu for v in x)}: σ² = {var}"),
        Step(lhs=LN(_row(x), 0), rhs=normed,
             why=f"each deviation divided by √σ² = √(7/2): LN(x, 0) ≈ {tuple(round(float(v), 3) for v in normed)}"),
        Step(lhs=sp.Add(*normed, evaluate=False), rhs=sp.Integer(0), check=prove("radsimp"),
             why="entries sum to 0 (mean 0)"),
        Step(lhs=sp.Mul(sp.Rational(1, D), sp.Add(*[v**2 for v in normed], evaluate=False), evaluate=False),
             rhs=sp.Integer(1), why="mean square 1 (variance 1, exactly, since ε = 0)"),
        Step(lhs=sp.MatAdd(sp.HadamardProduct(_row(gamma), LN(_row(x), 0)), _row(beta)), rhs=out,
             check=prove("doit", "expand"),
             why=f"with γ = {tuple(gamma)}, β = {tuple(beta)}: γ ⊙ LN(x, 0) + β ≈ {tuple(round(float(v), 3) for v in out)}"),
    )


def layer_norm_forms(d: int) -> dict[str, tuple]:
    """LayerNorm of one row of width ``d``, as ``nn.LayerNorm(d)`` computes it (biased variance).

    ``{"layer_norm": ((x, gamma, beta, eps), row)}`` with ``x``, ``gamma``, ``beta`` the
    ``MatrixSymbol``s ``x``, ``gamma``, ``beta`` of shape ``1 × d`` (gamma = ``weight``, beta = ``bias``),
    ``eps`` the Symbol ``eps``, and ``row`` the ``1 × d`` ImmutableMatrix
    ``γ ⊙ (x − μ)/√(σ² + eps) + β``.
    """
    positive_int(d, "d")
    x, gamma, beta = (sp.MatrixSymbol(name, 1, d) for name in ("x", "gamma", "beta"))
    epsilon = sp.Symbol("eps", positive=True)
    row = layer_norm_row(list(x.as_explicit()), list(gamma.as_explicit()), list(beta.as_explicit()), epsilon)
    return {"layer_norm": ((x, gamma, beta, epsilon), row)}

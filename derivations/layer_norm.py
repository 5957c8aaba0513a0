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
from explainer.registry import derivation

D = 4  # width of the vectors the normalisation steps are proved for
eps = sp.Symbol("epsilon", positive=True)
c = sp.Symbol("c", real=True)


def _mean(entries):
    return sp.Add(*entries) / len(entries)


def layer_norm_row(x_entries, gamma_entries, beta_entries, epsilon) -> sp.ImmutableMatrix:
    """γ ⊙ (x − μ)/√(σ² + ε) + β for one row, with the biased variance σ² = mean((x − μ)²)."""
    mu = _mean(x_entries)
    var = _mean([(v - mu) ** 2 for v in x_entries])
    return sp.ImmutableMatrix([[g * (v - mu) / sp.sqrt(var + epsilon) + b
                                for v, g, b in zip(x_entries, gamma_entries, beta_entries)]])


@derivation("residual-layernorm", "Residual connections and LayerNorm", "transformer-block")
def residual_layernorm() -> Derivation:
    xs = sp.symbols(f"x_1:{D + 1}", real=True)
    mu = Named("μ", r"\mu", real=True)
    var = Named("σ²", r"\sigma^2", nonnegative=True)
    xhat = sp.MatrixSymbol("xhat", 1, D)
    gamma, beta = sp.MatrixSymbol("gamma", 1, D), sp.MatrixSymbol("beta", 1, D)
    ones = sp.ImmutableMatrix.ones(D, 1)
    centred = sp.ImmutableMatrix([[(v - mu) / sp.sqrt(var + eps) for v in xs]])
    shifted_mu = _mean([v + c for v in xs])
    shifted = [(v + c - shifted_mu) / sp.sqrt(_mean([(w + c - shifted_mu) ** 2 for w in xs]) + eps) for v in xs]
    steps = (
        define(mu, _mean(xs), f"the mean of the token's {D} entries"),
        define(var, _mean([(v - mu) ** 2 for v in xs]), "their (biased) variance, as nn.LayerNorm computes it"),
        define(xhat, centred, "normalise: subtract the mean, divide by √(σ² + ε); ε > 0 avoids division by 0"),
        Step(lhs=sp.MatMul(xhat, ones) / D, rhs=sp.zeros(1, 1), check=prove("expand", "cancel"),
             why="the normalised entries have mean 0: the deviations xᵢ − μ add up to 0"),
        Step(lhs=sp.MatMul(xhat, xhat.T) / D, rhs=sp.ImmutableMatrix([[var / (var + eps)]]),
             check=prove("expand", "cancel"), why="and mean square (their variance) σ²/(σ² + ε)"),
        Step(lhs=sp.Limit(var / (var + eps), eps, 0, "+"), rhs=sp.Integer(1), check=prove("doit", "cancel"),
             why="which tends to 1 as ε → 0 (when σ² > 0): mean 0, variance 1 before the affine part"),
        Step(lhs=sp.ImmutableMatrix([shifted]), rhs=xhat, check=prove("expand", "cancel"),
             why="adding the same constant c to every entry changes nothing: LN forgets the vector's offset"),
        Step(lhs=sp.MatAdd(sp.HadamardProduct(gamma, xhat), beta).as_explicit() + sp.zeros(1, D),
             rhs=sp.ImmutableMatrix([[gamma[0, t] * centred[t] + beta[0, t] for t in range(D)]]),
             why="the learned affine part: scale entry t by γ_t and shift it by β_t"),
        *_residual_steps(),
    )
    example = _example()
    return Derivation(
        summary=("Each sub-layer of a transformer block (attention, MLP) is wrapped as y = x + F(LN(x)) "
                 "(pre-LN, as in GPT-2). LayerNorm rescales one token's vector: it subtracts the mean of its "
                 "entries and divides by their standard deviation (plus a small ε), so the result has mean 0 and "
                 "variance → 1, whatever the scale of the input; a learned scale γ and shift β then give the "
                 "model back the freedom to choose. The residual connection adds the input back: the Jacobian of "
                 "a block is I + J_F, so the identity carries gradients straight through the whole stack even "
                 "when J_F is small, which is what makes deep transformers trainable."),
        symbols=(Symbol(sp.Symbol("x_i", real=True), f"entry i of one token's vector (proved for d = {D})", "d"),
                 Symbol(mu, "mean of the entries"), Symbol(var, "biased variance of the entries"),
                 Symbol(eps, "small constant for numerical safety (PyTorch default 1e-5)"),
                 Symbol(xhat, "normalised vector, before the affine part", "1 × d"),
                 Symbol(gamma, "learned scale (LayerNorm weight)", "1 × d"),
                 Symbol(beta, "learned shift (LayerNorm bias)", "1 × d"),
                 Symbol(sp.Function("F")(sp.Symbol("x")), "a sub-layer (attention or MLP) with Jacobian J_F", "d → d"),
                 Symbol(c, "a constant added to every entry")),
        assumptions=(f"normalisation is proved for d = {D} symbolic entries, the residual Jacobian for d = 3",
                     "the variance is the biased one (divide by d), as in nn.LayerNorm",
                     "σ² > 0 (not all entries equal) for the limit ε → 0", "F is differentiable"),
        steps=steps,
        result=Step(lhs=sp.MatMul(xhat, ones) / D, rhs=sp.zeros(1, 1), check=prove("expand", "cancel"),
                    why="LN output before the affine part: mean 0 (and variance σ²/(σ² + ε) → 1)"),
        example=example,
        example_title="one token x = (1, 2, 3, 6), ε = 0",
        closed_forms=layer_norm_forms,
    )


def _residual_steps() -> tuple:
    """y = x + F(x): Jacobian I + J_F, for d = 3 and any differentiable F; y = x + Wx: I + W."""
    n = 3
    xs = sp.symbols(f"x_1:{n + 1}", real=True)
    fs = [sp.Function(f"F_{a + 1}")(*xs) for a in range(n)]
    jac_y = sp.ImmutableMatrix(n, n, lambda a, b: sp.Derivative(xs[a] + fs[a], xs[b]))
    jac_f = sp.ImmutableMatrix(n, n, lambda a, b: sp.Derivative(fs[a], xs[b]))
    W = sp.MatrixSymbol("W", n, n)
    col = sp.ImmutableMatrix(xs)
    linear = col + W.as_explicit() * col
    return (
        Step(lhs=jac_y, rhs=sp.MatAdd(sp.Identity(n), jac_f), check=prove("doit"),
             why="residual y = x + F(x): differentiate entry by entry, ∂yₐ/∂x_b = δₐ_b + ∂Fₐ/∂x_b"),
        Step(lhs=sp.ImmutableMatrix(n, n, lambda a, b: sp.Derivative(linear[a], xs[b])),
             rhs=sp.MatAdd(sp.Identity(n), W), check=prove("doit"),
             why="e.g. a linear sub-layer F(x) = Wx: the block's Jacobian is I + W, never just W"),
    )


def _example() -> tuple:
    """x = (1, 2, 3, 6): mean 3, variance 7/2; γ = (1, 1, 2, 2), β = (0, 0, 1, 1)."""
    x = [sp.Integer(v) for v in (1, 2, 3, 6)]
    gamma, beta = [1, 1, 2, 2], [0, 0, 1, 1]
    mu = _mean(x)
    var = _mean([(v - mu) ** 2 for v in x])
    normed = layer_norm_row(x, [1] * D, [0] * D, 0)
    out = layer_norm_row(x, gamma, beta, 0)
    return (
        Step(lhs=sp.Mul(sp.Rational(1, D), sp.Add(*x, evaluate=False), evaluate=False), rhs=mu,
             why=f"the mean μ = {mu}"),
        Step(lhs=sp.Mul(sp.Rational(1, D), sp.Add(*[(v - mu) ** 2 for v in x], evaluate=False), evaluate=False),
             rhs=var, why=f"deviations {tuple(v - mu for v in x)}: σ² = {var}"),
        Step(lhs=sp.ImmutableMatrix([[(v - mu) / sp.sqrt(var) for v in x]]), rhs=normed,
             why=f"x̂ ≈ {tuple(round(float(v), 3) for v in normed)}"),
        Step(lhs=sp.Add(*normed, evaluate=False), rhs=sp.Integer(0), check=prove("radsimp"),
             why="entries sum to 0 (mean 0)"),
        Step(lhs=sp.Mul(sp.Rational(1, D), sp.Add(*[v**2 for v in normed], evaluate=False), evaluate=False),
             rhs=sp.Integer(1), why="mean square 1 (variance 1, exactly, since ε = 0)"),
        Step(lhs=sp.ImmutableMatrix([[g * v + b for v, g, b in zip(normed, gamma, beta)]]), rhs=out,
             why=f"with γ = {tuple(gamma)}, β = {tuple(beta)}: LN(x) ≈ {tuple(round(float(v), 3) for v in out)}"),
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

r"""Vectors and dot products: how attention measures alignment.

    q·k = Σ_{i=0}^{d-1} qᵢ kᵢ = ‖q‖ ‖k‖ cos θ

The dot product is large and positive when two vectors point the same way, zero when they are
orthogonal and negative when they point apart; its size also grows with the vectors' lengths.
"""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, Symbol, define, numeric, prove
from explainer.notation import Named
from explainer.registry import derivation

q, k = sp.IndexedBase("q", real=True), sp.IndexedBase("k", real=True)
i = sp.Symbol("i", integer=True, nonnegative=True)  # components count from 0, as in PyTorch
d = sp.Symbol("d", integer=True, positive=True)


@derivation("dot-product", "The dot product measures alignment", "vectors")
def dot_product() -> Derivation:
    qk = Named("q·k", r"\mathbf{q}\cdot\mathbf{k}", real=True)
    nq = Named("‖q‖", r"\lVert\mathbf{q}\rVert", positive=True)
    nk = Named("‖k‖", r"\lVert\mathbf{k}\rVert", positive=True)
    a, b = sp.symbols("alpha beta", real=True)
    theta = sp.Symbol("theta", real=True)
    angle = sp.Symbol("theta", nonnegative=True)  # any angle, for the statements about sign and size
    lagrange = sp.Sum(sp.Sum((q[i] * k[_j] - q[_j] * k[i]) ** 2, (_j, 0, d - 1)), (i, 0, d - 1)) / 2
    steps = (
        define(qk, sp.Sum(q[i] * k[i], (i, 0, d - 1)), "definition: multiply matching components and add them up"),
        define(nq, sp.sqrt(sp.Sum(q[i] ** 2, (i, 0, d - 1))), "the length (Euclidean norm) of q"),
        define(nk, sp.sqrt(sp.Sum(k[i] ** 2, (i, 0, d - 1))), "the length of k"),
        Step(lhs=nq**2 * nk**2 - qk**2, rhs=lagrange,
             why="Lagrange's identity: the gap between ‖q‖²‖k‖² and (q·k)² is a sum of squares",
             check=numeric(12, d=(1, 4))),
        Step(rel=">=", rhs=0, why="a sum of squares is never negative (Cauchy–Schwarz): |q·k| ≤ ‖q‖‖k‖",
             check=numeric(12, d=(1, 4))),
        define(theta, sp.acos(qk / (nq * nk)), "so the angle θ between q and k, with cos θ = q·k/(‖q‖‖k‖), exists"),
        Step(lhs=qk, rhs=nq * nk * sp.cos(theta), why="the geometric form: length times length times alignment"),
        Step(lhs=sp.Sum(q[i] * k[i], (i, 0, 1)), rhs=q[0] * k[0] + q[1] * k[1],
             why="in two dimensions (components 0 and 1), written out"),
        define(q[0], nq * sp.cos(a), "2-D: q = (q₀, q₁) = ‖q‖(cos α, sin α), at angle α from the x-axis"),
        define(q[1], nq * sp.sin(a), "component 1 of q"),
        define(k[0], nk * sp.cos(b), "k = (k₀, k₁) = ‖k‖(cos β, sin β), at angle β"),
        define(k[1], nk * sp.sin(b), "component 1 of k"),
        Step(lhs=q[0] * k[0] + q[1] * k[1], rhs=nq * nk * (sp.cos(a) * sp.cos(b) + sp.sin(a) * sp.sin(b)),
             why="substitute the polar forms"),
        Step(rhs=nq * nk * sp.cos(a - b), why="angle subtraction: cos α cos β + sin α sin β = cos(α − β)",
             check=prove("expand_trig", "expand")),
        Step(lhs=nq * nk * sp.cos(0, evaluate=False), rhs=nq * nk, why="same direction (θ = 0): the largest possible score"),
        Step(lhs=nq * nk * sp.cos(sp.pi / 2, evaluate=False), rhs=0, why="orthogonal (θ = π/2): score 0, no alignment"),
        Step(lhs=nq * nk * sp.cos(sp.pi, evaluate=False), rhs=-nq * nk, why="opposite directions (θ = π): the most negative score"),
        Step(lhs=nq * nk * sp.cos(angle), rel=">", rhs=0,
             why="for 0 ≤ θ < π/2 the score is positive: the vectors point roughly the same way",
             check=numeric(theta=(0, 1.5707963))),
        Step(lhs=nq * nk * sp.cos(angle), rel="<", rhs=0,
             why="for π/2 < θ ≤ π it is negative: they point apart", check=numeric(theta=(1.5707964, 3.1415926))),
        Step(lhs=sp.Sum(sp.Mul(2 * q[i], k[i], evaluate=False), (i, 0, d - 1)), rhs=2 * qk, check=prove("sums"),
             why="size matters too: doubling q's length doubles the score, (2q)·k = 2(q·k), at the same angle"),
    )
    qv, kv = sp.ImmutableMatrix([[3, 1]]), sp.ImmutableMatrix([[2, 4]])
    dot = (qv * kv.T)[0]
    lengths = sp.Mul(qv.norm(), kv.norm(), evaluate=False)
    cos_value = dot / (qv.norm() * kv.norm())
    example = (
        Step(lhs=sp.MatMul(qv, kv.T, evaluate=False), rhs=sp.ImmutableMatrix([[dot]]),
             why=f"q = {tuple(qv)}, k = {tuple(kv)}: " + " + ".join(f"{x}·{y}" for x, y in zip(qv, kv)) + f" = {dot}"),
        Step(lhs=lengths, rhs=qv.norm() * kv.norm(), why="the product of the two lengths"),
        Step(lhs=sp.Mul(dot, 1 / lengths, evaluate=False), rhs=cos_value,
             why=f"cos θ ≈ {sp.N(cos_value, 4)}, so θ ≈ {sp.N(sp.acos(cos_value) * 180 / sp.pi, 4)}°: well aligned"),
    )
    return Derivation(
        summary=("A query scores a key by their dot product: multiply matching components and add. "
                 "Geometrically it is the product of the lengths and the cosine of the angle between them, "
                 "so its sign says whether the vectors point the same way (positive), are unrelated "
                 "(zero, orthogonal) or point apart (negative), and its size grows with alignment and length. "
                 "Attention uses it as the raw relevance of one token to another."),
        symbols=(Symbol(q[i], "component i of the query vector q, i = 0 … d−1", "d"),
                 Symbol(k[i], "component i of the key vector k", "d"),
                 Symbol(d, "the vector width (d_k in attention)"),
                 Symbol(theta, "the angle between q and k, in [0, π]"),
                 Symbol(a, "2-D: the angle of q from the x-axis"), Symbol(b, "2-D: the angle of k")),
        assumptions=("q and k are real vectors of the same width d ≥ 1", "neither vector is zero (so θ is defined)"),
        steps=steps,
        result=Step(lhs=nq * nk * sp.cos(theta), rhs=sp.Sum(q[i] * k[i], (i, 0, d - 1)),
                    why="length × length × alignment is the sum of products attention computes"),
        example=example,
        example_title="two 2-D vectors",
        closed_forms=dot_product_forms,
    )


def dot_product_forms(d: int) -> dict[str, tuple]:
    """``q·k`` for rows ``q``, ``k`` of width ``d``: ``{"dot": ((q, k), q kᵀ)}``."""
    qm, km = sp.MatrixSymbol("q", 1, d), sp.MatrixSymbol("k", 1, d)
    return {"dot": ((qm, km), (qm * km.T).as_explicit()[0, 0])}


_j = sp.Symbol("j", integer=True, nonnegative=True)

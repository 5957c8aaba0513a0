r"""Rotary positional encoding (RoPE): positions as rotations of the queries and keys.

    θ_i = base^(−2i/d),   RoPE(x, m) = R(m) x,   R(m) = diag of 2 × 2 rotations by m·θ_i
    RoPE(q, m)ᵀ RoPE(k, n) = qᵀ R(n − m) k         (the score sees only the offset n − m)

Instead of adding a position vector to the embedding (the 2017 sinusoids), RoPE turns each pair of a
query's (and a key's) coordinates by an angle proportional to its position. A rotation keeps lengths,
and two rotations compose by subtracting angles, so the dot product of a query at m with a key at n
depends on n − m only. Libraries pair the coordinates differently — neighbours (2i, 2i + 1) in RoFormer,
GPT-J and Meta's reference Llama code; the two halves (i, i + d/2) in GPT-NeoX and transformers' Llama
(``rotate_half``) — and the two layouts differ by a fixed permutation of the coordinates.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.positional_encoding import pe_column
from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, define, numeric, prove
from explainer.operators import MatrixOperator, Perm
from explainer.registry import derivation

D = 4  # width of the vectors the identities are proved for (the permutation also for d = 6)
m, n, t = sp.symbols("m n t", real=True)
i = sp.Symbol("i", integer=True, nonnegative=True)
d = sp.Symbol("d", integer=True, positive=True)
base = sp.Symbol("base", positive=True)
theta_i = sp.Symbol("theta_i", positive=True)


def theta(k: int) -> sp.Symbol:
    """θ_k, the (free) frequency of pair k."""
    return sp.Symbol(f"theta_{k}", positive=True)
TRIG = ("doit", "expand", "expand_trig", "expand")  # rotations compose: cos(a − b) = cos a cos b + sin a sin b
EXP = ("doit", "expand", "rewrite_exp", "expand")  # cos² + sin² = 1, through e^{±ia}


def _pair_rotation(angle) -> sp.ImmutableMatrix:
    """[[cos a, −sin a], [sin a, cos a]]: turns a pair of coordinates by the angle a."""
    return sp.ImmutableMatrix([[sp.cos(angle), -sp.sin(angle)], [sp.sin(angle), sp.cos(angle)]])


def rotation_matrix(pos, width: int, freqs=None) -> sp.ImmutableMatrix:
    """R(pos) in the interleaved layout: block-diagonal, block i turns (x_2i, x_2i+1) by pos·θ_i."""
    freqs = _freqs(width) if freqs is None else freqs
    return sp.ImmutableMatrix(sp.BlockDiagMatrix(*[_pair_rotation(pos * f) for f in freqs]).as_explicit())


def half_split(x, pos, freqs) -> sp.ImmutableMatrix:
    """``x·cos + rotate_half(x)·sin`` (transformers' Llama): pair i is (x_i, x_{i+d/2}), turned by pos·θ_i."""
    h = len(freqs)
    cos = [sp.cos(pos * f) for f in freqs] * 2
    sin = [sp.sin(pos * f) for f in freqs] * 2
    rotated = [-x[k + h] for k in range(h)] + [x[k] for k in range(h)]
    return sp.ImmutableMatrix([x[k] * cos[k] + rotated[k] * sin[k] for k in range(2 * h)])


def _freqs(width: int):
    return [theta(k) for k in range(width // 2)]


class R(MatrixOperator):
    """``R(m)``: the D × D block-diagonal rotation of the interleaved layout at position ``m``."""

    name, latex_name = "R", "R"

    @property
    def shape(self):
        return (D, D)

    def expand(self, pos):
        return rotation_matrix(pos, D)


class RoPE(MatrixOperator):
    """``RoPE(x, m)`` of a column ``x``, interleaved layout (RoFormer, GPT-J): ``R(m) x``."""

    name, latex_name = "RoPE", r"\operatorname{RoPE}"

    def expand(self, x, pos):
        return rotation_matrix(pos, x.rows) * x


class RoPEHalf(MatrixOperator):
    """``RoPE_half(x, m)`` of a column ``x``, half-split layout (GPT-NeoX, transformers' Llama)."""

    name, latex_name = "RoPE_half", r"\operatorname{RoPE}_{\mathrm{half}}"

    def expand(self, x, pos):
        return half_split(list(x), pos, _freqs(x.rows))


class PE(MatrixOperator):
    """``PE(m)``: the sinusoidal encoding of position ``m`` as a D × 1 column (sin, cos, sin, cos)."""

    name, latex_name = "PE", r"\operatorname{PE}"

    @property
    def shape(self):
        return (D, 1)

    def expand(self, pos):
        return pe_column(pos, D)


def layout_order(width: int) -> Perm:
    """``perm(0, 2, …, 1, 3, …)``: (P x)_k = x_{2k} for k < d/2 and x_{2(k − d/2) + 1} after — evens first,
    then odds; interleaved pairs (2i, 2i + 1) become half-split pairs (i, i + d/2)."""
    return Perm(*range(0, width, 2), *range(1, width, 2))


def layout_permutation(width: int) -> sp.ImmutableMatrix:
    """The matrix of :func:`layout_order`."""
    return layout_order(width).doit()


@derivation("rotary-positional-encoding", "Rotary positional encoding (RoPE)", "modern-llms")
def rotary_positional_encoding() -> Derivation:
    x, q, k = (sp.MatrixSymbol(s, D, 1) for s in ("x", "q", "k"))
    x6, q6, k6 = (sp.MatrixSymbol(s, 6, 1) for s in ("x", "q", "k"))
    P, P6 = sp.MatrixSymbol("P", D, D), sp.MatrixSymbol("P", 6, 6)
    score = sp.MatMul(RoPE(q, m).T, RoPE(k, n), evaluate=False)
    steps = (
        Step(lhs=R(m), rhs=rotation_matrix(m, D), check=prove("doit"),
             why=f"R(m) for d = {D}: one 2 × 2 rotation by m·θ_i per pair of neighbouring coordinates"),
        Step(lhs=RoPE(x, m), rhs=sp.MatMul(R(m), x, evaluate=False), check=prove("doit"),
             why="RoPE turns the pairs of a query or key at position m (interleaved layout, as RoFormer writes "
                 "it); the values are not rotated"),
        Step(lhs=sp.MatMul(RoPE(x, m).T, RoPE(x, m), evaluate=False), rhs=sp.MatMul(x.T, x, evaluate=False),
             check=prove(*EXP),
             why="a rotation keeps lengths: ‖RoPE(x, m)‖ = ‖x‖ (cos² + sin² = 1 in every pair)"),
        Step(lhs=sp.MatMul(R(m).T, R(n), evaluate=False), rhs=R(n - m), check=prove(*TRIG),
             why="turning back by m and forward by n is turning by n − m"),
        Step(lhs=score, rhs=sp.MatMul(q.T, R(n - m), k, evaluate=False), check=prove(*TRIG),
             why="so the score of a query at m against a key at n depends on the offset n − m only"),
        Step(lhs=sp.MatMul(RoPE(q, m + t).T, RoPE(k, n + t), evaluate=False), rhs=score, check=prove(*EXP),
             why="moving both tokens by the same t leaves their score unchanged"),
        Step(lhs=RoPEHalf(sp.MatMul(P, x, evaluate=False), m), rhs=sp.MatMul(P, RoPE(x, m), evaluate=False),
             where=((P, layout_order(D)),), check=prove("doit", "expand"),
             why="the half-split layout of transformers' Llama and GPT-NeoX (x·cos + rotate_half(x)·sin) pairs "
                 "x_i with x_{i+d/2}: it is the interleaved one after the permutation P (evens, then odds)"),
        Step(lhs=RoPEHalf(sp.MatMul(P6, x6, evaluate=False), m), rhs=sp.MatMul(P6, RoPE(x6, m), evaluate=False),
             where=((P6, layout_order(6)),), check=prove("doit", "expand"),
             why="the same for d = 6 (P sends coordinate 2i to i and 2i + 1 to i + d/2)"),
        Step(lhs=sp.MatMul(RoPEHalf(sp.MatMul(P6, q6, evaluate=False), m).T,
                           RoPEHalf(sp.MatMul(P6, k6, evaluate=False), n), evaluate=False),
             rhs=sp.MatMul(RoPE(q6, m).T, RoPE(k6, n), evaluate=False), check=prove("doit", "expand"),
             why="and the scores agree, since PᵀP = I: permuting the rows of W_Q and W_K turns a model of one "
                 "layout into the other (transformers' convert_llama_weights_to_hf.py does exactly that)"),
        Step(lhs=sp.MatMul(sp.Transpose(sp.MatAdd(q, PE(m), evaluate=False)), sp.MatAdd(k, PE(n), evaluate=False),
                           evaluate=False),
             rhs=sp.MatAdd(sp.MatMul(q.T, k), sp.MatMul(q.T, PE(n)), sp.MatMul(PE(m).T, k),
                           sp.MatMul(PE(m).T, PE(n)), evaluate=False),
             check=prove("doit", "expand"),
             why="the 2017 sinusoids are added to the embeddings instead: the score gains the terms qᵀPE(n) "
                 "and PE(m)ᵀk, which see the absolute positions (example 3)"),
        define(theta_i, base ** (-2 * i / d),
               "the frequencies, left free by every step above: pair i = 0, …, d/2 − 1 turns at θ_i "
               "(transformers: rope_theta = base; 10000 in RoFormer and Llama 2, 500000 in Llama 3)"),
    )
    return Derivation(
        summary=("Llama, Mistral, GPT-NeoX and most current LLMs encode positions by rotation. Each query "
                 "and key vector is cut into pairs of coordinates and pair i is turned by the angle m·θ_i, "
                 "where m is the token's position and θ_i = base^(−2i/d) runs from 1 down to nearly "
                 "1/base. Rotations keep lengths, and the rotation by m followed back against the rotation "
                 "by n is a rotation by n − m: the attention score of a query at m and a key at n sees "
                 "only their offset (proved). The sinusoidal encoding of the 2017 paper is added to the "
                 "embedding instead, which leaves terms in the score that see absolute positions. Two "
                 "layouts are in use: RoFormer, GPT-J and Meta's reference Llama code rotate neighbouring "
                 "coordinates (2i, 2i + 1); GPT-NeoX and transformers' Llama rotate (i, i + d/2) with "
                 "rotate_half. They differ by a fixed permutation of the coordinates, which leaves every "
                 "score unchanged (proved)."),
        symbols=(Symbol(x, "a query or key vector of one head (column)", "d × 1"),
                 Symbol(q, "a query (column)", "d × 1"), Symbol(k, "a key (column)", "d × 1"),
                 Symbol(m, "position of the query token"), Symbol(n, "position of the key token"),
                 Symbol(t, "a shift applied to both positions"),
                 Symbol(theta_i, "angular frequency of pair i"), Symbol(base, "rope_theta (10000)"),
                 Symbol(d, "head width (even)"),
                 Symbol(R(m), "block-diagonal rotation by m·θ_i, pairs (2i, 2i + 1)", "d × d"),
                 Symbol(P, "permutation: evens first, then odds", "d × d")),
        assumptions=(f"identities proved for d = {D} (the layout permutation also for d = 6) with symbolic "
                     "entries and symbolic frequencies θ_i, so they hold for any base",
                     "positions m, n, t are real (code uses integers)",
                     "column vectors; code rotates the rows of Q and K, which is the same per token"),
        steps=steps,
        result=Step(lhs=score, rhs=sp.MatMul(q.T, R(n - m), k, evaluate=False), check=prove(*TRIG),
                    why="RoPE attention scores depend on the positions only through n − m"),
        example=_example(),
        example_title="the frequencies for d = 4; the score at offset 3 for d = 2, rotated and added",
        notes=("Su et al., 'RoFormer: Enhanced Transformer with Rotary Position Embedding' (2021). Layouts: "
               "transformers' modeling_llama.rotate_half and modeling_gpt_neox (half-split); modeling_gptj."
               "rotate_every_two and Meta's llama/model.py apply_rotary_emb with torch.view_as_complex "
               "(interleaved).",
               "transformers computes inv_freq = 1/base^(2i/d) in float32 whatever the model's dtype, so "
               "its angles carry float32 rounding even in a float64 run."),
        closed_forms=rope_forms,
    )


def _example() -> tuple:
    """θ₁ = 1/100 for base 10000, d = 4; then d = 2 (θ₀ = 1), q = k = (1, 0): the RoPE score at (2, 5)
    and (10, 13) is cos 3 both times; with added sinusoids the two scores differ."""
    e = sp.ImmutableMatrix([1, 0])
    rot = lambda p: _pair_rotation(p) * e  # noqa: E731 - (cos p, sin p)
    added = lambda a, b: ((e + pe_column(a, 2)).T * (e + pe_column(b, 2)))[0, 0]  # noqa: E731
    rel = "<" if added(2, 5) < added(10, 13) else ">"
    return (
        Step(lhs=theta_i, rhs=sp.Rational(1, 100), where=((i, 1), (base, 10000), (d, D)), check=prove("doit"),
             why="with base 10000 and d = 4 the pairs turn at θ₀ = 1 and θ₁ = 1/100 radian per position"),
        Step(lhs=sp.MatMul(rot(2).T, rot(5), evaluate=False), rhs=sp.MatMul(rot(10).T, rot(13), evaluate=False),
             check=prove("expand", "rewrite_exp", "expand"),
             why=f"d = 2 (θ₀ = 1), q = k = (1, 0): query at 2, key at 5, then both moved by 8: the same score "
                 f"cos 3 ≈ {float(sp.cos(3)):.4f}"),
        Step(lhs=added(2, 5), rel=rel, rhs=added(10, 13), check=numeric(),
             why=f"with the sinusoids added instead, (q + PE(m))ᵀ(k + PE(n)) ≈ {float(added(2, 5)):.4f} at "
                 f"(2, 5) but ≈ {float(added(10, 13)):.4f} at (10, 13): the offset alone does not decide"),
    )


def rope_forms(d: int, base: float = 10000) -> dict[str, tuple]:
    """RoPE of one row ``x`` (1 × d) at position ``pos`` with θ_i = base^(−2i/d):

    ``{"half_split": ((x, pos), row), "interleaved": ((x, pos), row)}`` — transformers' Llama
    (``rotate_half``) and RoFormer/GPT-J (neighbouring pairs); ``x`` the MatrixSymbol ``x``, ``pos`` the
    Symbol ``pos``, ``row`` a 1 × d ImmutableMatrix.
    """
    positive_int(d, "d")
    if d % 2:
        raise ValueError(f"RoPE needs an even head width, got d = {d}")
    x, pos = sp.MatrixSymbol("x", 1, d), sp.Symbol("pos", real=True)
    freqs = [sp.Float(base) ** (-sp.Rational(2 * k, d)) for k in range(d // 2)]
    col = x.T.as_explicit()
    return {"half_split": ((x, pos), half_split(list(col), pos, freqs).T),
            "interleaved": ((x, pos), (rotation_matrix(pos, d, freqs) * col).T)}

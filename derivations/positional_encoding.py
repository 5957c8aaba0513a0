r"""Sinusoidal positional encodings: telling attention where each token is.

    PE(pos, 2i)     = sin(pos / 10000^{2i/d})
    PE(pos, 2i + 1) = cos(pos / 10000^{2i/d})

Each pair of dimensions (2i, 2i + 1) is a point on the unit circle turning at its own speed ω_i; moving
k positions turns every pair by the angle kω_i, a rotation that does not depend on where you start.
"""
from __future__ import annotations

import sympy as sp

from explainer.errors import UsageError, positive_int
from explainer.model import Derivation, Step, Symbol, define, numeric, prove
from explainer.registry import derivation

BASE = sp.Integer(10000)
pos, k = sp.Symbol("pos", nonnegative=True), sp.Symbol("k", real=True)
i = sp.Symbol("i", integer=True, nonnegative=True)
d = sp.Symbol("d", integer=True, positive=True)
h = sp.Symbol("h", integer=True, positive=True)  # d/2, the number of dimension pairs
omega = sp.IndexedBase("omega", positive=True)
PE = sp.Function("PE")
EXAMPLE_D = 4  # width of the block-diagonal rotation and of the worked example


def frequency(pair, width):
    """ω_i = 10000^(−2i/d), the angular frequency of dimension pair ``pair``."""
    return BASE ** (sp.Integer(-2) * pair / width)


def rotation(angle) -> sp.ImmutableMatrix:
    """R = [[cos a, sin a], [−sin a, cos a]]: turns (sin θ, cos θ) into (sin(θ + a), cos(θ + a))."""
    return sp.ImmutableMatrix([[sp.cos(angle), sp.sin(angle)], [-sp.sin(angle), sp.cos(angle)]])


def pe_column(position, width: int) -> sp.ImmutableMatrix:
    """The encoding of one position as a column (sin, cos, sin, cos, …) of ``width`` entries."""
    entries = []
    for pair in range(width // 2):
        angle = position * frequency(pair, width)
        entries += [sp.sin(angle), sp.cos(angle)]
    return sp.ImmutableMatrix(entries)


def block_rotation(shift, width: int) -> sp.ImmutableMatrix:
    """R(k) = diag(R₀(k), R₁(k), …): one 2 × 2 rotation by kω_i per dimension pair."""
    blocks = [rotation(shift * frequency(pair, width)) for pair in range(width // 2)]
    return sp.ImmutableMatrix(sp.BlockDiagMatrix(*blocks).as_explicit())


@derivation("positional-encoding", "Sinusoidal positional encodings", "positional-encoding")
def positional_encoding() -> Derivation:
    w = omega[i]
    wavelength = 2 * sp.pi / w
    pair = sp.ImmutableMatrix([sp.sin((pos + k) * w), sp.cos((pos + k) * w)])
    here = sp.ImmutableMatrix([PE(pos, 2 * i), PE(pos, 2 * i + 1)])
    steps = (
        define(w, frequency(i, d), "the angular frequency of dimension pair i = 0, 1, …, d/2 − 1"),
        define(PE(pos, 2 * i), sp.sin(pos * w), "even dimensions 2i hold a sine of the position"),
        define(PE(pos, 2 * i + 1), sp.cos(pos * w), "odd dimensions 2i + 1 a cosine at the same frequency"),
        Step(lhs=sp.Mod(2 * i + 1, 2, evaluate=False), rhs=sp.Integer(1), check=prove("doit"),
             why="the parity of a dimension j picks sin (j even) or cos (j odd); both share i = ⌊j/2⌋"),
        Step(lhs=wavelength, rhs=2 * sp.pi * BASE ** (2 * i / d), check=prove("doit", "powsimp"),
             why="pair i repeats every 2π/ω_i positions: its wavelength"),
        Step(lhs=(2 * sp.pi * BASE ** (2 * (i + 1) / d)) / (2 * sp.pi * BASE ** (2 * i / d)), rhs=BASE ** (2 / d),
             check=prove("powsimp", "expand", "powsimp"), why="consecutive wavelengths have a constant ratio: a geometric progression"),
        Step(lhs=(2 * sp.pi * BASE ** (2 * i / d)).subs(i, 0), rhs=2 * sp.pi, why="the shortest wavelength (i = 0) is 2π"),
        Step(lhs=2 * sp.pi * BASE ** (2 * (d / 2 - 1) / d), rel="<", rhs=BASE * 2 * sp.pi, check=numeric(points=8, d=(2, 1024)),
             why="the longest (i = d/2 − 1) is 2π·10000^(1 − 2/d), just below 10000·2π, reached as d grows"),
        Step(lhs=PE(pos, 2 * i) ** 2 + PE(pos, 2 * i + 1) ** 2, rhs=sp.Integer(1), check=prove("trigsimp"),
             why="each pair lies on the unit circle: sin² + cos² = 1"),
        Step(lhs=sp.Abs(PE(pos, 2 * i)), rel="<=", rhs=sp.Integer(1), check=numeric(points=8),
             why="so every value is in [−1, 1]: the encodings never swamp the embeddings"),
        Step(lhs=sp.Sum(PE(pos, 2 * i) ** 2 + PE(pos, 2 * i + 1) ** 2, (i, 0, h - 1)), rhs=h,
             check=prove("trigsimp", "doit"), why="‖PE(pos)‖²: h = d/2 pairs, each contributing 1, at every position"),
        Step(lhs=pair, rhs=sp.MatMul(rotation(k * w), here), check=prove("doit", "expand", "expand_trig", "expand"),
             why="angle addition: sin(a + b) = sin a cos b + cos a sin b, cos(a + b) = cos a cos b − sin a sin b"),
        Step(lhs=rotation(k * w).applyfunc(lambda e: sp.Derivative(e, pos)), rhs=sp.zeros(2, 2), check=prove("doit"),
             why="the rotation R_i(k) depends on the offset k only, never on the position pos"),
        Step(lhs=pe_column(pos + k, EXAMPLE_D),
             rhs=sp.MatMul(block_rotation(k, EXAMPLE_D), pe_column(pos, EXAMPLE_D)),
             check=prove("expand", "expand_trig", "expand"),
             why=f"stacked for d = {EXAMPLE_D}: PE(pos + k) = R(k)·PE(pos), R(k) block-diagonal"),
        Step(lhs=PE(pos, 2 * i) * sp.sin((pos + k) * w) + PE(pos, 2 * i + 1) * sp.cos((pos + k) * w),
             rhs=sp.cos(k * w), check=prove("rewrite_exp", "expand"),
             why="one pair's share of PE(pos)·PE(pos + k): cos((pos + k)ω_i − pos ω_i) = cos(kω_i)"),
        Step(lhs=sp.Sum(PE(pos, 2 * i) * sp.sin((pos + k) * w) + PE(pos, 2 * i + 1) * sp.cos((pos + k) * w),
                        (i, 0, h - 1)),
             rhs=sp.Sum(sp.cos(k * w), (i, 0, h - 1)), check=numeric(points=5, h=(1, 3)),
             why="adding the d/2 pairs: PE(pos)·PE(pos + k) = Σᵢ cos(kω_i)"),
        Step(lhs=sp.Derivative(sp.Sum(sp.cos(k * w), (i, 0, h - 1)), pos), rhs=sp.Integer(0), check=prove("doit"),
             why="the similarity of two positions depends only on their distance k"),
        Step(lhs=sp.exp(2 * i * (-sp.log(BASE) / d)), rhs=w, check=prove("rewrite_exp", "expand"),
             why="code computes ω_i as exp(2i·(−ln 10000/d)): the same number, without a large power"),
    )
    return Derivation(
        summary=("Attention by itself ignores word order, so each token's embedding gets a position code added. "
                 "The sinusoidal code fills dimension 2i with sin(pos·ω_i) and dimension 2i + 1 with cos(pos·ω_i), "
                 "where ω_i = 10000^(−2i/d): fast-turning pairs first, slow ones last, with wavelengths in a "
                 "geometric progression from 2π towards 10000·2π. Every value is in [−1, 1] and every position "
                 "has the same length √(d/2). Moving k positions turns each pair by the angle kω_i, a rotation "
                 "R(k) that is the same wherever you start, so PE(pos + k) = R(k)·PE(pos) and the dot product of "
                 "two codes depends only on their distance: relative position is easy for a linear layer to read."),
        symbols=(Symbol(pos, "position of the token in the sequence (0, 1, 2, …)"),
                 Symbol(i, "index of a dimension pair, 0 ≤ i < d/2"),
                 Symbol(d, "model width d_model (even)"),
                 Symbol(h, "number of dimension pairs, d/2"),
                 Symbol(w, "angular frequency of pair i, 10000^(−2i/d)"),
                 Symbol(PE(pos, 2 * i), "the encoding: entry j of position pos's code", "d"),
                 Symbol(k, "an offset between two positions")),
        assumptions=("d = 2h is even, so dimensions come in h (sin, cos) pairs",
                     "the interleaved layout of the paper (sin at even, cos at odd indices); some libraries put "
                     "all sines first, which permutes dimensions and changes none of the facts here",
                     "indices are 0-based, as in code"),
        steps=steps,
        result=Step(lhs=pair, rhs=sp.MatMul(rotation(k * w), here), check=prove("doit", "expand", "expand_trig", "expand"),
                    why="PE(pos + k) = R(k)·PE(pos), pair by pair"),
        example=_example(),
        example_title=f"three positions, d = {EXAMPLE_D}",
        closed_forms=positional_encoding_forms,
    )


def _example() -> tuple:
    """Positions 0, 1, 2 with d = 4: the codes, their lengths and a rotation by one step."""
    codes = [pe_column(t, EXAMPLE_D) for t in range(3)]
    sims = [(codes[a].T * codes[a + 1])[0] for a in range(2)]
    length = sp.trigsimp((codes[1].T * codes[1])[0])
    return (
        Step(lhs=sp.ImmutableMatrix.hstack(*codes).T, rhs=sp.ImmutableMatrix([list(c) for c in codes]),
             why=f"rows pos = 0, 1, 2; pos 1 ≈ {tuple(round(float(v), 3) for v in codes[1])}"),
        Step(lhs=sp.MatMul(codes[1].T, codes[1]), rhs=sp.ImmutableMatrix([[length]]), check=prove("doit", "trigsimp"),
             why=f"‖PE(1)‖² = {length} = d/2"),
        Step(lhs=codes[2], rhs=sp.MatMul(block_rotation(1, EXAMPLE_D), codes[1]),
             check=prove("rewrite_exp", "expand"), why="one step forward is the rotation R(1)"),
        Step(lhs=sp.MatMul(codes[0].T, codes[1]), rhs=sp.MatMul(codes[1].T, codes[2]),
             check=prove("rewrite_exp", "expand"),
             why=f"neighbours are equally similar wherever they are: both ≈ {float(sims[0]):.4f}"),
    )


def pe_piecewise(position, index, width: int, explog: bool = False):
    """PE(position, index) as one Piecewise on the parity of the 0-based ``index``."""
    pair2 = index - sp.Mod(index, 2)  # 2i for both members of a pair
    rate = sp.exp(pair2 * (-sp.log(BASE) / width)) if explog else BASE ** (-pair2 / sp.Integer(width))
    return sp.Piecewise((sp.sin(position * rate), sp.Eq(sp.Mod(index, 2), 0)), (sp.cos(position * rate), True))


def positional_encoding_forms(d_model: int) -> dict[str, tuple]:
    """Closed forms for width ``d_model`` (even): ``{"pe": ((pos, j), expr), "pe_explog": ((pos, j), expr)}``.

    ``pos`` and ``j`` are the SymPy Symbols named ``"pos"`` and ``"j"`` (position, 0-based dimension);
    ``expr`` is a Piecewise on the parity of ``j``: ``sin(pos·10000^(−(j − j mod 2)/d))`` for even ``j``,
    ``cos(…)`` for odd. ``"pe"`` uses the power form, ``"pe_explog"`` the code's
    ``exp((j − j mod 2)·(−ln 10000/d))``. ``lambdify((pos, j), expr, "numpy")`` evaluates whole grids
    (e.g. ``np.meshgrid`` of integer arrays) at once. An odd or non-positive ``d_model`` is a UsageError.
    """
    positive_int(d_model, "d_model")
    if d_model % 2:
        raise UsageError(f"sinusoidal positional encodings need an even d_model, got {d_model}")
    position, index = sp.Symbol("pos"), sp.Symbol("j")
    return {"pe": ((position, index), pe_piecewise(position, index, d_model)),
            "pe_explog": ((position, index), pe_piecewise(position, index, d_model, explog=True))}

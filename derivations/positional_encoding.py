r"""Sinusoidal positional encodings: telling attention where each token is.

    PE(pos, 2i)     = sin(pos / 10000^{2i/d})
    PE(pos, 2i + 1) = cos(pos / 10000^{2i/d})

Each pair of dimensions (2i, 2i + 1) is a point on the unit circle turning at its own speed ω_i; moving
k positions turns every pair by the angle kω_i, a rotation that does not depend on where you start.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

from explainer.errors import UsageError, positive_int
from explainer.model import Derivation, Step, Symbol, define, numeric, prove
from explainer.notation import Named
from explainer.operators import MatrixOperator, ScalarOperator
from explainer.registry import derivation

BASE = sp.Integer(10000)
pos, k = sp.Symbol("pos", nonnegative=True), sp.Symbol("k", real=True)
i = sp.Symbol("i", integer=True, nonnegative=True)
d = sp.Symbol("d", integer=True, positive=True)
h = sp.Symbol("h", integer=True, positive=True)  # d/2, the number of dimension pairs
omega = sp.IndexedBase(Named("ω", r"\omega", positive=True))
share = sp.IndexedBase(Named("s", "s", real=True))
EXAMPLE_D = 4  # width of the block-diagonal rotation and of the worked example


class PE(ScalarOperator):
    """``PE(pos, j, d)``: entry ``j`` (0-based) of position ``pos``'s code at width ``d``,
    ``sin(pos·10000^(−j/d))`` for even ``j`` and ``cos(pos·10000^(−(j − 1)/d))`` for odd ``j``.

    Printed ``PE(pos, j)``: the width is part of the expression (so a check draws one ``d`` for both
    sides) but, as on paper, it is left to the text."""

    name, latex_name = "PE", r"\operatorname{PE}"

    def expand(self, position, index, width):
        return pe_piecewise(position, index, width)

    def _sympystr(self, printer) -> str:
        return f"PE({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _latex(self, printer, exp=None) -> str:
        head = self.latex_name if exp is None else f"{self.latex_name}^{{{exp}}}"
        return rf"{head}\left({printer._print(self.args[0])}, {printer._print(self.args[1])}\right)"

    def _pretty(self, printer):
        head = prettyForm(self.name)
        inner = prettyForm(*printer._print(self.args[0]).right(", ", printer._print(self.args[1])))
        inner = prettyForm(*inner.parens())
        form = prettyForm(*head.right(inner), binding=prettyForm.FUNC)
        form.prettyFunc, form.prettyArgs = head, inner  # what a power needs to print PE²(pos, j)
        return form


def pe(position, index):
    """``PE(position, index)`` at the symbolic width ``d``."""
    return PE(position, index, d)


class PETable(MatrixOperator):
    """``PE[0:n, 0:w]``: the codes of positions 0 … n − 1 as rows, model width ``w`` (all its columns)."""

    name, latex_name = "PE", r"\operatorname{PE}"

    @property
    def shape(self):
        return tuple(int(a) for a in self.args)

    def expand(self, rows, width):
        return sp.ImmutableMatrix(int(rows), int(width), lambda r, j: pe_piecewise(r, j, int(width)))

    def _sympystr(self, printer) -> str:
        return f"PE[0:{self.args[0]}, 0:{self.args[1]}]"

    def _pretty(self, printer):
        return prettyForm(self._sympystr(printer))

    def _latex(self, printer, exp=None) -> str:
        return rf"\operatorname{{PE}}[0{{:}}{self.args[0]},\, 0{{:}}{self.args[1]}]"


def frequency(pair, width):
    """ω_i = 10000^(−2i/d), the angular frequency of dimension pair ``pair``."""
    return BASE ** (sp.Integer(-2) * pair / width)


def wavelength(pair):
    """``2π/ω_i``: how many positions pair ``pair`` takes to repeat."""
    return 2 * sp.pi / omega[pair]


def ratio(a, b):
    """``a / b`` kept as written."""
    return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)


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


def pair_at(position) -> sp.ImmutableMatrix:
    """``(PE(position, 2i), PE(position, 2i + 1))``: pair i of one position's code, as a column."""
    return sp.ImmutableMatrix([pe(position, 2 * i), pe(position, 2 * i + 1)])


def _definition_steps() -> tuple:
    w = omega[i]
    return (
        define(w, frequency(i, d), "the angular frequency of dimension pair i = 0, 1, …, d/2 − 1"),
        Step(lhs=pe(pos, 2 * i), rhs=sp.sin(pos * w), check=prove("doit"),
             why="definition: even dimensions 2i hold a sine of the position"),
        Step(lhs=pe(pos, 2 * i + 1), rhs=sp.cos(pos * w), check=prove("doit"),
             why="odd dimensions 2i + 1 a cosine at the same frequency"),
    )


@derivation("positional-encoding", "Sinusoidal positional encodings", "positional-encoding")
def positional_encoding() -> Derivation:
    w = omega[i]
    top = d / 2 - 1
    turn = sp.MatMul(rotation(k * w), pair_at(pos), evaluate=False)
    norm2 = Named("‖PE(pos)‖²", r"\lVert\operatorname{PE}(pos)\rVert^2", nonnegative=True)
    dot = Named("PE(pos)·PE(pos + k)", r"\operatorname{PE}(pos)\cdot\operatorname{PE}(pos + k)", real=True)
    steps = (
        *_definition_steps(),
        Step(lhs=pair_at(pos + wavelength(i)), rhs=pair_at(pos), check=prove("doit", "expand", "expand_trig"),
             why="pair i repeats every 2π/ω_i positions: moving that far turns it by a full circle"),
        Step(lhs=wavelength(i), rhs=2 * sp.pi * BASE ** (2 * i / d), check=prove("doit", "powsimp"),
             why="pair i's period 2π/ω_i, its wavelength, grows with i"),
        Step(lhs=ratio(wavelength(i + 1), wavelength(i)), rhs=BASE ** (2 / d),
             check=prove("powsimp", "expand", "powsimp"),
             why="consecutive wavelengths have a constant ratio: a geometric progression"),
        Step(lhs=wavelength(0), rhs=2 * sp.pi, why="the shortest wavelength (i = 0) is 2π"),
        Step(lhs=wavelength(top), rel="<", rhs=BASE * 2 * sp.pi, check=numeric(points=8, d=(2, 1024)),
             why="the longest (i = d/2 − 1) is 2π·10000^(1 − 2/d), just below 10000·2π, reached as d grows"),
        Step(lhs=pe(pos, 2 * i) ** 2 + pe(pos, 2 * i + 1) ** 2, rhs=sp.Integer(1), check=prove("doit", "trigsimp"),
             why="each pair lies on the unit circle: sin² + cos² = 1"),
        Step(lhs=sp.Abs(pe(pos, 2 * i)), rel="<=", rhs=sp.Integer(1), check=numeric(points=8, d=(2, 64)),
             why="so every value is in [−1, 1]: the encodings never swamp the embeddings"),
        Step(lhs=norm2, rhs=h, check=prove("trigsimp", "doit"),
             where=((norm2, sp.Sum(sp.sin(pos * w) ** 2 + sp.cos(pos * w) ** 2, (i, 0, h - 1))),),
             why="‖PE(pos)‖²: h = d/2 pairs, each contributing 1, at every position"),
        Step(lhs=pair_at(pos + k), rhs=turn, check=prove("doit", "expand", "expand_trig", "expand"),
             why="angle addition: sin(a + b) = sin a cos b + cos a sin b, cos(a + b) = cos a cos b − sin a sin b"),
        Step(lhs=rotation(k * w).applyfunc(lambda e: sp.Derivative(e, pos)), rhs=sp.zeros(2, 2), check=prove("doit"),
             why="the rotation R_i(k) depends on the offset k only, never on the position pos"),
        Step(lhs=pe_column(pos + k, EXAMPLE_D),
             rhs=sp.MatMul(block_rotation(k, EXAMPLE_D), pe_column(pos, EXAMPLE_D)),
             check=prove("expand", "expand_trig", "expand"),
             why=f"stacked for d = {EXAMPLE_D}: PE(pos + k) = R(k)·PE(pos), R(k) block-diagonal"),
        Step(lhs=share[i], rhs=sp.cos(k * w), check=prove("doit", "rewrite_exp", "expand"),
             where=((share[i], pe(pos, 2 * i) * pe(pos + k, 2 * i) + pe(pos, 2 * i + 1) * pe(pos + k, 2 * i + 1)),),
             why="one pair's share of PE(pos)·PE(pos + k): cos((pos + k)ω_i − pos ω_i) = cos(kω_i)"),
        Step(lhs=dot, rhs=sp.Sum(sp.cos(k * w), (i, 0, h - 1)), check=numeric(points=5, h=(1, 3), d=(2, 64)),
             where=((dot, sp.Sum(share[i], (i, 0, h - 1))),),
             why="adding the d/2 pairs: PE(pos)·PE(pos + k) = Σᵢ cos(kω_i)"),
        Step(lhs=sp.Derivative(share[i], pos), rhs=sp.Integer(0), check=prove("doit", "expand"),
             why="each share, so the whole similarity of two positions, depends only on their distance k, "
                 "not on pos"),
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
                 Symbol(pe(pos, 2 * i), "the encoding: entry j of position pos's code", "d"),
                 Symbol(k, "an offset between two positions"),
                 Symbol(share[i], "pair i's share of the dot product of two codes")),
        assumptions=("d = 2h is even, so dimensions come in h (sin, cos) pairs",
                     "the interleaved layout of the paper (sin at even, cos at odd indices); some libraries put "
                     "all sines first, which permutes dimensions and changes none of the facts here",
                     "indices are 0-based, as in code"),
        steps=steps,
        result=Step(lhs=pair_at(pos + k), rhs=turn, check=prove("doit", "expand", "expand_trig", "expand"),
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
        Step(lhs=PETable(3, EXAMPLE_D), rhs=sp.ImmutableMatrix([list(c) for c in codes]), check=prove("doit"),
             why=f"rows pos = 0, 1, 2; pos 1 ≈ {tuple(round(float(v), 3) for v in codes[1])}"),
        Step(lhs=sp.MatMul(codes[1].T, codes[1]), rhs=sp.ImmutableMatrix([[length]]), check=prove("doit", "trigsimp"),
             why=f"‖PE(1)‖² = {length} = d/2"),
        Step(lhs=codes[2], rhs=sp.MatMul(block_rotation(1, EXAMPLE_D), codes[1]),
             check=prove("rewrite_exp", "expand"), why="one step forward is the rotation R(1)"),
        Step(lhs=sp.MatMul(codes[0].T, codes[1]), rhs=sp.MatMul(codes[1].T, codes[2]),
             check=prove("rewrite_exp", "expand"),
             why=f"neighbours are equally similar wherever they are: both ≈ {float(sims[0]):.4f}"),
    )


def pe_piecewise(position, index, width, explog: bool = False):
    """PE(position, index) as one Piecewise on the parity of the 0-based ``index``."""
    pair2 = index - sp.Mod(index, 2)  # 2i for both members of a pair
    rate = sp.exp(pair2 * (-sp.log(BASE) / width)) if explog else BASE ** (-pair2 / sp.sympify(width))
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
